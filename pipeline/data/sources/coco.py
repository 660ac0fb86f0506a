"""COCO 2017: annotations/instances_<split>.json and the images in <split>/.

Every image is a one-frame video and each annotation a one-frame track named by its annotation id.
Quirk: crowd regions (iscrowd=1) are not single objects; they are counted and skipped. Object masks are
polygons (COCO stores a non-crowd object's segmentation as a list of polygons).
"""
from __future__ import annotations

import json
import posixpath
from pathlib import Path

from pipeline.common.errors import UserError
from pipeline.data.sources.base import Annotation, Skip


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
    for k, ann in enumerate(annotations):
        if not isinstance(ann, dict):
            yield Skip("annotation_unparsable", f"{path}#annotations[{k}]", "not a JSON object")
            continue
        where = f"{path}#annotation={ann.get('id')}"
        if ann.get("iscrowd"):
            yield Skip("iscrowd", where)
            continue
        # Checked here, field by field: a wrong type must be a counted skip, not a traceback in the index.
        image_id, category_id, box = ann.get("image_id"), ann.get("category_id"), ann.get("bbox")
        file_name = images.get(image_id) if isinstance(image_id, int) else None
        category = categories.get(category_id) if isinstance(category_id, int) else None
        if (not isinstance(ann.get("id"), (int, str)) or not isinstance(file_name, str) or not isinstance(category, str)
                or not isinstance(box, list) or len(box) != 4 or not all(_is_number(v) for v in box)):
            yield Skip("annotation_unparsable", where, "needs an id, a known image_id (with a file_name), a known "
                       "category_id and a bbox of 4 numbers")
            continue
        segmentation = ann.get("segmentation")
        polygons = segmentation if isinstance(segmentation, list) else []
        if not all(isinstance(p, list) and len(p) % 2 == 0 and all(_is_number(v) for v in p) for p in polygons):
            yield Skip("annotation_unparsable", where, "a segmentation polygon that is not a list of x, y pairs")
            continue
        polygons = [p for p in polygons if len(p) >= 6]  # fewer than 3 points cover no pixel
        video = Path(file_name).stem
        # posixpath.join keeps an absolute file_name absolute, so that the index flags it as escaping the root.
        yield Annotation(video, str(ann["id"]), 0, posixpath.join(split, file_name), tuple(box), category,
                         polygons=tuple(tuple(p) for p in polygons))


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
