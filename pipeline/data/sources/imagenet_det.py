"""ImageNet DET 2015: Data/DET/<split>/**.JPEG with one XML per image under Annotations/DET.

Quirk: nested folders of different depths (ILSVRC2013_train/<wnid>/<wnid>_N, ILSVRC2014_train_000N/...).
Every image is a one-frame video and each object a one-frame track; images with no object are counted.
"""
from __future__ import annotations

from pathlib import Path

from pipeline.common.errors import UserError
from pipeline.data.sources.base import Annotation, Skip
from pipeline.data.sources.imagenet_xml import BadAnnotation, parse


def read(root: Path, split: str):
    annotations = root / "Annotations" / "DET" / split
    if not annotations.is_dir():
        raise UserError(f"{annotations}: no such folder (ImageNet DET annotations for split {split!r})")
    for xml in sorted(annotations.rglob("*.xml")):
        video = xml.relative_to(annotations).with_suffix("").as_posix()
        try:
            objects = parse(xml)
        except BadAnnotation as err:
            yield Skip("annotation_unparsable", str(xml), str(err))
            continue
        if not objects:
            yield Skip("image_without_objects", str(xml))
        for k, obj in enumerate(objects):
            yield Annotation(video, str(k), 0, f"Data/DET/{split}/{video}.JPEG", obj["box"], obj["name"])
