"""The synthetic world: a renderer and one writer per raw format, registered here by name.

A format writes its items (videos, images or sequences) one at a time, each from its own random
generator, then the files that list the whole dataset. Adding a format is one module and one register()
call below.
"""
from __future__ import annotations

import shutil
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
from tqdm import tqdm

from pipeline.config.schema import SynthParams
from pipeline.world import coco, davis, got10k, imagenet, lasot, otb, vot, youtube_bb, youtube_vos
from pipeline.world.render import CATEGORIES, render_clip
from pipeline.world.writer import World

__all__ = ["CATEGORIES", "FORMATS", "Format", "register", "render_clip", "run"]


@dataclass(frozen=True)
class Format:
    """One dataset of the world."""
    stream: int                                                    # the dataset's part of every item's seed
    count: Callable[[SynthParams], int]                            # how many items the params ask for
    write_item: Callable[[World, np.random.Generator, int], Any]   # writes item i, returns what the index needs
    write_index: Callable[[World, list], None] | None              # the whole-dataset files, from those returns


FORMATS: dict[str, Format] = {}


def register(name: str, stream: int, count: Callable[[SynthParams], int],
             write_item: Callable[[World, np.random.Generator, int], Any],
             write_index: Callable[[World, list], None] | None = None) -> None:
    """Add a format; formats are written in the order they are registered."""
    if name in FORMATS or any(f.stream == stream for f in FORMATS.values()):
        raise ValueError(f"world format {name!r} or its stream {stream} is registered twice")
    FORMATS[name] = Format(stream, count, write_item, write_index)


# A stream is part of every seed of its dataset: changing it changes every byte the dataset writes.
register("vid-train", 1, lambda p: p.vid_train_videos, imagenet.write_train_snippet, imagenet.write_train_lists)
register("vid-val", 2, lambda p: p.vid_val_videos, imagenet.write_val_snippet, imagenet.write_val_list)
register("det", 3, lambda p: p.det_images, imagenet.write_det_image, imagenet.write_det_list)
register("coco", 4, lambda p: p.coco_images, coco.write_image, coco.write_instances)
register("ytbb", 5, lambda p: p.ytbb_videos, youtube_bb.write_video, youtube_bb.write_csv)
register("ytvos", 6, lambda p: p.ytvos_videos, youtube_vos.write_video, youtube_vos.write_meta)
register(otb.BENCHMARK, 11, lambda p: p.otb_sequences, otb.write_sequence)  # no list file: its folders are the list
register(vot.BENCHMARK, 12, lambda p: p.vot_sequences, vot.write_sequence, vot.write_sequence_list)
register(got10k.BENCHMARK, 13, lambda p: p.got10k_sequences, got10k.write_sequence, got10k.write_sequence_list)
register(lasot.BENCHMARK, 14, lambda p: p.lasot_sequences, lasot.write_sequence, lasot.write_sequence_list)
register(davis.BENCHMARK, 15, lambda p: p.davis_sequences, davis.write_sequence, davis.write_sequence_list)


def _write_item(world: World, job: tuple[str, int]):
    """Item `index` of format `name`, from its own generator; runs in a worker process."""
    name, index = job
    fmt = FORMATS[name]
    return fmt.write_item(world, world.rng(fmt.stream, index), index)


def run(p: SynthParams, out: str | Path | None = None) -> Path:
    """Write the world into `out` (default p.out) atomically: built beside it, then renamed into place."""
    out = Path(out or p.out)
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    world = World(str(partial), p)
    jobs = [(name, i) for name, fmt in FORMATS.items() for i in range(fmt.count(p))]
    results = {name: [] for name in FORMATS}
    with ProcessPoolExecutor(max_workers=max(p.workers, 1)) as pool:
        # map() yields in submission order, so the aggregated files do not depend on the worker count.
        outputs = pool.map(_write_item, [world] * len(jobs), jobs, chunksize=4)
        for (name, _), result in tqdm(zip(jobs, outputs), total=len(jobs), desc="synth", unit="video"):
            results[name].append(result)
    for name, fmt in FORMATS.items():
        if fmt.write_index:
            fmt.write_index(world, results[name])
    if out.exists():
        shutil.rmtree(out)
    partial.rename(out)
    return out
