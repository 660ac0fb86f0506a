"""Curation stage: a search-size crop of every object-frame, into LMDB shards, in parallel on Ray.

    python -m pipeline.curate --dataset vid     # data/index/vid.* -> data/shards/vid/, metrics/curate/vid.*
    python -m pipeline.curate --summary         # the statistics of every curated dataset

Whole videos are assigned to shards in index order (about `curate.shard_frames` object-frames each), one
task per shard (pipeline/data/curation.py); a rerun keeps the shards that are done and redoes the rest
(pipeline/data/shard_jobs.py). manifest.json, written last, lists videos and tracks for the reader
(pipeline/data/shards.py). The bytes depend only on the index and params, not on the backend or the
worker count.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from pipeline import cli, tracking
from pipeline.common.errors import UserError
from pipeline.common.files import write_atomic
from pipeline.common.parallel import TaskFailed, parallel_map
from pipeline.common.tables import markdown_table
from pipeline.config.schema import CurateParams, DatasetSpec, IndexParams, MlflowParams
from pipeline.data import index as dataset_index, shard_jobs
from pipeline.data.curation import SIDE_EDGES, SKIP_REASONS, ShardFailed, curate_shard, plan_shards
from pipeline.data.shards import MANIFEST, Shards
from pipeline.tracking import RunContext


def run(name: str, spec: DatasetSpec, index_params: IndexParams, params: CurateParams,
        mlflow_params: MlflowParams | None = None, context: RunContext | None = None) -> dict:
    index_dir = Path(index_params.out)
    index = dataset_index.load(index_dir, name)
    out = Path(params.out) / name
    out.mkdir(parents=True, exist_ok=True)
    jobs = shard_jobs.make_jobs(name, spec, index_dir, out, plan_shards(index, params.shard_frames), params)
    records = {job["shard"]: record for job in jobs if (record := shard_jobs.reusable(out, job))}
    todo = [j for j in jobs if j["shard"] not in records]
    if todo:
        (out / MANIFEST).unlink(missing_ok=True)  # present only when every shard is complete
    shard_jobs.remove_strays(out, jobs)
    started = time.perf_counter()
    if todo:
        _write_shards(name, out, todo, params, records)
    seconds = time.perf_counter() - started
    ordered = [records[j["shard"]] for j in jobs]
    write_atomic(out / MANIFEST, json.dumps(shard_jobs.manifest(name, index, ordered), separators=(",", ":")).encode())
    stats = _stats(name, index, ordered)
    metrics = Path(params.metrics)
    write_atomic(metrics / f"{name}.json", (json.dumps(stats, indent=2) + "\n").encode())
    preview(out, params.preview_crops, metrics / f"{name}.png")
    _report(stats, ordered, len(jobs) - len(todo), seconds)
    if mlflow_params is not None:
        tracking.log_stage(mlflow_params, f"curate-{name}", {"dataset": name, **vars(params)}, stats,
                           [metrics / f"{name}.json", metrics / f"{name}.png", out / MANIFEST], {"dataset": name},
                           context=context)
    return stats


def _write_shards(name: str, out: Path, todo: list[dict], params: CurateParams, records: dict) -> None:
    """The shards of `todo` on the curate backend; each record is written as its shard finishes."""
    def finished(record):
        write_atomic(shard_jobs.record_path(out, record["shard"]), json.dumps(record).encode())
        records[record["shard"]] = record

    with tqdm(total=sum(j["visible"] for j in todo), desc=f"curate {name}", unit="crop", mininterval=1,
              smoothing=0.1) as bar:
        try:
            parallel_map(curate_shard, todo, finished, backend=params.backend, workers=params.workers,
                         ray_address=params.ray_address, progress=bar.update, expected=(ShardFailed,))
        except (ShardFailed, TaskFailed) as err:
            for path in out.glob("*.partial"):
                path.unlink()
            raise UserError(f"curate {name}: {err} (rerun to resume)") from None


def _stats(name: str, index, records: list[dict]) -> dict:
    reasons = {r: 0 for r in SKIP_REASONS}
    for record in records:
        for reason, _, _ in record["skipped"]:
            reasons[reason] += 1
    histogram = np.sum([r["side_histogram"] for r in records], axis=0).tolist()
    labels = [f"{int(lo)}-{hi if hi != float('inf') else 'inf'}" for lo, hi in zip(SIDE_EDGES[:-1], SIDE_EDGES[1:])]
    crops = sum(r["crops"] for r in records)
    size = sum(r["bytes"] for r in records)
    visible = int(index.frames["visible"].sum())
    return {"dataset": name, "shards": len(records), "videos": len(index.videos), "tracks": len(index.tracks),
            "object_frames": len(index.frames), "absent": len(index.frames) - visible, "crops": crops,
            "masks": sum(r["masks"] for r in records),
            "padded": sum(r["padded"] for r in records), "skipped": reasons,
            "context_side_px": dict(zip(labels, histogram)), "bytes": size,
            "bytes_per_crop": round(size / crops) if crops else 0}


def preview(directory: Path, count: int, path: Path, tile: int = 128, columns: int = 6) -> None:
    """A grid of `count` random crops (a fixed seed) with their boxes drawn, as PNG."""
    reader = Shards(directory)
    pairs = [(t, f) for t in range(len(reader)) if reader.tracks[t][3] for f in reader.frames(t)]
    rng = np.random.default_rng(0)
    chosen = [pairs[i] for i in sorted(rng.choice(len(pairs), min(count, len(pairs)), replace=False))]
    rows = max(1, -(-len(chosen) // columns))
    grid = np.full((rows * tile, columns * tile, 3), 255, np.uint8)
    for i, (track, frame) in enumerate(chosen):
        image = reader.crop(track, frame)
        x, y, w, h = reader.meta(track, frame)["box"]
        cv2.rectangle(image, (round(x), round(y)), (round(x + w), round(y + h)), (0, 255, 0), 3)
        row, col = divmod(i, columns)
        grid[row * tile:(row + 1) * tile, col * tile:(col + 1) * tile] = cv2.resize(
            image, (tile, tile), interpolation=cv2.INTER_AREA)
    ok, png = cv2.imencode(".png", grid)
    write_atomic(path, png.tobytes())


def _report(stats: dict, records: list[dict], reused: int, seconds: float) -> None:
    made = stats["shards"] - reused
    print(f"curate {stats['dataset']}: {stats['crops']} crops of {stats['videos']} videos, {stats['tracks']} tracks "
          f"in {stats['shards']} shards ({made} written in {seconds:.1f} s, {reused} reused); "
          f"{stats['bytes'] / 1e6:.1f} MB, {stats['absent']} absent frames")
    counted = {r: n for r, n in stats["skipped"].items() if n}
    if counted:
        print(f"curate {stats['dataset']}: skipped " + ", ".join(f"{r} {n}" for r, n in counted.items())
              + " (every one in the shard records shard-NNNNN.json)")
        for reason in counted:
            for _, path, detail in [s for r in records for s in r["skipped"] if s[0] == reason][:3]:
                print(f"  {reason}: {path} {detail}".rstrip())


def summary_table(metrics_dir: str | Path) -> str:
    files = sorted(Path(metrics_dir).glob("*.json"))
    if not files:
        raise UserError(f"{metrics_dir}: no curation statistics yet (run: dvc repro)")
    rows = [json.loads(f.read_text()) for f in files]
    columns = ["shards", "videos", "tracks", "crops", "masks", "absent", "padded"]
    return markdown_table(["dataset", *columns, "skipped", "MB"], [
        [row["dataset"], *(row[c] for c in columns), sum(row["skipped"].values()), f"{row['bytes'] / 1e6:.1f}"]
        for row in rows])


def main() -> None:
    args, params, context = cli.dataset_stage_args(
        "pipeline.curate", "Crop every object-frame of an indexed dataset into LMDB shards (data/shards/NAME), "
        "resumably, on Ray.", "curated")
    if args.summary:
        print(summary_table(params.curate.metrics))
    else:
        run(args.dataset, params.datasets[args.dataset], params.index, params.curate, params.mlflow, context)


if __name__ == "__main__":
    cli.run(main, "curate")
