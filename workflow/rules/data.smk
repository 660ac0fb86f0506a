# Data stages: the synthetic world, and one index and one set of shards per training dataset.


rule synth:
    output:
        directory(config["synth"]["out"]),
    log:
        "logs/synth.log",
    conda:
        "../envs/siamflow.yaml"
    threads: config["synth"]["workers"]
    resources:
        cpus=config["synth"]["workers"],
        gpu=0,
    shell:
        SYNTH + LOG


rule index:
    input:
        dataset_input,
    output:
        f"{config['index']['out']}/{{dataset}}.frames.npy",
        f"{config['index']['out']}/{{dataset}}.polygons.npy",
        f"{config['index']['out']}/{{dataset}}.json",
        f"{config['index']['out']}/{{dataset}}.images.txt",
        f"{config['index']['out']}/{{dataset}}.skipped.tsv",
        f"{config['index']['metrics']}/{{dataset}}.json",
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
        multiext(f"{config['index']['out']}/{{dataset}}", ".frames.npy", ".polygons.npy", ".json", ".images.txt"),
    output:
        directory(f"{config['curate']['out']}/{{dataset}}"),
        f"{config['curate']['metrics']}/{{dataset}}.json",
        f"{config['curate']['metrics']}/{{dataset}}.png",
    log:
        "logs/curate/{dataset}.log",
    conda:
        "../envs/siamflow.yaml"
    threads: config["curate"]["workers"]
    resources:
        cpus=config["curate"]["workers"],
        gpu=0,
    shell:
        CURATE + LOG
