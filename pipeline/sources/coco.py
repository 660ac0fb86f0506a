"""COCO 2017: annotations/instances_<split>.json and the images in <split>/.

Every image is a one-frame video and each annotation a one-frame track named by its annotation id.
Quirk: crowd regions (iscrowd=1) are not single objects; they are counted and skipped. Object masks are
polygons (COCO stores a non-crowd object's segmentation as a list of polygons).
"""
from __future__ import annotations

import json
import posixpath
from pathlib import Path

from pipeline.cli import UserError
from pipeline.sources import Annotation, Skip


def read(root: Path, split: str):
    path = root / "annotations" / f"instances_{split}.json"
    try:
        data = json.loads(path.read_text())
        images = {img["id"]: img["file_name"] for img in data["images"]}
        categories = {cat["id"]: cat["name"] for cat in data["categories"]}
        annotations = data["annotations"]
    except FileNotFoundError:
        raise UserError(f"{path}: no such file (COCO annotations for split {split!r})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise UserError(f"{path}: not valid JSON ({err})") from None
    except (KeyError, TypeError) as err:
        raise UserError(f"{path}: not a COCO instances file (missing {err})") from None
    for ann in annotations:
        where = f"{path}#annotation={ann.get('id')}"
        if ann.get("iscrowd"):
            yield Skip("iscrowd", where)
            continue
        file_name, category, box = images.get(ann.get("image_id")), categories.get(ann.get("category_id")), ann.get("bbox")
        if file_name is None or category is None or not isinstance(box, list) or len(box) != 4:
            yield Skip("annotation_unparsable", where, "unknown image or category id, or a bbox that is not 4 numbers")
            continue
        segmentation = ann.get("segmentation")
        polygons = segmentation if isinstance(segmentation, list) else []
        if not all(isinstance(p, list) and len(p) % 2 == 0 for p in polygons):
            yield Skip("annotation_unparsable", where, "a segmentation polygon that is not a list of x, y pairs")
            continue
        polygons = [p for p in polygons if len(p) >= 6]  # fewer than 3 points cover no pixel
        video = Path(file_name).stem
        # posixpath.join keeps an absolute file_name absolute, so that the index flags it as escaping the root.
        yield Annotation(video, str(ann["id"]), 0, posixpath.join(split, file_name), tuple(box), category,
                         polygons=tuple(tuple(p) for p in polygons))
