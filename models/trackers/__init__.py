"""Trackers: `init(image, box)` then `update(image) -> Prediction`, one class per post-processing (base.py);
models/kinds.py says which one reads a network's outputs."""
from __future__ import annotations

from models import ModelError
from models.kinds import head_kind


def make_tracker(model, settings: dict, device: str = "cpu"):
    """The tracker for `model` (None: the identity tracker) with its settings (the `trackers:` section of its
    kind); an unknown setting is a one-line ModelError."""
    kind = head_kind(None if model is None else model.kind)
    try:
        return kind.tracker()(model, device=device, **settings)
    except TypeError as err:
        raise ModelError(f"tracker {kind.name}: {err}") from None
