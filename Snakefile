# Snakemake runs the same stage commands as dvc.yaml (one machine: `snakemake --cores all`).
# Values come from params.yaml; the rules hold no logic of their own.
configfile: "params.yaml"


include: "workflow/rules/data.smk"


rule all:
    input:
        expand(f"{config['curate']['metrics']}/{{dataset}}.json", dataset=config["datasets"]),
