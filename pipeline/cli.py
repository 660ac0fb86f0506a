"""What every stage command shares: --params/--set, the run context (--tag, --parent), and bad input
reported as one line."""
from __future__ import annotations

import argparse
import sys
import typing

from models import ModelError
from pipeline.common.errors import UserError
from pipeline.config.params import ParamsError, load_params
from pipeline.config.schema import Params
from pipeline.tracking import RunContext


def stage_parser(prog: str, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"python -m {prog}", description=description)
    parser.add_argument("--params", default="params.yaml", help="parameter file (default: %(default)s)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="override one parameter; repeatable, e.g. --set synth.seed=3")
    parser.add_argument("--tag", dest="tags", action="append", default=[], metavar="KEY=VALUE",
                        help="add a tag to the stage's MLflow run; repeatable (Snakemake tags grid cells)")
    parser.add_argument("--parent", metavar="SWEEP_FILE",
                        help="make the MLflow run a child of the sweep run that this file names")
    return parser


def params_from_args(args: argparse.Namespace) -> tuple[Params, RunContext]:
    """The params with the --set overrides, and the run context of --tag and --parent."""
    context = RunContext.from_command(args.tags, args.parent)
    return load_params(args.params, args.overrides), context


def dataset_stage_args(prog: str, description: str, what: str) -> tuple[argparse.Namespace, Params, RunContext]:
    """Arguments, params and context of a per-dataset stage: either --dataset NAME (checked) or --summary."""
    parser = stage_parser(prog, description)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--dataset", help="dataset name, a key of the datasets section")
    group.add_argument("--summary", action="store_true", help=f"print the statistics of every {what} dataset")
    args = parser.parse_args()
    params, context = params_from_args(args)
    if args.dataset is not None and args.dataset not in params.datasets:
        raise UserError(f"unknown dataset {args.dataset!r} (datasets in {args.params}: {', '.join(params.datasets)})")
    return args, params, context


def run(main: typing.Callable[[], None], prog: str) -> None:
    """Run a stage's main(); a user error becomes one line on stderr and exit status 2."""
    try:
        main()
    except (UserError, ParamsError, ModelError) as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        sys.exit(2)
    except OSError as err:  # a full disk, a file that went away, no permission: the file and the reason
        print(f"{prog}: error: {err}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        sys.exit(130)
