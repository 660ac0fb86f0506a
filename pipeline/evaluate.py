"""python -m pipeline.evaluate --variant V --benchmark B [--checkpoint PATH]: run a tracker over a benchmark.

Sequences run in parallel on Ray (or one by one with evaluate.backend=serial); result files go to
results/V/B/ in the layout of the benchmark's protocol (pipeline/benchmarks/protocols.py), and the tracker's
speed to results/V/B/speed.json. `--variant identity` runs the identity tracker (no network);
`--variant V-untrained` runs V's initial weights (runs/V/checkpoint-e000.pt, written by pipeline.train), the
baseline that shows what training learned.
"""
from __future__ import annotations

import functools
import json
import os
import shutil
from pathlib import Path

import numpy as np
from tqdm import tqdm

from models.trackers import tracker_kind
from pipeline import cli, experiment
from pipeline.benchmarks import protocols
from pipeline.benchmarks.datasets import LOADERS, BenchmarkError, Sequence
from pipeline.files import file_sha256, json_digest, write_atomic
from pipeline.params import IDENTITY, UNTRAINED, BenchmarkSpec, EvaluateParams, Params, base_variant

PROGRESS = ".progress"  # <results>/<variant>/<benchmark>/.progress/<sequence>.json while a run is under way


def default_checkpoint(runs: str, variant: str) -> Path:
    name = "checkpoint-e000.pt" if variant.endswith(UNTRAINED) else "checkpoint.pt"
    return Path(runs) / base_variant(variant) / name


def load_benchmark(name: str, spec: BenchmarkSpec) -> list[Sequence]:
    if spec.format not in LOADERS:
        raise cli.UserError(f"benchmark {name}: unknown format {spec.format!r} ({', '.join(LOADERS)})")
    if spec.protocol not in protocols.PROTOCOLS:
        raise cli.UserError(f"benchmark {name}: unknown protocol {spec.protocol!r} ({', '.join(protocols.PROTOCOLS)})")
    if not Path(spec.root).is_dir():
        raise cli.UserError(f"benchmark {name}: root {spec.root} is not a folder")
    try:
        return LOADERS[spec.format](Path(spec.root), Path(spec.sequences) if spec.sequences else None)
    except BenchmarkError as err:
        raise cli.UserError(str(err)) from None


def tracker_settings(params: Params, benchmark: str, kind: str) -> dict:
    """The trackers section for this kind, with the benchmark's overrides on top."""
    return {**params.trackers.get(kind, {}), **params.benchmarks[benchmark].trackers.get(kind, {})}


@functools.lru_cache(maxsize=1)
def _load_model(variant: str, checkpoint: str | None, device: str):
    """The network, read once per process (serially, or per Ray worker) and shared by its sequences."""
    if variant == IDENTITY:
        return None
    from models.checkpoint import load_checkpoint
    model, _ = load_checkpoint(checkpoint, variant=base_variant(variant), map_location=device)
    return model


def _kind(params: Params, variant: str) -> str:
    return tracker_kind(None if variant == IDENTITY else params.variants[base_variant(variant)]["head"])


def evaluate_sequence(job: dict) -> dict:
    """Track one sequence (in a Ray worker or in this process) and write its result files."""
    import torch

    from models.trackers import make_tracker
    torch.set_num_threads(1)
    model = _load_model(job["variant"], job["checkpoint"], job["device"])
    settings = job["settings"]
    sequence, folder = job["sequence"], Path(job["folder"])
    if job["protocol"] == "vot":
        runs, times = protocols.run_vot(lambda: make_tracker(model, settings, job["device"]), sequence,
                                        job["vot_skip"], job["vot_repetitions"])
        protocols.write_vot(folder, sequence, runs)
    else:
        boxes, times = protocols.run_ope(make_tracker(model, settings, job["device"]), sequence)
        if job["protocol"] == "got10k":
            protocols.write_got10k(folder, sequence, boxes, times)
        else:
            protocols.write_ope(folder, sequence, boxes)
    record = {"sequence": sequence.name, "frames": len(times), "seconds": float(np.sum(times))}
    # Written after the result files: a killed run's rerun skips the sequences that have one.
    write_atomic(folder / PROGRESS / f"{sequence.name}.json", json.dumps(record | {"job": job["key"]}).encode())
    return record


def _finished(folder: Path, key: str) -> dict[str, dict]:
    """The sequences that an interrupted run of the same job (checkpoint bytes, settings) finished."""
    records = {}
    for path in (folder / PROGRESS).glob("*.json"):
        record = json.loads(path.read_text())
        if record.pop("job") == key:
            records[record["sequence"]] = record
    return records


def run(variant: str, benchmark: str, params: Params, checkpoint: str | None = None) -> dict:
    settings: EvaluateParams = params.evaluate
    spec = params.benchmarks[benchmark]
    if variant != IDENTITY:
        checkpoint = checkpoint or str(default_checkpoint(settings.runs, variant))
        if not Path(checkpoint).exists():
            raise cli.UserError(f"{checkpoint}: no checkpoint for {variant} (train it, or pass --checkpoint)")
        # Read here once: a bad file is one line before any worker starts (the serial backend keeps the model).
        _load_model(variant, checkpoint, settings.device if settings.backend == "serial" else "cpu")
    sequences = load_benchmark(benchmark, spec)
    folder = Path(settings.results) / variant / benchmark
    kind = _kind(params, variant)
    job = {"variant": variant, "checkpoint": checkpoint, "device": settings.device, "folder": str(folder),
           "protocol": spec.protocol, "vot_skip": settings.vot_skip, "vot_repetitions": settings.vot_repetitions,
           "settings": tracker_settings(params, benchmark, kind)}
    job["key"] = json_digest([job, file_sha256(checkpoint) if checkpoint else None])
    done = _finished(folder, job["key"])
    jobs = [job | {"sequence": s} for s in sequences if s.name not in done]
    if len(jobs) < len(sequences):
        print(f"evaluate: {variant} on {benchmark}: resuming, {len(sequences) - len(jobs)} of {len(sequences)} "
              "sequences done")
    bar = tqdm(total=len(sequences), initial=len(sequences) - len(jobs), desc=f"evaluate {variant} on {benchmark}",
               unit="seq")
    if settings.backend == "serial":
        fresh = []
        for one in jobs:
            fresh.append(evaluate_sequence(one))
            bar.update()
    else:
        fresh = _run_ray(jobs, settings.workers, bar)
    bar.close()
    done |= {r["sequence"]: r for r in fresh}
    records = [done[s.name] for s in sequences]
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


def _run_ray(jobs: list[dict], workers: int, bar) -> list[dict]:
    import ray
    ray.init(num_cpus=workers, include_dashboard=False, object_store_memory=100 << 20)
    try:
        task = ray.remote(num_cpus=1, max_retries=0)(evaluate_sequence)
        pending, records = [task.remote(job) for job in jobs], []
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            try:
                records.append(ray.get(ready[0]))
            except ray.exceptions.RayTaskError as err:
                cause = err.cause
                if isinstance(cause, (BenchmarkError, ValueError)):
                    raise cli.UserError(str(cause)) from None
                raise
            bar.update()
        return records
    finally:
        ray.shutdown()


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
    params = cli.params_from_args(args)
    if args.benchmark not in params.benchmarks:
        raise cli.UserError(f"unknown benchmark {args.benchmark!r} (benchmarks in {args.params}: "
                            f"{', '.join(params.benchmarks)})")
    if args.variant != IDENTITY and base_variant(args.variant) not in params.variants:
        raise cli.UserError(f"unknown variant {args.variant!r} ({IDENTITY}, {', '.join(params.variants)})")
    speed = run(args.variant, args.benchmark, params, args.checkpoint)
    folder = Path(params.evaluate.results) / args.variant / args.benchmark
    experiment.log_stage(params.mlflow, f"evaluate-{args.variant}-{args.benchmark}",
                         {"tracker": args.variant, "benchmark": args.benchmark, "checkpoint": speed["checkpoint"],
                          "evaluate": vars(params.evaluate), "settings": tracker_settings(
                              params, args.benchmark, _kind(params, args.variant))},
                         {"fps": speed["fps"], "frames": speed["frames"]}, [folder],
                         {"tracker": args.variant, "benchmark": args.benchmark})


if __name__ == "__main__":
    # Run the importable module rather than __main__: Ray workers find its (cached) functions by name.
    from pipeline import evaluate
    cli.run(evaluate.main, "evaluate")
