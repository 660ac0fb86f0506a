"""Curation stage: a search-size crop of every object-frame, into LMDB shards, in parallel on Ray.

    python -m pipeline.curate --dataset vid     # data/index/vid.* -> data/shards/vid/, metrics/curate/vid.*
    python -m pipeline.curate --summary         # the statistics of every curated dataset

Whole videos are assigned to shards in index order (about `curate.shard_frames` object-frames each); one
task writes one shard, reading its images by path, so no image bytes pass through Ray's object store.
A shard is written as shard-NNNNN.lmdb.partial and renamed when complete, then its record
shard-NNNNN.json (fingerprint of its inputs and params, sha256, counts, skips) is written. A rerun keeps
every shard whose record matches its fingerprint and checksum, and redoes the rest, so a killed run
resumes and a finished one costs a checksum pass. manifest.json, written last, lists videos and tracks
for the reader (pipeline/shards.py). The bytes depend only on the index and params, not on the backend
or the worker count.
"""
from __future__ import annotations

import io
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from models import geometry
from models.geometry import EXEMPLAR_SIZE, box_in_crop, crop, polygon_mask, search_region
from pipeline import cli, experiment, index as index_stage, shards
from pipeline.files import file_sha256, json_digest, write_atomic
from pipeline.params import CurateParams, DatasetSpec, IndexParams, MlflowParams
from pipeline.shards import MANIFEST, Shards, ShardWriter, frame_key, shard_name, track_key

FORMAT_VERSION = 1
INDEX_FILES = ("json", "images.txt", "frames.npy", "polygons.npy")
SKIP_REASONS = ("image_missing", "image_unreadable", "image_changed", "box_nonpositive", "box_outside_image")
# Octave bins of the context region side s_z in image pixels, for the crop size distribution.
SIDE_EDGES = [0, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, float("inf")]


class SkipImage(Exception):
    def __init__(self, reason: str, detail: str = ""):
        super().__init__(reason, detail)
        self.reason, self.detail = reason, detail


class OpenCVCodec:
    """JPEG decode and encode with OpenCV; arrays are BGR."""
    name = "opencv"
    version = cv2.__version__

    @staticmethod
    def decode(data: bytes) -> np.ndarray:
        # libjpeg only warns on a truncated JPEG and fills the rest with grey: a JPEG must end in EOI.
        if data[:2] == b"\xff\xd8" and b"\xff\xd9" not in data[-1024:]:
            raise SkipImage("image_unreadable", "truncated JPEG (no end-of-image marker)")
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            raise SkipImage("image_unreadable", "OpenCV cannot decode it")
        return image

    @staticmethod
    def encode(image: np.ndarray, quality: int) -> bytes:
        ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise RuntimeError("cv2.imencode failed")
        return buffer.tobytes()


class PillowCodec:
    """JPEG decode and encode with Pillow (or Pillow-SIMD); arrays are RGB, which the crop ignores."""
    name = "pillow"

    @staticmethod
    def decode(data: bytes) -> np.ndarray:
        from PIL import Image
        try:
            with Image.open(io.BytesIO(data)) as img:
                return np.asarray(img.convert("RGB"))
        except (OSError, Image.DecompressionBombError) as err:
            raise SkipImage("image_unreadable", f"Pillow: {err}") from None

    @staticmethod
    def encode(image: np.ndarray, quality: int) -> bytes:
        from PIL import Image
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, "JPEG", quality=quality)
        return buffer.getvalue()


def _pillow_version() -> str:
    import PIL
    return PIL.__version__


CODECS = {"opencv": OpenCVCodec, "pillow": PillowCodec}
BACKENDS = ("ray", "serial")


@dataclass(frozen=True)
class ShardPlan:
    shard: int
    first_video: int
    video_tracks: list[int]   # the first track of each video, then the end track
    visible: int              # object-frames with a box, the work of this shard


def plan_shards(index: index_stage.DatasetIndex, shard_frames: int) -> list[ShardPlan]:
    """Consecutive whole videos per shard, closing a shard once it holds `shard_frames` object-frames."""
    track_video = np.array([t[0] for t in index.tracks], np.int64)
    video_first_track = np.searchsorted(track_video, np.arange(len(index.videos) + 1)).tolist()
    visible = np.concatenate([[0], np.cumsum(index.frames["visible"], dtype=np.int64)])
    video_frames = np.diff(index.track_start[video_first_track])
    plans, first, count = [], 0, 0
    for video, n in enumerate(video_frames):
        count += int(n)
        if count >= shard_frames or video == len(index.videos) - 1:
            rows = index.track_start[[video_first_track[first], video_first_track[video + 1]]]
            plans.append(ShardPlan(len(plans), first, video_first_track[first:video + 2],
                                   int(visible[rows[1]] - visible[rows[0]])))
            first, count = video + 1, 0
    return plans


def _box_problem(box: np.ndarray, width: int, height: int) -> tuple[str, str] | None:
    x, y, w, h = (float(v) for v in box)
    if not (np.isfinite(box).all() and w > 0 and h > 0):
        return "box_nonpositive", f"box {[x, y, w, h]}"
    if x >= width or y >= height or x + w <= 0 or y + h <= 0:
        return "box_outside_image", f"box {[x, y, w, h]} in a {width}x{height} image"
    return None


def _curate_video(job: dict, index, codec, rows: np.ndarray, out: dict) -> list[tuple[bytes, bytes]]:
    """The shard items of one video's rows, decoding each image once; counts go into `out`."""
    items, curated = [], {}
    visible = rows[rows["visible"] == 1]
    visible = visible[np.argsort(visible["image"], kind="stable")]
    image_starts = np.flatnonzero(np.diff(visible["image"])) + 1
    for group in np.split(visible, image_starts) if len(visible) else []:
        image_id = int(group[0]["image"])
        path = Path(job["root"]) / index.images[image_id]
        try:
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                raise SkipImage("image_missing") from None
            except OSError as err:
                raise SkipImage("image_unreadable", str(err)) from None
            image = codec.decode(data)
            width, height = (int(v) for v in group[0]["image_size"])
            if image.shape[:2] != (height, width):
                raise SkipImage("image_changed", f"{image.shape[1]}x{image.shape[0]}, indexed as {width}x{height}")
        except SkipImage as skip:
            out["skipped"] += [[skip.reason, str(path), skip.detail]] * len(group)
            continue
        for row in group:
            track, frame, box = int(row["track"]), int(row["frame"]), row["box"].astype(np.float64)
            problem = _box_problem(box, width, height)
            if problem:
                out["skipped"].append([problem[0], str(path), problem[1]])
                continue
            size = job["search_size"]
            (cx, cy), side = search_region(box, size)
            crop_box = box_in_crop(box, (cx, cy), side, size)
            exemplar_side = side * EXEMPLAR_SIZE / size
            out["side_histogram"][int(np.searchsorted(SIDE_EDGES, exemplar_side, side="right")) - 1] += 1
            out["padded"] += bool(min(cx, cy) < side / 2 or cx + side / 2 > width or cy + side / 2 > height)
            polygons = index.mask_polygons(row) if row["polygon"][1] > row["polygon"][0] else []
            meta = {"visible": True, "box": [round(v, 3) for v in crop_box],
                    "image_box": [round(float(v), 3) for v in box],
                    "image_size": [width, height], "image": index.images[image_id], "frame": frame,
                    "video": index.videos[index.tracks[track][0]],
                    "category": index.categories[index.tracks[track][2]], "mask": bool(polygons)}
            items.append((frame_key(track, frame, "jpg"),
                          codec.encode(crop(image, (cx, cy), side, size), job["jpeg_quality"])))
            if polygons:
                out["masks"] += 1
                png = cv2.imencode(".png", polygon_mask(polygons, (cx, cy), side, size))[1].tobytes()
                items.append((frame_key(track, frame, "mask"), png))
            items.append((frame_key(track, frame, "meta"), json.dumps(meta, separators=(",", ":")).encode()))
            curated.setdefault(track, []).append(frame)
    for row in rows[rows["visible"] == 0]:  # absent: no crop, but the track keeps a record of the gap
        track = int(row["track"])
        meta = {"visible": False, "frame": int(row["frame"]), "video": index.videos[index.tracks[track][0]],
                "category": index.categories[index.tracks[track][2]]}
        items.append((frame_key(track, int(row["frame"]), "meta"), json.dumps(meta, separators=(",", ":")).encode()))
    for track in np.unique(rows["track"]):
        frames = sorted(curated.get(int(track), []))
        items.append((track_key(int(track)), json.dumps(frames).encode()))
        out["track_crops"][str(int(track))] = len(frames)
    out["crops"] += sum(len(f) for f in curated.values())
    return sorted(items)


def curate_shard(job: dict, progress=lambda n: None) -> dict:
    """Write one shard (runs in a Ray task or in-process) and return its record."""
    out = Path(job["out"])
    final = out / shard_name(job["shard"])
    partial = final.with_name(final.name + ".partial")
    partial.unlink(missing_ok=True)
    index = index_stage.load(job["index_dir"], job["dataset"])
    codec = CODECS[job["image_backend"]]
    record = {"shard": job["shard"], "file": final.name, "fingerprint": job["fingerprint"],
              "videos": [job["first_video"], job["first_video"] + len(job["video_tracks"]) - 1],
              "tracks": [job["video_tracks"][0], job["video_tracks"][-1]],
              "crops": 0, "masks": 0, "padded": 0, "side_histogram": [0] * (len(SIDE_EDGES) - 1), "track_crops": {},
              "skipped": []}
    writer = None
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)  # one shard per CPU: OpenCV's own threads would only contend with the other shards
    try:
        writer = ShardWriter(partial)
        bounds = job["video_tracks"]  # the first track of each of the shard's videos, then the end track
        for first, end in zip(bounds[:-1], bounds[1:]):
            rows = index.frames[index.track_start[first]:index.track_start[end]]
            writer.write(_curate_video(job, index, codec, rows, record))
            progress(int(rows["visible"].sum()))
        writer.close()
        writer = None
        os.replace(partial, final)
    except Exception as err:
        if writer is not None:
            writer.env.close()
        partial.unlink(missing_ok=True)
        free = shutil.disk_usage(out).free / 2 ** 20  # LMDB says EIO when the disk is full: this tells them apart
        raise ShardFailed(f"{final}: {type(err).__name__}: {err} ({free:.1f} MiB free on its file system)") from err
    finally:
        cv2.setNumThreads(threads)
    record["sha256"], record["bytes"] = file_sha256(final), final.stat().st_size
    return record


class ShardFailed(Exception):
    """A shard could not be written; the message names it."""


def _check(params: CurateParams) -> None:
    problems = {
        "backend": params.backend not in BACKENDS and f"must be one of {', '.join(BACKENDS)}",
        "image_backend": params.image_backend not in CODECS and f"must be one of {', '.join(CODECS)}",
        "search_size": params.search_size < EXEMPLAR_SIZE and f"must be at least the exemplar size {EXEMPLAR_SIZE}",
        "jpeg_quality": not 1 <= params.jpeg_quality <= 100 and "must be in 1..100",
        "shard_frames": params.shard_frames < 1 and "must be positive",
        "workers": params.workers < 1 and "must be positive",
        "preview_crops": params.preview_crops < 0 and "must not be negative",
    }
    for key, problem in problems.items():
        if problem:
            raise cli.UserError(f"curate.{key}: {getattr(params, key)!r} {problem}")


def _fingerprint_basis(name: str, spec: DatasetSpec, index_dir: Path, params: CurateParams) -> dict:
    """Everything a shard's bytes depend on, besides its place in the plan."""
    codec = CODECS[params.image_backend]
    # The code that makes the bytes: a change to it must not let a rerun keep shards made by the old code.
    code = {Path(path).name: file_sha256(path) for path in (geometry.__file__, shards.__file__, __file__)}
    return {"format_version": FORMAT_VERSION, "code": code, "dataset": name,
            "index": {f: file_sha256(index_dir / f"{name}.{f}") for f in INDEX_FILES},
            "search_size": params.search_size, "jpeg_quality": params.jpeg_quality,
            "image_backend": [codec.name, getattr(codec, "version", None) or _pillow_version()]}


def _jobs(name, spec, index_dir, out, plans, params) -> list[dict]:
    basis = _fingerprint_basis(name, spec, index_dir, params)
    jobs = []
    for plan in plans:
        job = {"dataset": name, "shard": plan.shard, "first_video": plan.first_video,
               "video_tracks": plan.video_tracks, "search_size": params.search_size,
               "jpeg_quality": params.jpeg_quality, "image_backend": params.image_backend}
        job["fingerprint"] = json_digest({**basis, **job})
        # Absolute paths: a Ray worker may start elsewhere. They are not part of the fingerprint.
        job |= {"root": str(Path(spec.root).resolve()), "index_dir": str(index_dir.resolve()),
                "out": str(out.resolve()), "visible": plan.visible}
        jobs.append(job)
    return jobs


def _record_path(out: Path, shard: int) -> Path:
    return out / shard_name(shard).replace(".lmdb", ".json")


def _reusable(out: Path, job: dict) -> dict | None:
    """The record of a finished shard if it matches the job's fingerprint and its file's checksum."""
    try:
        record = json.loads(_record_path(out, job["shard"]).read_text())
        if record["fingerprint"] == job["fingerprint"] and file_sha256(out / record["file"]) == record["sha256"]:
            return record
    except (FileNotFoundError, json.JSONDecodeError, KeyError, TypeError):
        pass
    return None


def _remove_strays(out: Path, jobs: list[dict]) -> None:
    """Remove temporary files and shards of an earlier, larger plan; a complete run leaves only its own."""
    expected = {shard_name(j["shard"]) for j in jobs} | {_record_path(out, j["shard"]).name for j in jobs}
    for path in out.iterdir():
        ours = path.name.startswith("shard-") or path.name.startswith(f".{MANIFEST}")
        if ours and path.name not in expected:
            path.unlink()


def _run_serial(jobs, params, bar, on_record):
    for job in jobs:
        on_record(curate_shard(job, bar.update))


class _Progress:
    """Object-frames done, reported by the shard tasks and polled by the driver."""

    def __init__(self):
        self.done = 0

    def add(self, n: int) -> None:
        self.done += n

    def take(self) -> int:
        done, self.done = self.done, 0
        return done


def _shard_task(job: dict, progress) -> dict:
    return curate_shard(job, lambda n: progress.add.remote(n))


def _run_ray(jobs, params, bar, on_record):
    import ray
    if params.ray_address:
        # Joining a cluster: ship this project's code; data paths must be the same on every node.
        import models
        import pipeline
        ray.init(address=params.ray_address, runtime_env={"py_modules": [pipeline, models]})
    else:
        ray.init(num_cpus=params.workers, include_dashboard=False, object_store_memory=100 << 20)
    try:
        progress = ray.remote(num_cpus=0)(_Progress).remote()
        task = ray.remote(num_cpus=1, max_retries=0)(_shard_task)
        pending = {task.remote(job, progress): job for job in jobs}
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=0.5)
            bar.update(ray.get(progress.take.remote()))
            for ref in ready:
                pending.pop(ref)
                try:
                    on_record(ray.get(ref))
                except ray.exceptions.RayTaskError as err:
                    raise err.cause if isinstance(err.cause, ShardFailed) else ShardFailed(str(err)) from None
    finally:
        ray.shutdown()


def _manifest(name: str, index, records: list[dict]) -> dict:
    track_crops = {int(t): n for r in records for t, n in r["track_crops"].items()}
    track_shard = {t: r["shard"] for r in records for t in range(*r["tracks"])}
    tracks = [[video, category, track_shard[t], track_crops[t]] for t, (video, _, category) in enumerate(index.tracks)]
    bounds = np.searchsorted([t[0] for t in index.tracks], np.arange(len(index.videos) + 1)).tolist()
    videos = [[v, bounds[i], bounds[i + 1], sum(track_crops[t] for t in range(bounds[i], bounds[i + 1]))]
              for i, v in enumerate(index.videos)]
    # The code that makes the bytes: a change to it must not let a rerun keep shards made by the old code.
    code = {Path(path).name: file_sha256(path) for path in (geometry.__file__, shards.__file__, __file__)}
    return {"format_version": FORMAT_VERSION, "code": code, "dataset": name, "categories": index.categories,
            "shards": [{k: r[k] for k in ("file", "sha256", "bytes", "crops", "tracks")} for r in records],
            "videos": videos, "tracks": tracks}


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


def run(name: str, spec: DatasetSpec, index_params: IndexParams, params: CurateParams,
        mlflow_params: MlflowParams | None = None) -> dict:
    _check(params)
    index_dir = Path(index_params.out)
    index = index_stage.load(index_dir, name)
    out = Path(params.out) / name
    out.mkdir(parents=True, exist_ok=True)
    jobs = _jobs(name, spec, index_dir, out, plan_shards(index, params.shard_frames), params)
    records = {}
    for job in jobs:
        if record := _reusable(out, job):
            records[job["shard"]] = record
    todo = [j for j in jobs if j["shard"] not in records]
    if todo:
        (out / MANIFEST).unlink(missing_ok=True)  # present only when every shard is complete
    _remove_strays(out, jobs)

    def finished(record):
        write_atomic(_record_path(out, record["shard"]), json.dumps(record).encode())
        records[record["shard"]] = record

    started = time.perf_counter()
    if todo:
        with tqdm(total=sum(j["visible"] for j in todo), desc=f"curate {name}", unit="crop", mininterval=1,
                  smoothing=0.1) as bar:
            try:
                (_run_ray if params.backend == "ray" else _run_serial)(todo, params, bar, finished)
            except ShardFailed as err:
                for path in out.glob("*.partial"):
                    path.unlink()
                raise cli.UserError(f"curate {name}: {err} (rerun to resume)") from None
    seconds = time.perf_counter() - started
    ordered = [records[j["shard"]] for j in jobs]
    write_atomic(out / MANIFEST, json.dumps(_manifest(name, index, ordered), separators=(",", ":")).encode())
    stats = _stats(name, index, ordered)
    metrics = Path(params.metrics)
    write_atomic(metrics / f"{name}.json", (json.dumps(stats, indent=2) + "\n").encode())
    preview(out, params.preview_crops, metrics / f"{name}.png")
    _report(stats, ordered, len(jobs) - len(todo), seconds)
    if mlflow_params is not None:
        experiment.log_stage(mlflow_params, f"curate-{name}", {"dataset": name, **vars(params)}, stats,
                             [metrics / f"{name}.json", metrics / f"{name}.png", out / MANIFEST], {"dataset": name})
    return stats


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
        raise cli.UserError(f"{metrics_dir}: no curation statistics yet (run: dvc repro)")
    rows = [json.loads(f.read_text()) for f in files]
    columns = ["shards", "videos", "tracks", "crops", "masks", "absent", "padded"]
    return cli.markdown_table(["dataset", *columns, "skipped", "MB"], [
        [row["dataset"], *(row[c] for c in columns), sum(row["skipped"].values()), f"{row['bytes'] / 1e6:.1f}"]
        for row in rows])


def main() -> None:
    args, params = cli.dataset_stage_args("pipeline.curate", "Crop every object-frame of an indexed dataset into "
                                          "LMDB shards (data/shards/NAME), resumably, on Ray.", "curated")
    if args.summary:
        print(summary_table(params.curate.metrics))
    else:
        run(args.dataset, params.datasets[args.dataset], params.index, params.curate, params.mlflow)


if __name__ == "__main__":
    cli.run(main, "curate")
