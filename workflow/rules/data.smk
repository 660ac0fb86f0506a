# Data stages: the synthetic world and one index per training dataset.


def dataset_input(wildcards):
    """The dataset's root, or the synthetic world's folder when the root lies inside it."""
    root = config["datasets"][wildcards.dataset]["root"]
    synth_out = config["synth"]["out"]
    return synth_out if root == synth_out or root.startswith(synth_out + "/") else root


rule synth:
    output:
        directory(config["synth"]["out"]),
    threads: config["synth"]["workers"]
    shell:
        "python -m pipeline.synth"


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
    shell:
        "python -m pipeline.index --dataset {wildcards.dataset}"


rule curate:
    input:
        dataset_input,
        multiext(f"{config['index']['out']}/{{dataset}}", ".frames.npy", ".polygons.npy", ".json", ".images.txt"),
    output:
        directory(f"{config['curate']['out']}/{{dataset}}"),
        f"{config['curate']['metrics']}/{{dataset}}.json",
        f"{config['curate']['metrics']}/{{dataset}}.png",
    threads: config["curate"]["workers"]
    shell:
        "python -m pipeline.curate --dataset {wildcards.dataset}"
