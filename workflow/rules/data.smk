# Data stages: the synthetic world, and one index and one set of shards per training dataset.


rule synth:
    output:
        directory(PARAMS.synth.out),
    log:
        "logs/synth.log",
    conda:
        "../envs/siamflow.yaml"
    threads: PARAMS.synth.workers
    resources:
        cpus=PARAMS.synth.workers,
        gpu=0,
    shell:
        SYNTH + LOG


rule index:
    input:
        dataset_input,
    output:
        f"{PARAMS.index.out}/{{dataset}}.frames.npy",
        f"{PARAMS.index.out}/{{dataset}}.polygons.npy",
        f"{PARAMS.index.out}/{{dataset}}.json",
        f"{PARAMS.index.out}/{{dataset}}.images.txt",
        f"{PARAMS.index.out}/{{dataset}}.skipped.tsv",
        f"{PARAMS.index.metrics}/{{dataset}}.json",
    log:
        "logs/index/{dataset}.log",
    conda:
        "../envs/siamflow.yaml"
    resources:
        cpus=1,
        gpu=0,
    shell:
        INDEX + LOG


rule curate:
    input:
        dataset_input,
        multiext(f"{PARAMS.index.out}/{{dataset}}", ".frames.npy", ".polygons.npy", ".json", ".images.txt"),
    output:
        directory(f"{PARAMS.curate.out}/{{dataset}}"),
        f"{PARAMS.curate.metrics}/{{dataset}}.json",
        f"{PARAMS.curate.metrics}/{{dataset}}.png",
    log:
        "logs/curate/{dataset}.log",
    conda:
        "../envs/siamflow.yaml"
    threads: PARAMS.curate.workers
    resources:
        cpus=PARAMS.curate.workers,
        gpu=0,
    shell:
        CURATE + LOG
