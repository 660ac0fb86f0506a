# The ablation grids: every cell trains, evaluates and scores with the same commands as the stages, plus its
# --set overrides, --tag lineage and its sweep run as --parent (pipeline.config.grids.command_options); cells run in
# parallel, one thread each.


rule sweep:
    output:
        f"{ABLATION}/{{grid}}/sweep.json",
    log:
        "logs/sweep/{grid}.log",
    conda:
        "../envs/siamflow.yaml"
    params:
        cells=lambda w: ",".join(c.name for c in CELLS if c.grid == w.grid),
    resources:
        cpus=1,
        gpu=0,
    shell:
        "python -m pipeline.experiment sweep --grid {wildcards.grid} --cells {params.cells} --out {output} > {log} 2>&1"


rule cell_train:
    input:
        curated_datasets,
        ancient(f"{ABLATION}/{{grid}}/sweep.json"),
    output:
        directory(f"{ABLATION}/{{grid}}/{{cell}}/runs/{{variant}}"),
    log:
        "logs/cell_train/{grid}/{cell}/{variant}.log",
    conda:
        "../envs/siamflow.yaml"
    params:
        cell=cell_options,
    threads: 1
    resources:
        cpus=1,
        gpu=GPUS,
    shell:
        TRAIN + CELL_OPTIONS + LOG


rule cell_evaluate:
    input:
        PARAMS.synth.out,
        f"{ABLATION}/{{grid}}/{{cell}}/runs/{{tracker}}",
    output:
        directory(f"{ABLATION}/{{grid}}/{{cell}}/results/{{tracker}}/{{benchmark}}"),
    log:
        "logs/cell_evaluate/{grid}/{cell}/{tracker}-{benchmark}.log",
    conda:
        "../envs/siamflow.yaml"
    params:
        cell=cell_options,
    threads: 1
    resources:
        cpus=1,
        gpu=0,
    shell:
        EVALUATE + CELL_OPTIONS + LOG


rule cell_score:
    input:
        f"{ABLATION}/{{grid}}/{{cell}}/results/{{tracker}}/{{benchmark}}",
    output:
        f"{ABLATION}/{{grid}}/{{cell}}/metrics/{{tracker}}/{{benchmark}}.json",
        f"{ABLATION}/{{grid}}/{{cell}}/metrics/{{tracker}}/{{benchmark}}.png",
    log:
        "logs/cell_score/{grid}/{cell}/{tracker}-{benchmark}.log",
    conda:
        "../envs/siamflow.yaml"
    params:
        cell=cell_options,
    resources:
        cpus=1,
        gpu=0,
    shell:
        SCORE + CELL_OPTIONS + LOG


rule ablation_report:
    input:
        grid_scores,
    output:
        f"{PARAMS.report.out}/ablation_{{table}}.md",
    log:
        "logs/report/ablation_{table}.log",
    conda:
        "../envs/siamflow.yaml"
    resources:
        cpus=1,
        gpu=0,
    shell:
        REPORT + LOG


rule ablation:
    input:
        expand(f"{PARAMS.report.out}/ablation_{{table}}.md", table=grids.grid_names(PARAMS)),
