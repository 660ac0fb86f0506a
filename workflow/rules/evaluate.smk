# Training, evaluation, scoring and the results report: dvc.yaml's train, evaluate, score and report stages.
# As in dvc.yaml, each evaluation depends on its own weights only.


rule train:
    input:
        curated_datasets,
    output:
        directory(f"{PARAMS.train.runs}/{{variant}}"),
    log:
        "logs/train/{variant}.log",
    conda:
        "../envs/siamflow.yaml"
    threads: max(1, PARAMS.train.loader_workers)
    resources:
        cpus=max(1, PARAMS.train.loader_workers),
        gpu=GPUS,
    shell:
        TRAIN + LOG


rule evaluate:
    input:
        PARAMS.synth.out,
        weights,
    output:
        directory(f"{PARAMS.evaluate.results}/{{tracker}}/{{benchmark}}"),
    log:
        "logs/evaluate/{tracker}-{benchmark}.log",
    conda:
        "../envs/siamflow.yaml"
    threads: PARAMS.evaluate.workers
    resources:
        cpus=PARAMS.evaluate.workers,
        gpu=1 if PARAMS.evaluate.device.startswith("cuda") else 0,
    shell:
        EVALUATE + LOG


rule score:
    input:
        f"{PARAMS.evaluate.results}/{{tracker}}/{{benchmark}}",
    output:
        f"{PARAMS.score.out}/{{tracker}}/{{benchmark}}.json",
        f"{PARAMS.score.out}/{{tracker}}/{{benchmark}}.png",
    log:
        "logs/score/{tracker}-{benchmark}.log",
    conda:
        "../envs/siamflow.yaml"
    resources:
        cpus=1,
        gpu=0,
    shell:
        SCORE + LOG


rule report:
    input:
        [f"{PARAMS.score.out}/{tracker}/{benchmark}.json"
         for tracker, benchmarks in repro_cells(PARAMS.repro).items() for benchmark in benchmarks],
    output:
        f"{PARAMS.report.out}/{{table}}.md",
    log:
        "logs/report/{table}.log",
    conda:
        "../envs/siamflow.yaml"
    wildcard_constraints:
        table="results",
    resources:
        cpus=1,
        gpu=0,
    shell:
        REPORT + LOG
