"""ImageNet VID 2015: Data/VID/<split>/<snippet>/%06d.JPEG with one XML per frame under Annotations/VID.

Quirk: the training snippets sit one level deeper, in ILSVRC2015_VID_train_0000 ... _0003; the video name
keeps that folder (`ILSVRC2015_VID_train_0000/ILSVRC2015_train_00000000`). Objects are tracks by trackid.
"""
from __future__ import annotations

from pathlib import Path

from pipeline.common.errors import UserError
from pipeline.data.sources.base import Annotation, Skip
from pipeline.data.sources.imagenet_xml import BadAnnotation, parse


def read(root: Path, split: str):
    annotations = root / "Annotations" / "VID" / split
    if not annotations.is_dir():
        raise UserError(f"{annotations}: no such folder (ImageNet VID annotations for split {split!r})")
    for xml in sorted(annotations.rglob("*.xml")):
        rel = xml.relative_to(annotations)
        video = rel.parent.as_posix()
        image = f"Data/VID/{split}/{video}/{rel.stem}.JPEG"
        try:
            frame = int(rel.stem)
            objects = parse(xml)
            if any(obj["trackid"] is None for obj in objects):
                raise BadAnnotation("object without trackid")
        except (BadAnnotation, ValueError) as err:
            yield Skip("annotation_unparsable", str(xml), str(err))
            continue
        for obj in objects:
            yield Annotation(video, obj["trackid"].strip(), frame, image, obj["box"], obj["name"])
