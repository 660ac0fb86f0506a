"""DAVIS 2017 (semi-supervised, val): JPEGImages/480p/<seq>/00000.jpg, Annotations/480p/<seq>/00000.png (indexed
PNGs: object k's pixels hold k), and ImageSets/2017/val.txt. Every object seen in the first frame is annotated
in every frame, where it is seen (occluded parts are background); the real set's layout name 480p is kept at
the world's image size."""
from __future__ import annotations

import numpy as np

from pipeline.common.labels import encode_labels
from pipeline.world.render import clip_categories, render_clip
from pipeline.world.sequence import write_list
from pipeline.world.writer import World

BENCHMARK = "synth-davis"
MIN_FIRST_FRAME_PIXELS = 64  # an object annotated from the first frame on is seen there by at least this much


def keep_first_frame_objects(labels: list[np.ndarray], n_objects: int) -> list[np.ndarray]:
    """The label images renumbered 1 .. K over the objects seen in the first frame (in render order); the
    others become background, as DAVIS annotates only the objects of its first frame."""
    seen = [k for k in range(1, n_objects + 1) if np.count_nonzero(labels[0] == k) >= MIN_FIRST_FRAME_PIXELS]
    lookup = np.zeros(256, np.uint8)
    lookup[seen] = np.arange(1, len(seen) + 1)
    return [lookup[image] for image in labels]


def write_sequence(world: World, rng, index: int) -> str:
    p = world.params
    while True:  # the target may hide behind another object in frame 0: draw again (same generator)
        cats = clip_categories(rng, 3, distractor_prob=0.5)
        frames, _, labels = render_clip(rng, p.davis_frames, p.image_width, p.image_height, cats,
                                        occluder=rng.random() < 0.3, labels=True)
        labels = keep_first_frame_objects(labels, len(cats))
        if labels[0].any():
            break
    name = f"{cats[0].name}-{index + 1:02d}"
    for t, (frame, label) in enumerate(zip(frames, labels)):
        world.write_jpeg(f"benchmarks/{BENCHMARK}/JPEGImages/480p/{name}/{t:05d}.jpg", frame)
        world.write_bytes(f"benchmarks/{BENCHMARK}/Annotations/480p/{name}/{t:05d}.png", encode_labels(label))
    return name


def write_sequence_list(world: World, names):
    write_list(world, f"benchmarks/{BENCHMARK}/ImageSets/2017/val.txt", names)
