"""python -m pipeline.score --variant V --benchmark B: result files -> metrics/V/B.json and metrics/V/B.png.

Also scores any result folder in pysot's layouts against a pysot-style dataset JSON, without the images:
python -m pipeline.score --dataset-json OTB100.json --results DIR --out FILE.
The metrics (pipeline/benchmarks/metrics.py) follow the official toolkits; score.* params pick the others.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from pipeline import cli, experiment
from pipeline.benchmarks import metrics as M
from pipeline.benchmarks import protocols
from pipeline.benchmarks.datasets import BenchmarkError, Sequence, load_dataset_json
from pipeline.evaluate import load_benchmark
from pipeline.files import write_atomic, write_figure
from pipeline.params import Params, ScoreParams

CURVES = ("success_curve", "precision_curve", "norm_precision_curve")


def score(sequences: list[Sequence], folder: Path, protocol: str, params: ScoreParams, eao_interval: str = "") -> dict:
    """{"overall": {...}, "per_sequence": {...}, "curves": {...}} of one tracker's results on a benchmark."""
    hidden = [s.name for s in sequences if not s.has_ground_truth]
    if hidden:
        raise BenchmarkError(f"{len(hidden)} sequences ({', '.join(hidden[:3])}) give only their first box (a test "
                             "split): pack the results for the evaluation server with python -m pipeline.submit")
    if protocol == "vot":
        return _score_vot(sequences, folder, params, eao_interval)
    per_sequence = {}
    for s in sequences:
        boxes = protocols.read_boxes(protocols.result_file(folder, protocol, s.name), len(s.gt), s.file_offset)
        scores = M.ope_sequence(boxes, s.gt, s.visible, params.norm_precision, params.invalid_gt)
        if protocol == "got10k":
            scores.update(M.got10k_sequence(boxes, s.gt, s.visible))
        per_sequence[s.name] = scores
    overall = M.ope_overall(per_sequence)
    if protocol == "got10k":
        overall.update(M.got10k_overall(per_sequence))
    curves = {k: overall.pop(k).tolist() for k in CURVES}
    return {"overall": _plain(overall), "curves": curves,
            "per_sequence": {n: _plain({k: v for k, v in s.items() if k not in CURVES and k != "ious"})
                             for n, s in per_sequence.items()}}


def _score_vot(sequences, folder, params: ScoreParams, eao_interval: str) -> dict:
    try:
        interval = M.eao_interval(eao_interval)
    except ValueError as err:
        raise cli.UserError(str(err)) from None
    runs = {}
    for s in sequences:
        # VOT cuts regions to the image; without the images (a dataset JSON) nothing is cut.
        bounds = Image.open(s.frames[0]).size if s.frames[0].exists() else None
        records = protocols.read_vot(folder, s.name, len(s.gt), s.file_offset)
        runs[s.name] = [M.vot_run(r, lambda f, region, s=s: M.polygon_iou(region, s.polygons[f], bounds))
                        for r in records]
    robustness = M.vot_robustness(runs)
    curve = M.expected_overlap_curve(runs, convention=params.eao)
    try:
        eao = M.eao(curve, interval)
    except ValueError as err:
        raise cli.UserError(f"{folder}: {err}") from None
    overall = {"accuracy": M.vot_accuracy(runs, params.vot_burnin), "robustness": robustness["robustness"],
               "failures": robustness["failures_total"], "eao": eao}
    per_sequence = {n: {"accuracy": M.vot_accuracy({n: r}, params.vot_burnin), "failures": robustness["failures"][n]}
                    for n, r in runs.items()}
    return {"overall": _plain(overall), "curves": {"expected_overlap": curve.tolist()},
            "per_sequence": _plain(per_sequence), "eao_interval": list(interval)}


def _plain(values):
    if isinstance(values, dict):
        return {k: _plain(v) for k, v in values.items()}
    return float(values) if isinstance(values, (np.floating, float, int, np.integer)) else values


def plot(result: dict, title: str, path: Path) -> None:
    """Success and precision plots (OPE), or the expected-overlap curve with its interval (VOT), as PNG."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    curves = result["curves"]
    if "expected_overlap" in curves:
        fig, ax = plt.subplots(figsize=(5, 4))
        low, high = result["eao_interval"]
        ax.plot(np.arange(1, len(curves["expected_overlap"]) + 1), curves["expected_overlap"])
        ax.axvspan(low, high, alpha=0.15)
        ax.set(xlabel="sequence length", ylabel="expected overlap", ylim=(0, 1),
               title=f"{title}: EAO {result['overall']['eao']:.3f}")
    else:
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
        left.plot(M.SUCCESS_THRESHOLDS, curves["success_curve"])
        left.set(xlabel="overlap threshold", ylabel="success rate", xlim=(0, 1), ylim=(0, 1),
                 title=f"{title}: success, AUC {result['overall']['success_auc']:.3f}")
        right.plot(M.PRECISION_THRESHOLDS, curves["precision_curve"])
        right.set(xlabel="location error threshold (px)", ylabel="precision", xlim=(0, 50), ylim=(0, 1),
                  title=f"precision at 20 px {result['overall']['precision_20']:.3f}")
    fig.tight_layout()
    write_figure(fig, path)
    plt.close(fig)


def write(result: dict, path: Path, title: str) -> None:
    write_atomic(path, (json.dumps(result, indent=1) + "\n").encode())
    plot(result, title, path.with_suffix(".png"))
    print(f"score: {title}: " + ", ".join(f"{k} {v:.4f}" for k, v in result["overall"].items())
          + f" -> {path}")


# The columns of the summary table per protocol: (metric key, header).
MAIN_METRICS = {"ope": [("success_auc", "AUC"), ("precision_20", "P@20")],
                "got10k": [("ao", "AO"), ("sr50", "SR0.5")],
                "vot": [("eao", "EAO"), ("accuracy", "A"), ("robustness", "R")]}


def summary(params: Params) -> str:
    """The main table of `dvc repro`: every tracker of repro.evaluate on every benchmark of repro.benchmarks,
    and its speed over all of them (results/V/B/speed.json); a cell not yet scored is '-'."""
    header, rows = ["tracker"], []
    for benchmark in params.repro.benchmarks:
        header += [f"{benchmark} {name}" for _, name in MAIN_METRICS[params.benchmarks[benchmark].protocol]]
    header.append("fps")
    for variant in params.repro.evaluate:
        row, frames, seconds = [variant], 0, 0.0
        for benchmark in params.repro.benchmarks:
            path = Path(params.score.out) / variant / f"{benchmark}.json"
            overall = json.loads(path.read_text())["overall"] if path.exists() else {}
            row += [f"{overall[key]:.3f}" if key in overall else "-"
                    for key, _ in MAIN_METRICS[params.benchmarks[benchmark].protocol]]
            speed = Path(params.evaluate.results) / variant / benchmark / "speed.json"
            if speed.exists():
                record = json.loads(speed.read_text())
                if record["fps"]:
                    frames, seconds = frames + record["frames"], seconds + record["frames"] / record["fps"]
        rows.append(row + [f"{frames / seconds:.0f}" if seconds else "-"])
    return cli.markdown_table(header, rows)


def main() -> None:
    parser = cli.stage_parser("pipeline.score", __doc__.split("\n\n")[0])
    parser.add_argument("--variant", help="scores results/<variant>/<benchmark>/")
    parser.add_argument("--benchmark", help="a key of the benchmarks section")
    parser.add_argument("--dataset-json", help="a pysot-style dataset file (instead of --variant/--benchmark)")
    parser.add_argument("--results", help="with --dataset-json: the result folder in pysot's layout")
    parser.add_argument("--out", help="with --dataset-json: the metrics JSON to write (a PNG beside it)")
    parser.add_argument("--summary", action="store_true",
                        help="print the table of repro.evaluate x repro.benchmarks from the metrics written so far")
    parser.add_argument("--eao-interval", default="VOT2018",
                        help="with --dataset-json on VOT: the challenge year or LOW-HIGH (default: %(default)s)")
    args = parser.parse_args()
    params = cli.params_from_args(args)
    if args.summary:
        print(summary(params))
        return
    if args.dataset_json:
        if not (args.results and args.out):
            parser.error("--dataset-json needs --results and --out")
        try:
            sequences = load_dataset_json(Path(args.dataset_json))
            protocol = "vot" if sequences and sequences[0].polygons is not None else "ope"
            result = score(sequences, Path(args.results), protocol, params.score, args.eao_interval)
        except BenchmarkError as err:
            raise cli.UserError(str(err)) from None
        write(result, Path(args.out), Path(args.results).name)
        return
    if not (args.variant and args.benchmark):
        parser.error("give --variant and --benchmark, or --dataset-json with --results and --out")
    if args.benchmark not in params.benchmarks:
        raise cli.UserError(f"unknown benchmark {args.benchmark!r} ({', '.join(params.benchmarks)})")
    spec = params.benchmarks[args.benchmark]
    folder = Path(params.evaluate.results) / args.variant / args.benchmark
    try:
        result = score(load_benchmark(args.benchmark, spec), folder, spec.protocol, params.score, spec.eao_interval)
    except BenchmarkError as err:
        raise cli.UserError(str(err)) from None
    out = Path(params.score.out) / args.variant / f"{args.benchmark}.json"
    write(result, out, f"{args.variant} on {args.benchmark}")
    speed = folder / "speed.json"
    fps = json.loads(speed.read_text())["fps"] if speed.exists() else None
    experiment.log_stage(params.mlflow, f"score-{args.variant}-{args.benchmark}",
                         {"tracker": args.variant, "benchmark": args.benchmark, "score": vars(params.score),
                          "benchmark_spec": vars(spec)}, {**result["overall"], "fps": fps},
                         [out, out.with_suffix(".png")],
                         {"tracker": args.variant, "benchmark": args.benchmark, "protocol": spec.protocol})


if __name__ == "__main__":
    cli.run(main, "score")
