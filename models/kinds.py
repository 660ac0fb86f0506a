"""The head kinds: one entry per family of heads, under the one name that the variant's `head`, the
`trackers:` section and the training recipe (train_profiles.<profile>.<kind>) all use.

A kind says which tracker reads the network's outputs, how the loader makes per-sample targets, which
losses train it, the output the score map is read from, and whether it learns masks. A new head family
registers here once (and adds its head module, tracker and recipe).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from models import ModelError


@dataclass(frozen=True)
class HeadKind:
    name: str
    tracker: Callable[[], type]   # the tracker class (imported on first use: the kinds load without torch)
    anchors: bool                 # RPN outputs (cls, loc) on anchors; else one SiamFC score map
    masks: bool                   # a mask branch, trained on datasets with masks

    @property
    def score_output(self) -> str:
        return "cls" if self.anchors else "score"

    def targets(self, config: dict, size: int, stride: int, search_size: int):
        """The loader's per-sample target maker for a score map of size x size cells."""
        from models.targets import AnchorTargets, SiamFCLabels
        if not self.anchors:
            return SiamFCLabels(size, stride, search_size, config["radius"])
        return AnchorTargets(size, stride, search_size, config["anchor_ratios"], config["anchor_scales"],
                             config["pos_iou"], config["neg_iou"], config["positives"], config["samples"],
                             config["centre_cells"], config["integer_anchors"])

    def losses(self, out: dict, targets: dict) -> dict:
        """The named losses of the score map and box outputs (the mask loss is the network's own)."""
        from models.losses import rpn_losses, siamfc_loss
        if not self.anchors:
            return {"cls": siamfc_loss(out["score"], targets["label"])}
        return rpn_losses(out["cls"], out["loc"], targets)


def _identity():
    from models.trackers.identity import IdentityTracker
    return IdentityTracker


def _siamfc():
    from models.trackers.siamfc import SiamFCTracker
    return SiamFCTracker


def _siamrpn():
    from models.trackers.siamrpn import SiamRPNTracker
    return SiamRPNTracker


def _siammask():
    from models.trackers.siammask import SiamMaskTracker
    return SiamMaskTracker


KINDS: dict[str, HeadKind] = {}


def register_kind(kind: HeadKind) -> None:
    KINDS[kind.name] = kind


register_kind(HeadKind("siamfc", _siamfc, anchors=False, masks=False))    # SiamFC: cross-correlation score map
register_kind(HeadKind("siamrpn", _siamrpn, anchors=True, masks=False))   # SiamRPN / DaSiamRPN / SiamRPN++
register_kind(HeadKind("siammask", _siammask, anchors=True, masks=True))  # SiamMask: SiamRPN++ plus masks
IDENTITY = HeadKind("identity", _identity, anchors=False, masks=False)    # no network: the harness baseline


def head_kind(name: str | None) -> HeadKind:
    """The kind of a variant's head (None: no network, the identity tracker)."""
    if name is None:
        return IDENTITY
    if name not in KINDS:
        raise ModelError(f"unknown head kind {name!r} (kinds: {', '.join(KINDS)})")
    return KINDS[name]
