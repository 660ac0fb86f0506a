"""YouTube-VOS (2018/2019) train: youtube-vos/train/JPEGImages/<video>/00000.jpg, Annotations/<video>/00000.png
(indexed PNGs: object k's pixels hold k) and train/meta.json ({"videos": {video: {"objects": {id: {"category",
"frames"}}}}}, the frames where the object is seen). The released frames are every 5th of the 30 fps video,
named by their number in it: 00000, 00005, ..."""
from __future__ import annotations

import json

import numpy as np

from pipeline.common.labels import encode_labels
from pipeline.world.render import clip_categories, render_clip
from pipeline.world.writer import World

FRAME_STEP = 5  # YouTube-VOS annotates every 5th frame (6 fps)


def write_video(world: World, rng, index: int):
    """One video of 1-3 objects, every one annotated; returns its meta.json entry."""
    p = world.params
    video = f"{index:010x}"  # the real ids are 10 hex digits
    cats = clip_categories(rng, 3)
    frames, _, labels = render_clip(rng, p.ytvos_frames, p.image_width, p.image_height, cats, speed=4.0,
                                    stay_in_view=False, occluder=rng.random() < 0.3, labels=True)
    names = [f"{t * FRAME_STEP:05d}" for t in range(len(frames))]
    for name, frame, label in zip(names, frames, labels):
        world.write_jpeg(f"youtube-vos/train/JPEGImages/{video}/{name}.jpg", frame)
        world.write_bytes(f"youtube-vos/train/Annotations/{video}/{name}.png", encode_labels(label))
    objects = {str(k + 1): {"category": cat.name, "frames": [n for n, label in zip(names, labels)
                                                              if np.any(label == k + 1)]}
               for k, cat in enumerate(cats)}
    return video, {"objects": {k: v for k, v in objects.items() if v["frames"]}}


def write_meta(world: World, videos):
    world.write_text("youtube-vos/train/meta.json", json.dumps({"videos": dict(videos)}, indent=1))
