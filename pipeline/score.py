"""python -m pipeline.score --variant V --benchmark B: result files -> metrics/V/B.json and metrics/V/B.png.

Also scores any result folder in pysot's layouts against a pysot-style dataset JSON, without the images:
python -m pipeline.score --dataset-json OTB100.json --results DIR --out FILE.
Each protocol scores its own files (pipeline/benchmarks/protocols/); the metrics (pipeline/benchmarks/metrics/)
follow the official toolkits, and score.* params pick the others.
"""
from __future__ import annotations

import json
from pathlib import Path

from pipeline import cli, tracking
from pipeline.benchmarks.catalogue import load_benchmark
from pipeline.benchmarks.datasets import BenchmarkError, Sequence, load_dataset_json
from pipeline.benchmarks.protocols import PROTOCOLS
from pipeline.common.errors import UserError
from pipeline.common.files import write_atomic
from pipeline.common.tables import markdown_table
from pipeline.config.params import repro_cells
from pipeline.config.schema import Params, ScoreParams
from pipeline.tracking import RunContext

def score(sequences: list[Sequence], folder: Path, protocol: str, params: ScoreParams, eao_interval: str = "") -> dict:
    """{"overall": {...}, "per_sequence": {...}, "curves": {...}} of one tracker's results on a benchmark."""
    return PROTOCOLS[protocol].score(sequences, folder, params, eao_interval)


def write(result: dict, path: Path, title: str, protocol: str) -> None:
    write_atomic(path, (json.dumps(result, indent=1) + "\n").encode())
    PROTOCOLS[protocol].plot(result, title, path.with_suffix(".png"))
    print(f"score: {title}: " + ", ".join(f"{k} {v:.4f}" for k, v in result["overall"].items())
          + f" -> {path}")


def summary(params: Params) -> str:
    """The main table of `dvc repro`: every tracker it evaluates on each of its benchmarks (repro_cells), and
    its speed over all of them (results/V/B/speed.json); a cell not yet scored, or not evaluated, is '-'."""
    header, rows = ["tracker"], []
    for benchmark in params.repro.benchmarks:
        header += [f"{benchmark} {name}" for _, name in PROTOCOLS[params.benchmarks[benchmark].protocol].columns]
    header.append("fps")
    for variant in repro_cells(params.repro):
        row, frames, seconds = [variant], 0, 0.0
        for benchmark in params.repro.benchmarks:
            path = Path(params.score.out) / variant / f"{benchmark}.json"
            overall = json.loads(path.read_text())["overall"] if path.exists() else {}
            row += [f"{overall[key]:.3f}" if key in overall else "-"
                    for key, _ in PROTOCOLS[params.benchmarks[benchmark].protocol].columns]
            speed = Path(params.evaluate.results) / variant / benchmark / "speed.json"
            if speed.exists():
                record = json.loads(speed.read_text())
                if record["fps"]:
                    frames, seconds = frames + record["frames"], seconds + record["frames"] / record["fps"]
        rows.append(row + [f"{frames / seconds:.0f}" if seconds else "-"])
    return markdown_table(header, rows)


def run(variant: str, benchmark: str, params: Params, context: RunContext | None = None) -> dict:
    """Score results/<variant>/<benchmark>/ into metrics/<variant>/<benchmark>.json (+ .png) and log the run."""
    if benchmark not in params.benchmarks:
        raise UserError(f"unknown benchmark {benchmark!r} ({', '.join(params.benchmarks)})")
    spec = params.benchmarks[benchmark]
    folder = Path(params.evaluate.results) / variant / benchmark
    try:
        result = score(load_benchmark(benchmark, spec), folder, spec.protocol, params.score, spec.eao_interval)
    except BenchmarkError as err:
        raise UserError(str(err)) from None
    out = Path(params.score.out) / variant / f"{benchmark}.json"
    write(result, out, f"{variant} on {benchmark}", spec.protocol)
    speed = folder / "speed.json"
    fps = json.loads(speed.read_text())["fps"] if speed.exists() else None
    tracking.log_stage(params.mlflow, f"score-{variant}-{benchmark}",
                       {"tracker": variant, "benchmark": benchmark, "score": vars(params.score),
                        "benchmark_spec": vars(spec)}, {**result["overall"], "fps": fps},
                       [out, out.with_suffix(".png")],
                       {"tracker": variant, "benchmark": benchmark, "protocol": spec.protocol}, context=context)
    return result


def score_folder(dataset_json: Path, results: Path, out: Path, params: ScoreParams, eao_interval: str) -> dict:
    """Any result folder in pysot's layouts against a pysot-style dataset JSON, without the images."""
    try:
        sequences = load_dataset_json(dataset_json)
        protocol = "vot" if sequences and sequences[0].polygons is not None else "ope"
        result = score(sequences, results, protocol, params, eao_interval)
    except BenchmarkError as err:
        raise UserError(str(err)) from None
    write(result, out, results.name, protocol)
    return result


def main() -> None:
    parser = cli.stage_parser("pipeline.score", __doc__.split("\n\n")[0])
    parser.add_argument("--variant", help="scores results/<variant>/<benchmark>/")
    parser.add_argument("--benchmark", help="a key of the benchmarks section")
    parser.add_argument("--dataset-json", help="a pysot-style dataset file (instead of --variant/--benchmark)")
    parser.add_argument("--results", help="with --dataset-json: the result folder in pysot's layout")
    parser.add_argument("--out", help="with --dataset-json: the metrics JSON to write (a PNG beside it)")
    parser.add_argument("--summary", action="store_true",
                        help="print the main table of dvc repro (repro: in params.yaml) from the metrics written so far")
    parser.add_argument("--eao-interval", default="VOT2018",
                        help="with --dataset-json on VOT: the challenge year or LOW-HIGH (default: %(default)s)")
    args = parser.parse_args()
    params, context = cli.params_from_args(args)
    if args.summary:
        print(summary(params))
    elif args.dataset_json:
        if not (args.results and args.out):
            parser.error("--dataset-json needs --results and --out")
        score_folder(Path(args.dataset_json), Path(args.results), Path(args.out), params.score, args.eao_interval)
    elif args.variant and args.benchmark:
        run(args.variant, args.benchmark, params, context)
    else:
        parser.error("give --variant and --benchmark, or --dataset-json with --results and --out")


if __name__ == "__main__":
    cli.run(main, "score")
