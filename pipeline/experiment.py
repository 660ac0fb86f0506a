"""MLflow housekeeping commands.

python -m pipeline.experiment sweep --grid NAME --cells A,B --out FILE: start a grid's sweep run (Snakemake
does this); the cells' --parent FILE makes their runs its children.
python -m pipeline.experiment sync: send the runs that wait in the outbox to their store.
"""
from __future__ import annotations

import sys
from pathlib import Path

from pipeline import cli, tracking
from pipeline.config.schema import Params
from pipeline.tracking import RunContext


def run(command: str, params: Params, context: RunContext, grid: str = "", cells: str = "",
        out: str = "") -> int:
    """sync: send the outbox's runs (returns how many are left); sweep: start a grid's sweep run."""
    if command == "sync":
        sent, left = tracking.sync(params.mlflow)
        print(f"experiment: sync: {sent} run(s) sent, {left} left in {tracking.outbox_folder(params.mlflow)}")
        return left
    tracking.start_sweep(params.mlflow, grid, [c for c in cells.split(",") if c], Path(out), context)
    return 0


def main() -> None:
    parser = cli.stage_parser("pipeline.experiment", "MLflow housekeeping: start a grid's sweep run, or send the "
                                                     "runs that wait in the outbox to their store.")
    parser.add_argument("command", choices=["sweep", "sync"],
                        help="sweep: start a grid's sweep run and write its id for the cells' --parent; "
                             "sync: send the runs of the outbox to their store")
    parser.add_argument("--grid", help="sweep: a grid of the ablation section (fraction, layers or one of ablation.grids)")
    parser.add_argument("--cells", default="", help="sweep: the grid's cell names, comma-separated")
    parser.add_argument("--out", help="sweep: the sweep file to write")
    args = parser.parse_args()
    if args.command == "sweep" and not (args.grid and args.out):
        parser.error("sweep needs --grid and --out")
    params, context = cli.params_from_args(args)
    sys.exit(1 if run(args.command, params, context, args.grid, args.cells, args.out) else 0)


if __name__ == "__main__":
    cli.run(main, "experiment")
