"""python -m pipeline.evaluate --variant V --benchmark B [--checkpoint PATH]: run a tracker over a benchmark.

Sequences run in parallel on Ray (or one by one with evaluate.backend=serial); result files go to
results/V/B/ in the layout of the benchmark's protocol (pipeline/benchmarks/protocols/), and the tracker's
speed to results/V/B/speed.json. `--variant identity` runs the identity tracker (no network);
`--variant V-untrained` runs V's initial weights (runs/V/checkpoint-e000.pt, written by pipeline.train), the
baseline that shows what training learned. A killed run's rerun continues with the sequences it had left.
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path

from tqdm import tqdm

from pipeline import cli, tracking
from pipeline.benchmarks.catalogue import kind_name, load_benchmark, tracker_settings
from pipeline.benchmarks.datasets import BenchmarkError
from pipeline.benchmarks.runner import PROGRESS, evaluate_sequence, finished, load_model
from pipeline.common.errors import UserError
from pipeline.common.files import file_sha256, json_digest, write_atomic
from pipeline.common.parallel import parallel_map
from pipeline.config.schema import IDENTITY, UNTRAINED, Params, base_variant
from pipeline.tracking import RunContext


def default_checkpoint(runs: str, variant: str) -> Path:
    name = "checkpoint-e000.pt" if variant.endswith(UNTRAINED) else "checkpoint.pt"
    return Path(runs) / base_variant(variant) / name


def _job(variant: str, benchmark: str, params: Params, checkpoint: str | None, released: dict) -> dict:
    """What every sequence's task shares; its key names the job for resuming (with the checkpoint's bytes)."""
    settings, spec = params.evaluate, params.benchmarks[benchmark]
    job = {"base_variant": None if variant == IDENTITY else base_variant(variant), "checkpoint": checkpoint,
           "device": settings.device, "folder": str(Path(settings.results) / variant / benchmark),
           "protocol": spec.protocol, "evaluate": dataclasses.asdict(settings),
           "settings": tracker_settings(params, benchmark, kind_name(params, variant), released)}
    job["key"] = json_digest([job, file_sha256(checkpoint) if checkpoint else None])
    return job


def run(variant: str, benchmark: str, params: Params, checkpoint: str | None = None,
        context: RunContext | None = None) -> dict:
    """Track every sequence of `benchmark` (resuming a killed run), write speed.json and log the stage's run."""
    settings, released = params.evaluate, {}
    if variant != IDENTITY:
        checkpoint = checkpoint or str(default_checkpoint(settings.runs, variant))
        if not Path(checkpoint).exists():
            raise UserError(f"{checkpoint}: no checkpoint for {variant} (train it, or pass --checkpoint)")
        # Read here once: a bad file is one line before any worker starts (the serial backend keeps the model).
        _, released = load_model(base_variant(variant), checkpoint,
                                 settings.device if settings.backend == "serial" else "cpu")
    sequences = load_benchmark(benchmark, params.benchmarks[benchmark])
    job = _job(variant, benchmark, params, checkpoint, released)
    folder = Path(job["folder"])
    done = finished(folder, job["key"])
    jobs = [job | {"sequence": s} for s in sequences if s.name not in done]
    if len(jobs) < len(sequences):
        print(f"evaluate: {variant} on {benchmark}: resuming, {len(sequences) - len(jobs)} of {len(sequences)} "
              "sequences done")
    with tqdm(total=len(sequences), initial=len(sequences) - len(jobs), desc=f"evaluate {variant} on {benchmark}",
              unit="seq") as bar:
        def record(result):
            done[result["sequence"]] = result
            bar.update()
        try:
            parallel_map(evaluate_sequence, jobs, record, backend=settings.backend, workers=settings.workers,
                         expected=(BenchmarkError, ValueError))
        except (BenchmarkError, ValueError) as err:
            raise UserError(str(err)) from None
    speed = _write_speed(variant, benchmark, settings, folder, [done[s.name] for s in sequences], checkpoint)
    _log(params, variant, benchmark, speed, job["settings"], context)
    return speed


def _write_speed(variant, benchmark, settings, folder: Path, records: list[dict], checkpoint) -> dict:
    frames, seconds = sum(r["frames"] for r in records), sum(r["seconds"] for r in records)
    speed = {"variant": variant, "benchmark": benchmark, "device": _device_name(settings.device),
             "frames": frames, "fps": frames / seconds if seconds else None, "checkpoint": checkpoint,
             "per_sequence": {r["sequence"]: r["frames"] / r["seconds"] if r["seconds"] else None for r in records}}
    write_atomic(folder / "speed.json", (json.dumps(speed, indent=1) + "\n").encode())
    if (folder / PROGRESS).exists():
        shutil.rmtree(folder / PROGRESS)
    print(f"evaluate: {variant} on {benchmark}: {len(records)} sequences, {frames} frames tracked at "
          f"{speed['fps'] or 0:.1f} fps ({speed['device']}), results in {folder}")
    return speed


def _device_name(device: str) -> str:
    if device.startswith("cuda"):
        import torch
        return torch.cuda.get_device_name(device)
    return f"cpu ({os.cpu_count()} cores, torch threads 1 per worker)"


def main() -> None:
    parser = cli.stage_parser("pipeline.evaluate", __doc__.split("\n\n")[0])
    parser.add_argument("--variant", required=True, help="a registered variant, <variant>-untrained (its initial "
                        "weights, saved by pipeline.train), or 'identity'")
    parser.add_argument("--benchmark", required=True, help="a key of the benchmarks section")
    parser.add_argument("--checkpoint", help="default: <evaluate.runs>/<variant>/checkpoint.pt (checkpoint-e000.pt "
                        "for -untrained)")
    args = parser.parse_args()
    params, context = cli.params_from_args(args)
    if args.benchmark not in params.benchmarks:
        raise UserError(f"unknown benchmark {args.benchmark!r} (benchmarks in {args.params}: "
                        f"{', '.join(params.benchmarks)})")
    if args.variant != IDENTITY and base_variant(args.variant) not in params.variants:
        raise UserError(f"unknown variant {args.variant!r} ({IDENTITY}, {', '.join(params.variants)})")
    run(args.variant, args.benchmark, params, args.checkpoint, context)


def _log(params: Params, variant: str, benchmark: str, speed: dict, tracker: dict,
         context: RunContext | None) -> None:
    folder = Path(params.evaluate.results) / variant / benchmark
    tracking.log_stage(params.mlflow, f"evaluate-{variant}-{benchmark}",
                       {"tracker": variant, "benchmark": benchmark, "checkpoint": speed["checkpoint"],
                        "evaluate": vars(params.evaluate),
                        "settings": tracker},
                       {"fps": speed["fps"], "frames": speed["frames"]}, [folder],
                       {"tracker": variant, "benchmark": benchmark}, context=context)


if __name__ == "__main__":
    cli.run(main, "evaluate")
