"""SiamRPN / SiamRPN++ tracking (Li et al. 2018, section 4.3; Li et al. 2019): anchors decoded into boxes,
a penalty on changes of scale and aspect ratio, a cosine window, and the size following the best box at a
rate proportional to its penalized score."""
from __future__ import annotations

import numpy as np
import torch

from models.geometry import EXEMPLAR_SIZE, context_side
from models.targets import anchor_boxes
from models.trackers.base import Located, Tracker, cosine_window


def _change(ratio: np.ndarray) -> np.ndarray:
    return np.maximum(ratio, 1 / ratio)


class SiamRPNTracker(Tracker):
    def __init__(self, model, search_size: int = 255, penalty_k: float = 0.04, window_influence: float = 0.44,
                 size_lr: float = 0.33, device: str = "cpu"):
        super().__init__(model, search_size, window_influence, device)
        self.penalty_k, self.size_lr = penalty_k, size_lr
        config, score_size = model.config, model.score_size(search_size)
        self.anchors = anchor_boxes(score_size, model.backbone.stride, search_size, config["anchor_ratios"],
                                    config["anchor_scales"])
        self.window = np.broadcast_to(cosine_window(score_size), self.anchors.shape[1:])

    def locate(self, outputs: dict) -> Located:
        k = self.anchors.shape[1]
        cls, loc = outputs["cls"][0], outputs["loc"][0]
        score = torch.softmax(cls.reshape(2, k, *cls.shape[-2:]), 0)[1].cpu().numpy()
        dx, dy, dw, dh = loc.reshape(4, k, *loc.shape[-2:]).cpu().numpy()
        acx, acy, aw, ah = self.anchors
        cx, cy, w, h = dx * aw + acx, dy * ah + acy, np.exp(dw) * aw, np.exp(dh) * ah
        scale_z = EXEMPLAR_SIZE / context_side(*self.size)  # crop pixels per image pixel
        target_w, target_h = self.size * scale_z
        # SiamRPN section 4.3: penalty = exp(-(r' s' - 1) k), r' and s' the changes of aspect ratio and scale.
        scale_change = _change(context_side(w, h) / context_side(target_w, target_h))
        ratio_change = _change((target_w / target_h) / (w / h))
        penalty = np.exp(-(ratio_change * scale_change - 1) * self.penalty_k)
        ranked = self.windowed(penalty * score, self.window)
        best = np.unravel_index(np.argmax(ranked), ranked.shape)
        rate = float(penalty[best] * score[best] * self.size_lr)
        offset = (cx[best] - self.search_size / 2, cy[best] - self.search_size / 2)
        return Located(offset, 0, (w[best] / scale_z, h[best] / scale_z), rate, float(score[best]), best[1:])
