"""LaSOT: <class>/<class>-<n>/img/00000001.jpg, groundtruth.txt, full_occlusion.txt, out_of_view.txt,
nlp.txt, and testing_set.txt. The only benchmark whose targets leave the view."""
from __future__ import annotations

from pipeline.world.sequence import render_sequence, write_list
from pipeline.world.writer import World

BENCHMARK = "synth-lasot"


def write_sequence(world: World, rng, index: int) -> str:
    seq = render_sequence(world, rng, target_leaves_view=True)
    cls = seq.target.category.name
    name = f"{cls}-{index + 1}"
    folder = f"benchmarks/{BENCHMARK}/{cls}/{name}"
    world.write_frames(f"{folder}/img/{{:08d}}.jpg", seq.frames)
    world.write_lines(f"{folder}/groundtruth.txt", seq.groundtruth)
    occluded = (seq.target.visible < 0.05) & seq.target.in_view
    world.write_text(f"{folder}/full_occlusion.txt", ",".join(str(int(v)) for v in occluded) + "\n")
    world.write_text(f"{folder}/out_of_view.txt", ",".join(str(int(b is None)) for b in seq.boxes) + "\n")
    world.write_text(f"{folder}/nlp.txt", f"the {cls} moving around\n")
    return name


def write_sequence_list(world: World, names):
    write_list(world, f"benchmarks/{BENCHMARK}/testing_set.txt", names)
