# Snakemake runs the same stage commands as dvc.yaml, plus the ablation grids of params.yaml.
#   snakemake --cores all                  what `dvc repro` makes (target: all)
#   snakemake --cores all ablation         both grids (make ablation); a cluster: --profile workflow/profiles/slurm
# Values come from params.yaml and pipeline.config.grids expands the grids; the rules hold no logic of their own.
import os
import sys
import uuid
from pathlib import Path

from pipeline.config import grids
from pipeline.config.params import ParamsError, load_params, repro_cells

try:  # bad params stop everything before the first job, in one line
    PARAMS = load_params("params.yaml")
    CELLS = grids.cells("params.yaml")
except ParamsError as err:
    sys.exit(f"snakemake: error: {err}")
# The rules read PARAMS, the typed params (not `configfile:`: Snakemake reads that with yte, which runs the
# Python of a file that sets __use_yte__).
# The runs of one invocation share this tag in MLflow (cluster jobs inherit it from the submitting process).
os.environ.setdefault("SIAMFLOW_PIPELINE_ID", uuid.uuid4().hex[:16])

# The stage commands, one string each: the dvc.yaml stages' commands (tests/test_workflow.py compares them).
SYNTH = "python -m pipeline.synth"
INDEX = "python -m pipeline.index --dataset {wildcards.dataset}"
CURATE = "python -m pipeline.curate --dataset {wildcards.dataset}"
TRAIN = "python -m pipeline.train --variant {wildcards.variant} --resume auto"
EVALUATE = "python -m pipeline.evaluate --variant {wildcards.tracker} --benchmark {wildcards.benchmark}"
SCORE = "python -m pipeline.score --variant {wildcards.tracker} --benchmark {wildcards.benchmark}"
REPORT = "python -m pipeline.report --table {wildcards.table}"
CELL_OPTIONS = " {params.cell}"  # what a grid cell adds to a command

wildcard_constraints:
    dataset="[^/]+",
    variant="[^/]+",
    tracker="[^/]+",
    benchmark="[^/]+",
    grid="[^/]+",
    cell="[^/]+",


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/ablation.smk"


rule all:
    input:
        f"{PARAMS.report.out}/results.md",
    default_target: True
