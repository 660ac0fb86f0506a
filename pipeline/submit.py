"""python -m pipeline.submit --variant V --benchmark B: pack a test split's results for its evaluation server.

GOT-10k's test split and TrackingNet's TEST give only the first box; their servers score a zip of the result
files (GOT-10k: <seq>/<seq>_001.txt and <seq>_time.txt; TrackingNet: <seq>.txt). Every sequence of the
benchmark must have a complete result file; the zip goes to <evaluate.results>/<variant>/<benchmark>.zip.
"""
from __future__ import annotations

from pathlib import Path

from pipeline import cli
from pipeline.benchmarks.catalogue import load_benchmark
from pipeline.benchmarks.datasets import BenchmarkError
from pipeline.benchmarks.submission import submission
from pipeline.common.errors import UserError
from pipeline.common.files import write_atomic
from pipeline.config.schema import Params


def run(variant: str, benchmark: str, params: Params, out: str | None = None) -> Path:
    """The submission zip of `variant` on a test split (default <evaluate.results>/<variant>/<benchmark>.zip)."""
    if benchmark not in params.benchmarks:
        raise UserError(f"unknown benchmark {benchmark!r} ({', '.join(params.benchmarks)})")
    spec = params.benchmarks[benchmark]
    if spec.format not in ("got10k", "trackingnet"):
        raise UserError(f"benchmark {benchmark}: format {spec.format} has public ground truth; score it "
                        "with python -m pipeline.score (submissions are for GOT-10k and TrackingNet)")
    folder = Path(params.evaluate.results) / variant / benchmark
    sequences = load_benchmark(benchmark, spec)
    try:
        archive = submission(folder, sequences, spec.protocol)
    except BenchmarkError as err:
        raise UserError(str(err)) from None
    path = Path(out or folder.parent / f"{benchmark}.zip")
    write_atomic(path, archive)
    print(f"submit: {len(sequences)} sequences of {variant} on {benchmark} -> {path}")
    return path


def main() -> None:
    parser = cli.stage_parser("pipeline.submit", __doc__.split("\n\n")[0])
    parser.add_argument("--variant", required=True, help="packs results/<variant>/<benchmark>/")
    parser.add_argument("--benchmark", required=True, help="a key of the benchmarks section")
    parser.add_argument("--out", help="default: <evaluate.results>/<variant>/<benchmark>.zip")
    args = parser.parse_args()
    params, _ = cli.params_from_args(args)
    run(args.variant, args.benchmark, params, args.out)


if __name__ == "__main__":
    cli.run(main, "submit")
