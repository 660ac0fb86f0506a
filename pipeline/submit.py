"""python -m pipeline.submit --variant V --benchmark B: pack a test split's results for its evaluation server.

GOT-10k's test split and TrackingNet's TEST give only the first box; their servers score a zip of the result
files (GOT-10k: <seq>/<seq>_001.txt and <seq>_time.txt; TrackingNet: <seq>.txt). Every sequence of the
benchmark must have a complete result file; the zip goes to <evaluate.results>/<variant>/<benchmark>.zip.
"""
from __future__ import annotations

from pathlib import Path

from pipeline import cli
from pipeline.benchmarks import protocols
from pipeline.benchmarks.datasets import BenchmarkError
from pipeline.evaluate import load_benchmark
from pipeline.files import write_atomic


def main() -> None:
    parser = cli.stage_parser("pipeline.submit", __doc__.split("\n\n")[0])
    parser.add_argument("--variant", required=True, help="packs results/<variant>/<benchmark>/")
    parser.add_argument("--benchmark", required=True, help="a key of the benchmarks section")
    parser.add_argument("--out", help="default: <evaluate.results>/<variant>/<benchmark>.zip")
    args = parser.parse_args()
    params = cli.params_from_args(args)
    if args.benchmark not in params.benchmarks:
        raise cli.UserError(f"unknown benchmark {args.benchmark!r} ({', '.join(params.benchmarks)})")
    spec = params.benchmarks[args.benchmark]
    if spec.format not in ("got10k", "trackingnet"):
        raise cli.UserError(f"benchmark {args.benchmark}: format {spec.format} has public ground truth; score it "
                            "with python -m pipeline.score (submissions are for GOT-10k and TrackingNet)")
    folder = Path(params.evaluate.results) / args.variant / args.benchmark
    sequences = load_benchmark(args.benchmark, spec)
    try:
        archive = protocols.submission(folder, sequences, spec.protocol)
    except BenchmarkError as err:
        raise cli.UserError(str(err)) from None
    out = Path(args.out or folder.parent / f"{args.benchmark}.zip")
    write_atomic(out, archive)
    print(f"submit: {len(sequences)} sequences of {args.variant} on {args.benchmark} -> {out}")


if __name__ == "__main__":
    cli.run(main, "submit")
