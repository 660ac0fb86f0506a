# Training, evaluation, scoring and the results report: dvc.yaml's train, evaluate, score and report stages.
# Unlike DVC's, each evaluation depends on its own weights only.


rule train:
    input:
        curated_datasets,
    output:
        directory(f"{config['train']['runs']}/{{variant}}"),
    log:
        "logs/train/{variant}.log",
    conda:
        "../envs/siamflow.yaml"
    threads: max(1, config["train"]["loader_workers"])
    resources:
        cpus=max(1, config["train"]["loader_workers"]),
        gpu=GPUS,
    shell:
        TRAIN + LOG


rule evaluate:
    input:
        config["synth"]["out"],
        weights,
    output:
        directory(f"{config['evaluate']['results']}/{{tracker}}/{{benchmark}}"),
    log:
        "logs/evaluate/{tracker}-{benchmark}.log",
    conda:
        "../envs/siamflow.yaml"
    threads: config["evaluate"]["workers"]
    resources:
        cpus=config["evaluate"]["workers"],
        gpu=1 if config["evaluate"]["device"].startswith("cuda") else 0,
    shell:
        EVALUATE + LOG


rule score:
    input:
        f"{config['evaluate']['results']}/{{tracker}}/{{benchmark}}",
    output:
        f"{config['score']['out']}/{{tracker}}/{{benchmark}}.json",
        f"{config['score']['out']}/{{tracker}}/{{benchmark}}.png",
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
        expand(f"{config['score']['out']}/{{tracker}}/{{benchmark}}.json", tracker=config["repro"]["evaluate"],
               benchmark=config["repro"]["benchmarks"]),
    output:
        f"{config['report']['out']}/{{table}}.md",
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
