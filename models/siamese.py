"""One Siamese network for every variant: backbone -> (neck) -> head (-> mask branch, refinement).

`forward(template, search, targets)` returns the named losses and their weighted `total`; the trackers use
`embed_template` once and `track` per frame; `target_maker` gives the data loader its per-sample targets.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from models.backbones import AlexNet, MobileNetV2, ResNet, load_pretrained
from models.geometry import EXEMPLAR_SIZE
from models.heads import RPN, DepthwiseXCorr, Refine, SiamFCHead, position_windows
from models.kinds import head_kind
from models.losses import mask_loss
from models.necks import Adjust

REFINE_STAGES = (1, 2, 3)


def make_backbone(config: dict, last_stage: int) -> nn.Module:
    name, width = config["backbone"], config["width"]
    if name.startswith("alexnet"):
        return AlexNet(width, groups=2 if name == "alexnet_siamfc" else 1)
    if name.startswith("resnet"):
        return ResNet(int(name.removeprefix("resnet")), width, last_stage, config["shortcut_kernel"])
    return MobileNetV2(width, last_stage, config["channel_rounding"], config["expand_always"])


class Siamese(nn.Module):
    def __init__(self, variant: str, config: dict):
        super().__init__()
        self.variant, self.config = variant, dict(config)
        self.kind, self.layers = config["head"], tuple(config["layers"])
        self.head_kind = head_kind(self.kind)
        self.backbone = make_backbone(config, max(self.layers))
        if config["pretrained"]:
            load_pretrained(self.backbone, config["pretrained"])
        channels = [self.backbone.out_channels[s] for s in self.layers]
        self.neck = self.mask_head = self.refine = None
        if not self.head_kind.anchors:
            self.head = SiamFCHead(config["out_scale"])
            self.loss_weights = {"cls": 1.0}
            return
        if config["neck_channels"]:
            self.neck = Adjust(channels, config["neck_channels"], config["template_crop"])
            channels = [config["neck_channels"]] * len(channels)
        anchors = len(config["anchor_ratios"]) * len(config["anchor_scales"])
        self.head = RPN(config["corr"], channels, anchors, config["hidden"], config["loc_adjust"])
        self.loss_weights = {"cls": config["cls_weight"], "loc": config["loc_weight"]}
        if self.head_kind.masks:  # SiamMask's mask branch on the deepest used stage
            masks = None if config["refine"] else config["mask_size"] ** 2  # refined masks replace the 63 x 63 ones
            self.mask_head = DepthwiseXCorr(channels[-1], masks, config["hidden"])
            if config["refine"]:
                stage_channels = {s: self.backbone.out_channels[s] for s in REFINE_STAGES}
                self.refine = Refine(stage_channels, config["hidden"], EXEMPLAR_SIZE)
            self.loss_weights["mask"] = config["mask_weight"]

    def _features(self, stages: dict, template: bool) -> list:
        features = [stages[s] for s in self.layers]
        return self.neck(features, template) if self.neck is not None else features

    def embed_template(self, template: torch.Tensor) -> list:
        """Template features, computed once per sequence by a tracker."""
        return self._features(self.backbone(template), template=True)

    def track(self, template_features: list, search: torch.Tensor) -> dict:
        """Head outputs for a search batch (layouts in models/heads.py): `score`, or `cls` and `loc`, plus for
        SiamMask `mask`, or with the refinement `mask_features` and the search `stages` that Refine reads."""
        stages = self.backbone(search)
        search_features = self._features(stages, template=False)
        if not self.head_kind.anchors:
            return {"score": self.head(template_features[0], search_features[0])}
        out = self.head(template_features, search_features)
        if self.mask_head is not None:
            masks = self.mask_head(template_features[-1], search_features[-1])
            if self.refine is None:
                out["mask"] = masks
            else:
                out["mask_features"], out["stages"] = masks, {s: stages[s] for s in REFINE_STAGES}
        return out

    def predict(self, template: torch.Tensor, search: torch.Tensor) -> dict:
        return self.track(self.embed_template(template), search)

    def forward(self, template: torch.Tensor, search: torch.Tensor, targets: dict) -> dict:
        """The named losses of a batch and their weighted sum `total`. targets: the target_maker's arrays as
        batched tensors; for SiamMask also `mask` (N, 1, H, W) in [0, 1] on the search image and
        `mask_valid` (N,) bool (samples without a ground-truth mask add no mask loss)."""
        out = self.predict(template, search)
        losses = self.head_kind.losses(out, targets)
        if self.mask_head is not None:
            losses["mask"] = self._mask_loss(out, targets)
        losses["total"] = sum(self.loss_weights[name] * value for name, value in losses.items())
        return losses

    def _mask_loss(self, out: dict, targets: dict) -> torch.Tensor:
        """SiamMask trains the mask of every position with a positive anchor (c_n = 1 in eq. 3) against the
        ground-truth mask in that position's 127 x 127 window of the search image."""
        size = out["cls"].shape[-1]
        positive = (targets["cls"] == 1).any(1) & targets["mask_valid"][:, None, None]
        positions, weight = positive.nonzero(), 1.0
        if len(positions) == 0:  # no mask to learn: a zero-weighted centre keeps every parameter in the graph
            positions, weight = torch.tensor([[0, size // 2, size // 2]], device=positive.device), 0.0
        windows = position_windows(targets["mask"], positions, size, EXEMPLAR_SIZE, self.backbone.stride)
        if self.refine is not None:
            logits = self.refine(out["mask_features"], out["stages"], positions)
        else:
            side = self.config["mask_size"]
            logits = out["mask"][positions[:, 0], :, positions[:, 1], positions[:, 2]].reshape(-1, 1, side, side)
            logits = F.interpolate(logits, size=EXEMPLAR_SIZE, mode="bilinear", align_corners=False)
        return weight * mask_loss(logits, windows)

    @torch.no_grad()
    def score_size(self, search_size: int) -> int:
        """Cells per side of the score map for a search_size image (one forward pass in eval mode)."""
        training = self.training
        device = next(self.parameters()).device
        self.eval()
        try:
            out = self.predict(torch.zeros(1, 3, EXEMPLAR_SIZE, EXEMPLAR_SIZE, device=device),
                               torch.zeros(1, 3, search_size, search_size, device=device))
        finally:
            self.train(training)
        return out[self.head_kind.score_output].shape[-1]

    def target_maker(self, search_size: int):
        """The per-sample target function: (box_xywh in the search image, negative, rng) -> dict of arrays."""
        return self.head_kind.targets(self.config, self.score_size(search_size), search_size=search_size,
                                      stride=self.backbone.stride)
