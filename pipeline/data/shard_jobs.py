"""The bookkeeping around the shard tasks: each task's fingerprint, the records that let a rerun keep the
shards that are done, and the manifest that the reader (shards.py) opens.

A rerun keeps every shard whose record matches its fingerprint and checksum and redoes the rest, so a
killed run resumes and a finished one costs a checksum pass; manifest.json is written last.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from models import geometry
from pipeline.common.files import file_sha256, json_digest
from pipeline.config.schema import CurateParams, DatasetSpec
from pipeline.data import codecs, curation, shards
from pipeline.data.shards import MANIFEST, shard_name

FORMAT_VERSION = 1
INDEX_FILES = ("json", "images.txt", "frames.npy", "polygons.npy")


def code_digests() -> dict:
    """The code that makes the bytes: a change to it must not let a rerun keep shards made by the old code."""
    return {Path(path).name: file_sha256(path) for path in (geometry.__file__, shards.__file__, curation.__file__,
                                                             codecs.__file__)}


def _fingerprint_basis(name: str, index_dir: Path, params: CurateParams) -> dict:
    """Everything a shard's bytes depend on, besides its place in the plan."""
    codec = codecs.CODECS[params.image_backend]
    return {"format_version": FORMAT_VERSION, "code": code_digests(), "dataset": name,
            "index": {f: file_sha256(index_dir / f"{name}.{f}") for f in INDEX_FILES},
            "search_size": params.search_size, "jpeg_quality": params.jpeg_quality,
            "image_backend": [codec.name, getattr(codec, "version", None) or codecs.pillow_version()]}


def make_jobs(name: str, spec: DatasetSpec, index_dir: Path, out: Path, plans: list, params: CurateParams) -> list[dict]:
    basis = _fingerprint_basis(name, index_dir, params)
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


def record_path(out: Path, shard: int) -> Path:
    return out / shard_name(shard).replace(".lmdb", ".json")


def reusable(out: Path, job: dict) -> dict | None:
    """The record of a finished shard if it matches the job's fingerprint and its file's checksum."""
    try:
        record = json.loads(record_path(out, job["shard"]).read_text())
        if record["fingerprint"] == job["fingerprint"] and file_sha256(out / record["file"]) == record["sha256"]:
            return record
    except (FileNotFoundError, json.JSONDecodeError, KeyError, TypeError):
        pass
    return None


def remove_strays(out: Path, jobs: list[dict]) -> None:
    """Remove temporary files and shards of an earlier, larger plan; a complete run leaves only its own."""
    expected = {shard_name(j["shard"]) for j in jobs} | {record_path(out, j["shard"]).name for j in jobs}
    for path in out.iterdir():
        ours = path.name.startswith("shard-") or path.name.startswith(f".{MANIFEST}")
        if ours and path.name not in expected:
            path.unlink()


def manifest(name: str, index, records: list[dict]) -> dict:
    track_crops = {int(t): n for r in records for t, n in r["track_crops"].items()}
    track_shard = {t: r["shard"] for r in records for t in range(*r["tracks"])}
    tracks = [[video, category, track_shard[t], track_crops[t]] for t, (video, _, category) in enumerate(index.tracks)]
    bounds = np.searchsorted([t[0] for t in index.tracks], np.arange(len(index.videos) + 1)).tolist()
    videos = [[v, bounds[i], bounds[i + 1], sum(track_crops[t] for t in range(bounds[i], bounds[i + 1]))]
              for i, v in enumerate(index.videos)]
    return {"format_version": FORMAT_VERSION, "code": code_digests(), "dataset": name, "categories": index.categories,
            "shards": [{k: r[k] for k in ("file", "sha256", "bytes", "crops", "tracks")} for r in records],
            "videos": videos, "tracks": tracks}
