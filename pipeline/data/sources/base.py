"""What an adapter yields: an Annotation per object-frame, a Skip per item it cannot use."""
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
