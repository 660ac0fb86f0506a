"""One adapter per training dataset, each reading the real raw format into a stream of annotations.

An adapter is `read(root, split)` yielding `Annotation` for every object-frame it finds and `Skip` for
every item it cannot use (with the reason, so that nothing is dropped silently). It raises
`pipeline.cli.UserError` when the dataset as a whole cannot be read (root or annotation file missing).
Validation that is the same for every dataset (images, box geometry, paths) is done by pipeline/index.py.
"""
from __future__ import annotations

from typing import NamedTuple


class Annotation(NamedTuple):
    video: str                 # unique within the dataset
    track: str                 # unique within the video
    frame: int                 # frame number or timestamp; orders the frames of a track
    image: str                 # path relative to the dataset root, with '/' separators
    box: tuple | None          # [x, y, w, h], 0-based continuous pixels; None when the object is absent
    category: str              # the dataset's own label (WordNet id, COCO or YouTube-BB class name)
    normalized: bool = False   # box given as fractions of the image size (YouTube-BB)
    polygons: tuple = ()       # the object's mask as polygons [x1, y1, x2, y2, ...] in pixels (COCO)


class Skip(NamedTuple):
    reason: str                # a short snake_case name, counted in the index statistics
    path: str                  # the file (and line or id) concerned
    detail: str = ""


def adapters():
    """Format name -> read function (imported lazily so that one broken adapter does not hide the others)."""
    from pipeline.sources import coco, imagenet_det, imagenet_vid, youtube_bb
    return {"imagenet_vid": imagenet_vid.read, "imagenet_det": imagenet_det.read,
            "coco": coco.read, "youtube_bb": youtube_bb.read}
