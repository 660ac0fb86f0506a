"""Trackers: `init(image, box)` then `update(image) -> Prediction`, one class per post-processing (base.py)."""
from __future__ import annotations

from models import ModelError


def tracker_kind(head: str | None) -> str:
    """The tracker that reads the outputs of a network with this head (a variant's `head`; None: no network):
    identity, siamfc, siamrpn or siammask."""
    return {None: "identity", "siamfc": "siamfc", "rpn": "siamrpn", "mask": "siammask"}[head]


def make_tracker(model, settings: dict, device: str = "cpu"):
    """The tracker for `model` (None: the identity tracker) with its settings; an unknown setting is a
    one-line ModelError."""
    from models.trackers.identity import IdentityTracker
    from models.trackers.siamfc import SiamFCTracker
    from models.trackers.siammask import SiamMaskTracker
    from models.trackers.siamrpn import SiamRPNTracker

    kind = tracker_kind(None if model is None else model.kind)
    cls = {"identity": IdentityTracker, "siamfc": SiamFCTracker, "siamrpn": SiamRPNTracker,
           "siammask": SiamMaskTracker}[kind]
    try:
        return cls(model, device=device, **settings)
    except TypeError as err:
        raise ModelError(f"tracker {kind}: {err}") from None
