# The functions the rules use to find their inputs (Snakemake keeps them apart from the rules).
# Each rule's output goes to logs/<rule>/<wildcards>.log; Snakemake names the file when a job fails.

GPUS = 1 if PARAMS.train.device.startswith("cuda") else 0
ABLATION = PARAMS.ablation.out
CELL = {cell.folder: cell for cell in CELLS}
LOG = " > {log} 2>&1"


def dataset_input(wildcards):
    """The dataset's root, or the synthetic world's folder when the root lies inside it."""
    root = Path(PARAMS.datasets[wildcards.dataset].root)
    synth_out = Path(PARAMS.synth.out)
    return str(synth_out) if root.is_relative_to(synth_out) else str(root)


def curated_datasets(wildcards):
    return expand(f"{PARAMS.curate.out}/{{dataset}}", dataset=PARAMS.datasets)


def weights(wildcards):
    """The run folder a tracker's weights come from (none for identity)."""
    if wildcards.tracker == "identity":
        return []
    return [f"{PARAMS.evaluate.runs}/{wildcards.tracker.removesuffix('-untrained')}"]


def cell_options(wildcards):
    """A grid cell's --set, --tag and --parent options."""
    return grids.command_options(CELL[f"{wildcards.grid}/{wildcards.cell}"], ABLATION, PARAMS.ablation.set)


def grid_scores(wildcards):
    benchmarks = [PARAMS.ablation.otb, PARAMS.ablation.vot]
    return [f"{ABLATION}/{c.folder}/metrics/{c.variant}/{b}.json" for c in CELLS if c.grid == wildcards.table
            for b in benchmarks]
