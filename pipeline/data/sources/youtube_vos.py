"""YouTube-VOS (Xu et al. 2018) train: <split>/meta.json, <split>/JPEGImages/<video>/<frame>.jpg and
<split>/Annotations/<video>/<frame>.png (indexed PNGs whose pixel values are the object ids).

Every object of meta.json is a track; each frame that meta.json lists for it is an object-frame, with the
mask's bounding box and the mask as polygons (its outer contours through the boundary pixels' centres;
holes are not kept). Quirks: meta.json lists the frames where an object appears, not every released
frame; a listed frame whose mask holds no pixel of the object is absent there; a listed frame without a
mask PNG, or with one that is not an indexed PNG, is a counted skip.
"""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from pipeline.common.errors import UserError
from pipeline.common.files import escapes_root
from pipeline.common.labels import mask_box, read_labels
from pipeline.data.sources.base import Annotation, Skip


def read(root: Path, split: str):
    path = root / split / "meta.json"
    try:
        videos = json.loads(path.read_text())["videos"]
        if not isinstance(videos, dict):
            raise TypeError("videos")
    except FileNotFoundError:
        raise UserError(f"{path}: no such file (YouTube-VOS meta.json for split {split!r})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise UserError(f"{path}: not valid JSON ({err})") from None
    except (KeyError, TypeError):
        raise UserError(f"{path}: not a YouTube-VOS meta.json (no 'videos' object)") from None
    for video, entry in videos.items():
        objects = entry.get("objects") if isinstance(entry, dict) else None
        if escapes_root(video):  # the name becomes the masks' and images' folder
            yield Skip("path_escapes_root", f"{path}#{video}", "a video name that leads outside the dataset root")
            continue
        if not isinstance(objects, dict):
            yield Skip("annotation_unparsable", f"{path}#{video}", "no 'objects' object")
            continue
        yield from _video(root, split, video, objects, path)


def _video(root: Path, split: str, video: str, objects: dict, meta: Path):
    masks: dict[str, np.ndarray | Skip] = {}  # a video's PNGs, each read once for all its objects
    for object_id, obj in objects.items():
        frames = obj.get("frames") if isinstance(obj, dict) else None
        if not (object_id.isdigit() and isinstance(frames, list) and isinstance(obj.get("category"), str)
                and all(isinstance(f, str) and f.isdigit() for f in frames)):
            yield Skip("annotation_unparsable", f"{meta}#{video}/{object_id}",
                       "an object needs a numeric id, a category and a list of frame names")
            continue
        for frame in frames:
            png = root / split / "Annotations" / video / f"{frame}.png"
            if frame not in masks:
                masks[frame] = _read_mask(png)
            labels = masks[frame]
            if isinstance(labels, Skip):
                yield labels
                continue
            mask = labels == int(object_id)
            image = f"{split}/JPEGImages/{video}/{frame}.jpg"
            if not mask.any():
                yield Annotation(video, object_id, int(frame), image, None, obj["category"])
                continue
            box = tuple(float(v) for v in mask_box(mask))
            yield Annotation(video, object_id, int(frame), image, box, obj["category"], polygons=mask_polygons(mask))


def _read_mask(png: Path) -> np.ndarray | Skip:
    if not png.exists():
        return Skip("mask_missing", str(png), "meta.json lists the frame, its mask PNG does not exist")
    try:
        return read_labels(png)
    except ValueError as err:
        return Skip("mask_unreadable", str(png), str(err).removeprefix(f"{png}: "))


def mask_polygons(mask: np.ndarray) -> tuple[tuple[float, ...], ...]:
    """A binary mask's outer contours as polygons [x1, y1, ...] in continuous coordinates (the boundary
    pixels' centres, index + 0.5), as COCO gives its objects; regions of fewer than 3 vertices are dropped."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return tuple(tuple(float(v) + 0.5 for v in c.reshape(-1)) for c in contours if len(c) >= 3)
