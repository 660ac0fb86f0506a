"""YouTube-BoundingBoxes: yt_bb_detection_<split>.csv and its frames as youtube-bb-utility decodes them.

CSV rows (no header): youtube_id, timestamp_ms, class_id, class_name, object_id, object_presence,
xmin, xmax, ymin, ymax, with coordinates as fractions of the frame size (note the x-x-y-y order).
Frames: yt_bb_detection_<split>/<class_id>/<youtube_id>_<timestamp_ms>_<class_id>_<object_id>.jpg.
Quirks: rows with object_presence 'absent' have coordinates -1 and often no frame; they are indexed as
absent (not visible) frames of their track. A track is (class_id, object_id) within a video.
"""
from __future__ import annotations

import csv
from pathlib import Path

from pipeline.common.errors import UserError
from pipeline.data.sources.base import Annotation, Skip


def read(root: Path, split: str):
    path = root / f"yt_bb_detection_{split}.csv"
    try:
        f = open(path, newline="", encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: no such file (YouTube-BB detection CSV for split {split!r})") from None
    with f:
        try:
            yield from _rows(path, f, split)
        except UnicodeDecodeError as err:
            raise UserError(f"{path}: not a UTF-8 text file ({err})") from None


def _rows(path, f, split):
    for line, row in enumerate(csv.reader(f), 1):
        where = f"{path}:{line}"
        try:
            youtube_id, timestamp, class_id, class_name, object_id, presence, *coords = row
            timestamp, class_id, object_id = int(timestamp), int(class_id), int(object_id)
            xmin, xmax, ymin, ymax = (float(v) for v in coords)
            if presence not in ("present", "absent"):
                raise ValueError(f"object_presence {presence!r}")
        except ValueError as err:
            yield Skip("annotation_unparsable", where, str(err) or "expected 10 columns")
            continue
        image = f"yt_bb_detection_{split}/{class_id}/{youtube_id}_{timestamp}_{class_id}_{object_id}.jpg"
        box = (xmin, ymin, xmax - xmin, ymax - ymin) if presence == "present" else None
        yield Annotation(youtube_id, f"{class_id}:{object_id}", timestamp, image, box, class_name,
                         normalized=True)
