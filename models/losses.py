"""Losses, each a scalar tensor; the model returns them as a dict of named losses (models/siamese.py)."""
from __future__ import annotations

import torch
from torch.nn import functional as F


def siamfc_loss(score: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    """SiamFC's logistic loss l(y, v) = log(1 + exp(-y v)) (eq. 3) averaged over the score map (eq. 4), with the
    positives and the negatives of each map weighted to the same total (half each; all on the negatives of
    a negative pair), as SiamFC balances them. score and label (N, 1, S, S), label +1 / -1."""
    positive = label > 0
    n_pos = positive.sum((1, 2, 3), keepdim=True)
    n_neg = (~positive).sum((1, 2, 3), keepdim=True)
    neg_share = torch.where(n_pos > 0, 0.5, 1.0)
    weight = torch.where(positive, 0.5 / n_pos.clamp(min=1), neg_share / n_neg.clamp(min=1))
    return (weight * F.softplus(-label * score)).sum() / len(score)


def rpn_losses(cls: torch.Tensor, loc: torch.Tensor, targets: dict) -> dict:
    """SiamRPN's losses (section 3.4): cross-entropy over the sampled anchors (targets['cls'] (N, k, S, S) in
    {-1 ignored, 0, 1}) and L1 on (dx, dy, log dw, log dh) of the positives, weighted by targets['loc_weight']
    (1 / positives per sample) and averaged over the batch."""
    labels = targets["cls"]
    n, k = labels.shape[:2]
    logits = cls.reshape(n, 2, k, *cls.shape[-2:])
    sampled = labels >= 0
    cls_loss = F.cross_entropy(logits, labels, ignore_index=-1) if sampled.any() else logits.sum() * 0
    offsets = loc.reshape(n, 4, k, *loc.shape[-2:])
    loc_loss = ((offsets - targets["loc"]).abs().sum(1) * targets["loc_weight"]).sum() / n
    return {"cls": cls_loss, "loc": loc_loss}


def mask_loss(logits: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """SiamMask's binary logistic loss over every pixel of the masks of positive positions (Wang et al. 2019,
    eq. 3): logits and 0/1 masks (P, 1, m, m)."""
    return F.binary_cross_entropy_with_logits(logits, masks)
