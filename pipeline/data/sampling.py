"""Training pairs drawn from the curated shards: a pure function of (seed, epoch, index).

Each pair's random generator is seeded with (seed, epoch, index), so the pair (and its augmentation, drawn
from the same generator) is the same whatever the number of loader workers or ranks; ranks and workers only
decide who computes which index.

A pair: a dataset chosen with probability proportional to its weight, a track of the chosen fraction of its
videos, a template frame, and a search frame at most `frame_range` frame numbers away (SiamFC section 2.4;
pysot's defaults: VID 100, YouTube-BB 3, DET and COCO 1, a single frame). With probability `negative` the
search comes from another object: with probability `semantic_negative` of the same category in the same
dataset (DaSiamRPN section 3.1, semantic negative pairs), else from any dataset. `gray` is the share of pairs
turned gray (DaSiamRPN section 3.1).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.common.files import file_sha256
from pipeline.data.shards import MANIFEST, Shards


class SamplingError(ValueError):
    """The curated data cannot feed training; the message names the dataset or file and the problem."""


@dataclass(frozen=True)
class FrameRef:
    dataset: int
    track: int
    frame: int


@dataclass(frozen=True)
class Pair:
    template: FrameRef
    search: FrameRef
    negative: bool
    gray: bool


@dataclass
class Source:
    """One curated dataset as training sees it: its usable tracks at the fraction, grouped by category."""
    name: str
    shards: Shards
    weight: float
    frame_range: int
    tracks: np.ndarray
    by_category: dict[int, np.ndarray]
    has_masks: bool
    videos: int  # at the fraction


def open_source(name: str, directory: str | Path, weight: float, frame_range: int, fraction: float,
                verify: bool = True) -> Source:
    """A dataset's shards, checked before training starts: the manifest, every shard file present with its
    recorded size (and, with `verify`, its sha256), and at least one track with a curated frame among the fraction's videos."""
    directory = Path(directory)
    if not (directory / MANIFEST).exists():
        raise SamplingError(f"{directory / MANIFEST}: dataset {name} is not curated (python -m pipeline.curate "
                            f"--dataset {name})")
    shards = Shards(directory)
    for shard in shards.manifest["shards"]:
        path = directory / shard["file"]
        if not path.exists():
            raise SamplingError(f"{path}: shard missing (re-run python -m pipeline.curate --dataset {name})")
        if path.stat().st_size != shard["bytes"] or (verify and file_sha256(path) != shard["sha256"]):
            raise SamplingError(f"{path}: shard corrupt, not the bytes its manifest records (re-run python -m "
                                f"pipeline.curate --dataset {name})")
    try:
        subset = shards.subset(fraction)
    except ValueError as err:
        raise SamplingError(f"train.fraction: {err}") from None
    tracks = np.array([t for t in subset.tracks if shards.tracks[t][3] > 0], np.int64)
    if len(tracks) == 0:
        raise SamplingError(f"{directory}: dataset {name} has no track with a curated frame among its "
                            f"{len(subset.videos)} videos at fraction {fraction}")
    categories = np.array([shards.tracks[t][1] for t in tracks])
    by_category = {int(c): tracks[categories == c] for c in np.unique(categories)}
    first = shards.frames(int(tracks[0]))[0]
    return Source(name, shards, weight, frame_range, tracks, by_category,
                  bool(shards.meta(int(tracks[0]), first).get("mask")), len(subset.videos))


class PairSampler:
    def __init__(self, sources: list[Source], seed: int, negative: float, semantic_negative: float, gray: float):
        self.sources, self.seed = sources, seed
        self.negative, self.semantic_negative, self.gray = negative, semantic_negative, gray
        weights = np.array([s.weight for s in sources], float)
        if not len(sources) or weights.sum() <= 0 or (weights < 0).any():
            raise SamplingError("training needs at least one dataset with a positive weight")
        self.probabilities = weights / weights.sum()

    def rng(self, epoch: int, index: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, epoch, index])

    def pair(self, rng: np.random.Generator) -> Pair:
        dataset = int(rng.choice(len(self.sources), p=self.probabilities))
        source = self.sources[dataset]
        track = int(rng.choice(source.tracks))
        frames = self._frames(dataset, track)
        template = int(rng.choice(frames))
        negative = bool(rng.random() < self.negative)
        search = self._negative(dataset, track, rng) if negative else None
        negative = search is not None
        if not negative:
            near = frames[np.abs(frames - template) <= source.frame_range]
            search = FrameRef(dataset, track, int(rng.choice(near)))
        return Pair(FrameRef(dataset, track, template), search, negative, bool(rng.random() < self.gray))

    def _negative(self, dataset: int, track: int, rng: np.random.Generator) -> FrameRef | None:
        """Another object's frame, or None when there is no other object (the pair stays positive)."""
        source = self.sources[dataset]
        same = source.by_category[source.shards.tracks[track][1]]
        same = same[same != track]
        if len(same) and rng.random() < self.semantic_negative:
            other_dataset, others = dataset, same
        else:
            other_dataset = int(rng.choice(len(self.sources), p=self.probabilities))
            others = self.sources[other_dataset].tracks
            others = others[others != track] if other_dataset == dataset else others
        if not len(others):
            return None
        other = int(rng.choice(others))
        return FrameRef(other_dataset, other, int(rng.choice(self._frames(other_dataset, other))))

    @functools.lru_cache(maxsize=65536)
    def _frames(self, dataset: int, track: int) -> np.ndarray:
        return np.array(self.sources[dataset].shards.frames(track))

    def read(self, ref: FrameRef) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(511 crop BGR, box [x, y, w, h] in it, mask uint8 or None) of a frame."""
        shards = self.sources[ref.dataset].shards
        meta = shards.meta(ref.track, ref.frame)
        mask = shards.mask(ref.track, ref.frame) if meta.get("mask") else None
        return shards.crop(ref.track, ref.frame), np.array(meta["box"], float), mask
