"""LMDB shards of crops: the writer that curation uses and the reader that training uses.

A curated dataset is a folder data/shards/<dataset>/ of single-file LMDB environments shard-NNNNN.lmdb and
a manifest.json (see pipeline/curate.py). Inside a shard, keys are ASCII, zero-padded and sorted:

    <track>/<frame>/jpg     the search-size crop, JPEG bytes
    <track>/<frame>/mask    the cropped mask, PNG bytes (datasets with masks only)
    <track>/<frame>/meta    JSON: visible, box in the crop and in the image, image size, category, video,
                            frame (absent frames have a meta with visible false and nothing else)
    <track>/frames          JSON list of the track's curated (visible) frame numbers, ascending

with <track> and <frame> zero-padded to 10 digits (the range of the index's int32 columns). No pickle.

Environments are opened read-only with lock=False (no lock.mdb appears, so DVC sees an unchanged output
after reading), lazily and once per path per process: py-lmdb refuses to open one environment twice in a
process, and a forked child (a DataLoader worker) must not reuse its parent's handle: it closes its copy
and opens its own.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import lmdb
import numpy as np

KEY_DIGITS = 10
MANIFEST = "manifest.json"


def frame_key(track: int, frame: int, kind: str) -> bytes:
    return f"{track:0{KEY_DIGITS}d}/{frame:0{KEY_DIGITS}d}/{kind}".encode()


def track_key(track: int) -> bytes:
    return f"{track:0{KEY_DIGITS}d}/frames".encode()


def shard_name(shard: int) -> str:
    return f"shard-{shard:05d}.lmdb"


class ShardWriter:
    """Writes one shard: batches of (key, value) in ascending key order, each batch one transaction.

    No writemap (a sparse file would blow up in DVC's cache) and no lock file. The map starts small and
    doubles when a batch does not fit (MapFullError aborts the transaction; the batch is then redone), so
    the file grows with its data and the same batches always give the same bytes.
    """

    def __init__(self, path: str | Path, map_size: int = 1 << 26):
        self.path = Path(path)
        self.env = lmdb.open(str(self.path), subdir=False, lock=False, map_size=map_size, sync=False,
                             metasync=False, readahead=False, meminit=True, max_dbs=0)

    def write(self, items: list[tuple[bytes, bytes]]) -> None:
        while True:
            try:
                with self.env.begin(write=True) as txn, txn.cursor() as cursor:
                    added = cursor.putmulti(items, append=True)[1]
                if added != len(items):
                    raise ValueError(f"{self.path}: keys not in ascending order or repeated")
                return
            except lmdb.MapFullError:
                self.env.set_mapsize(self.env.info()["map_size"] * 2)

    def close(self) -> None:
        self.env.sync(True)
        self.env.close()


_ENVS: dict[str, tuple[int, lmdb.Environment]] = {}


def open_env(path: str | Path) -> lmdb.Environment:
    """The read-only environment of `path` for this process (opened on first use, reopened after fork)."""
    key = str(path)
    pid, env = _ENVS.get(key, (None, None))
    if pid != os.getpid():
        if env is not None:  # the parent's handle, inherited by fork: py-lmdb opens a path once per process
            env.close()
        env = lmdb.open(key, subdir=False, readonly=True, lock=False, readahead=False, max_readers=2048)
        _ENVS[key] = (os.getpid(), env)
    return env


@dataclass(frozen=True)
class Subset:
    """The videos of a dataset fraction, with the counts of SiamFC's Table 3 (videos, objects)."""
    fraction: float
    videos: list[str]
    tracks: list[int]
    object_frames: int


class Shards:
    """Read access to a curated dataset: frames per track, crops and their metadata."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        path = self.directory / MANIFEST
        try:
            self.manifest = json.loads(path.read_text())
        except FileNotFoundError:
            raise FileNotFoundError(f"{path}: no manifest (run: python -m pipeline.curate)") from None
        self.videos = self.manifest["videos"]    # [name, first track, end track, object-frames]
        self.tracks = self.manifest["tracks"]    # [video, category, shard, object-frames]
        self.categories = self.manifest["categories"]

    def __len__(self) -> int:
        return len(self.tracks)

    def _get(self, track: int, key: bytes) -> bytes:
        shard = self.tracks[track][2]
        with open_env(self.directory / shard_name(shard)).begin(buffers=False) as txn:
            value = txn.get(key)
        if value is None:
            raise KeyError(f"{self.directory / shard_name(shard)}: no key {key.decode()}")
        return value

    def frames(self, track: int) -> list[int]:
        """The curated frame numbers of a track, ascending."""
        return json.loads(self._get(track, track_key(track)))

    def meta(self, track: int, frame: int) -> dict:
        return json.loads(self._get(track, frame_key(track, frame, "meta")))

    def crop_bytes(self, track: int, frame: int) -> bytes:
        return self._get(track, frame_key(track, frame, "jpg"))

    def crop(self, track: int, frame: int) -> np.ndarray:
        """The search-size crop as a BGR image."""
        return cv2.imdecode(np.frombuffer(self.crop_bytes(track, frame), np.uint8), cv2.IMREAD_COLOR)

    def mask(self, track: int, frame: int) -> np.ndarray:
        """The object's mask in the crop, uint8 0 or 255 (when meta()['mask'] is true)."""
        return cv2.imdecode(np.frombuffer(self._get(track, frame_key(track, frame, "mask")), np.uint8),
                            cv2.IMREAD_UNCHANGED)

    def subset(self, fraction: float) -> Subset:
        return subset(self.manifest, fraction)


def video_rank(names: list[str]) -> list[int]:
    """Video ids ordered by a stable hash of their names: any prefix is a uniform random subset."""
    return sorted(range(len(names)), key=lambda i: (hashlib.sha256(names[i].encode()).digest(), names[i]))


def subset(manifest: dict, fraction: float) -> Subset:
    """The first round(fraction * videos) videos (at least one) in hash order: every fraction's subset
    contains the subsets of the smaller fractions (2 % in 4 % in ... in 100 %), as in SiamFC's Table 3."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    videos = manifest["videos"]
    chosen = sorted(video_rank([v[0] for v in videos])[:max(1, round(fraction * len(videos)))])
    tracks = [t for v in chosen for t in range(videos[v][1], videos[v][2])]
    return Subset(fraction, [videos[v][0] for v in chosen], tracks, sum(videos[v][3] for v in chosen))
