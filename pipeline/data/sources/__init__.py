"""One adapter per training dataset, each reading the real raw format into a stream of annotations.

An adapter is `read(root, split)` yielding `Annotation` for every object-frame it finds and `Skip` for
every item it cannot use (with the reason, so that nothing is dropped silently). It raises
`pipeline.common.errors.UserError` when the dataset as a whole cannot be read (root or annotation file missing).
Validation that is the same for every dataset (images, box geometry, paths) is done by pipeline/data/index.py.
"""
from __future__ import annotations

from pipeline.data.sources.base import Annotation, Skip

__all__ = ["Annotation", "Skip", "adapters"]


def adapters():
    """Format name -> read function (imported lazily so that one broken adapter does not hide the others)."""
    from pipeline.data.sources import coco, imagenet_det, imagenet_vid, youtube_bb, youtube_vos
    return {"imagenet_vid": imagenet_vid.read, "imagenet_det": imagenet_det.read,
            "coco": coco.read, "youtube_bb": youtube_bb.read,
            "youtube_vos": youtube_vos.read}
