"""COCO 2017 train: coco/train2017/<id>.jpg and coco/annotations/instances_train2017.json, with polygon
segmentations and crowd regions in uncompressed RLE."""
from __future__ import annotations

import json

import cv2
import numpy as np

from pipeline.world.render import CATEGORIES, render_clip
from pipeline.world.writer import World


def _rle_fortran(mask):
    """COCO's uncompressed RLE: run lengths over the column-major mask, starting with a run of zeros."""
    flat = np.asfortranarray(mask).ravel(order="F").astype(np.uint8)
    change = np.flatnonzero(np.diff(np.concatenate([[0], flat, [1 - flat[-1]]])))
    return np.diff(np.concatenate([[0], change])).tolist()


def _object_annotation(track, image_id, width, height):
    """The object's polygon, its clipped box and its area; None when it is not seen."""
    box = track.clipped(0, width, height)
    if box is None or track.visible[0] == 0:
        return None
    x, y, w, h = (int(v) for v in track.boxes[0])
    polygon = [round(float(v), 2) for px, py in track.category.shape
               for v in (np.clip(x + px * w, 0, width), np.clip(y + py * h, 0, height))]
    mask = np.zeros((height, width), np.uint8)
    cv2.fillPoly(mask, [np.round(np.reshape(polygon, (-1, 2))).astype(np.int32)], 1)
    return {"image_id": image_id, "category_id": track.category.coco_id, "iscrowd": 0,
            "bbox": [float(v) for v in box], "area": float(mask.sum()), "segmentation": [polygon]}


def _crowd_annotation(rng, image_id, category_id, width, height):
    """A crowd region: iscrowd=1 with an RLE segmentation, as COCO has."""
    x, y = int(rng.integers(0, width // 2)), int(rng.integers(0, height // 2))
    w, h = int(rng.integers(20, width // 2)), int(rng.integers(20, height // 2))
    mask = np.zeros((height, width), np.uint8)
    mask[y:y + h, x:x + w] = 1
    return {"image_id": image_id, "category_id": category_id, "iscrowd": 1,
            "bbox": [float(x), float(y), float(w), float(h)], "area": float(mask.sum()),
            "segmentation": {"counts": _rle_fortran(mask), "size": [height, width]}}


def write_image(world: World, rng, index: int):
    """One image of 1-4 objects; returns its images entry and its annotations (without ids)."""
    p = world.params
    cats = [CATEGORIES[i] for i in rng.integers(len(CATEGORIES), size=int(rng.integers(1, 5)))]
    frames, tracks = render_clip(rng, 1, p.image_width, p.image_height, cats, stay_in_view=False,
                                 pan=False, effects=False)
    image_id = index + 1
    world.write_jpeg(f"coco/train2017/{image_id:012d}.jpg", frames[0])
    annotations = [annotation for track in tracks
                   if (annotation := _object_annotation(track, image_id, p.image_width, p.image_height))]
    if rng.random() < 0.15:
        annotations.append(_crowd_annotation(rng, image_id, cats[0].coco_id, p.image_width, p.image_height))
    image = {"id": image_id, "file_name": f"{image_id:012d}.jpg", "width": p.image_width,
             "height": p.image_height, "license": 1}
    return image, annotations


def write_instances(world: World, images_and_annotations):
    """instances_train2017.json: every image and annotation (ids from 1) and the categories."""
    images, annotations = [], []
    for image, anns in images_and_annotations:
        images.append(image)
        for ann in anns:
            annotations.append({"id": len(annotations) + 1, **ann})
    coco = {"info": {"description": "siamflow synthetic world in COCO 2017 format", "version": "1.0"},
            "licenses": [{"id": 1, "name": "CC0", "url": ""}],
            "images": images, "annotations": annotations,
            "categories": [{"id": c.coco_id, "name": c.name, "supercategory": "object"}
                           for c in sorted(CATEGORIES, key=lambda c: c.coco_id)]}
    world.write_text("coco/annotations/instances_train2017.json", json.dumps(coco, separators=(",", ":")))
