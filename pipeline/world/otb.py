"""OTB: <sequence>/img/0001.jpg and groundtruth_rect.txt. OTB has no list file: its folders are the list."""
from __future__ import annotations

from pipeline.world.sequence import class_numbered_name, render_sequence
from pipeline.world.writer import World

BENCHMARK = "synth-otb"


def write_sequence(world: World, rng, index: int) -> str:
    seq = render_sequence(world, rng)
    name = class_numbered_name(seq.target.category, index)
    folder = f"benchmarks/{BENCHMARK}/{name}"
    world.write_frames(f"{folder}/img/{{:04d}}.jpg", seq.frames)
    world.write_lines(f"{folder}/groundtruth_rect.txt", seq.groundtruth)
    return name
