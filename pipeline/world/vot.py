"""VOT: <sequence>/color/00000001.jpg, groundtruth.txt of 8-value polygons, and list.txt."""
from __future__ import annotations

from pipeline.world.sequence import class_numbered_name, one_based, render_sequence, write_list
from pipeline.world.writer import World

BENCHMARK = "synth-vot"


def write_sequence(world: World, rng, index: int) -> str:
    seq = render_sequence(world, rng)
    name = class_numbered_name(seq.target.category, index)
    folder = f"benchmarks/{BENCHMARK}/{name}"
    world.write_frames(f"{folder}/color/{{:08d}}.jpg", seq.frames)
    polygons = []
    for box in seq.boxes:  # VOT's 8-value polygon: the box's corners, clockwise from the top-left
        x, y, w, h = one_based(box)
        polygons.append(",".join(f"{v:g}" for v in (x, y, x + w, y, x + w, y + h, x, y + h)))
    world.write_lines(f"{folder}/groundtruth.txt", polygons)
    return name


def write_sequence_list(world: World, names):
    write_list(world, f"benchmarks/{BENCHMARK}/list.txt", names)
