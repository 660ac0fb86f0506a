"""What the benchmark formats share: a sequence with a single annotated target (plus unannotated
distractors), its boxes in the benchmarks' 1-based x,y,w,h, and the list file of a benchmark's sequences."""
from __future__ import annotations

from dataclasses import dataclass

from pipeline.world.render import Category, Track, clip_categories, render_clip
from pipeline.world.writer import World


@dataclass(frozen=True)
class Sequence:
    """A rendered benchmark sequence, before a format writes it."""
    frames: list
    target: Track
    boxes: list             # the target's box per frame, clipped to the image; None where it is out of view
    groundtruth: list       # per frame "x,y,w,h", 1-based; 0,0,0,0 where the target is out of view


def one_based(box):
    x, y, w, h = box
    return x + 1, y + 1, w, h


def render_sequence(world: World, rng, *, target_leaves_view=False) -> Sequence:
    """One benchmark sequence: a single annotated target (plus unannotated distractors)."""
    p = world.params
    cats = clip_categories(rng, 3, distractor_prob=0.5)
    frames, tracks = render_clip(rng, p.benchmark_frames, p.image_width, p.image_height, cats,
                                 stay_in_view=not target_leaves_view, occluder=rng.random() < 0.6)
    target = tracks[0]
    boxes = [target.clipped(t, p.image_width, p.image_height) for t in range(len(frames))]
    # Only LaSOT's targets leave the view; LaSOT writes 0,0,0,0 there and flags the frame out of view.
    rows = [",".join(str(v) for v in (one_based(b) if b else (0, 0, 0, 0))) for b in boxes]
    return Sequence(frames, target, boxes, rows)


def class_numbered_name(category: Category, index: int) -> str:
    """OTB-style sequence names: the capitalised class and a two-digit number, e.g. Car01."""
    return f"{category.name.capitalize()}{index + 1:02d}"


def write_list(world: World, relpath: str, names):
    """A benchmark's list of its sequences, one name a line; not written when there are none."""
    if names:
        world.write_lines(relpath, names)
