"""SiamRPN / SiamRPN++ tracking (Li et al. 2018, section 4.3; Li et al. 2019): anchors decoded into boxes,
a penalty on changes of scale and aspect ratio, a cosine window, and the size following the best box at a
rate proportional to its penalized score. Optionally DaSiamRPN's distractor-aware re-scoring (Zhu et al.
2018, section 4.2): the strongest other proposals of a frame become distractor templates, and in the next
frame their responses, averaged, are subtracted from the target's before the best box is chosen."""
from __future__ import annotations

import numpy as np
import torch

from models.geometry import EXEMPLAR_SIZE, context_side, cxcywh_to_xywh
from models.targets import anchor_boxes, iou_with_box
from models.trackers.base import Located, Tracker, cosine_window


def _change(ratio: np.ndarray) -> np.ndarray:
    return np.maximum(ratio, 1 / ratio)


class SiamRPNTracker(Tracker):
    def __init__(self, model, search_size: int = 255, penalty_k: float = 0.04, window_influence: float = 0.44,
                 size_lr: float = 0.33, distractor_weight: float = 0.0, distractor_threshold: float = 0.5,
                 distractors: int = 3, distractor_overlap: float = 0.3, crop: str = "warp", device: str = "cpu"):
        super().__init__(model, search_size, window_influence, crop, device)
        self.penalty_k, self.size_lr = penalty_k, size_lr
        # DaSiamRPN eq. 3: alpha-hat (0: off), the proposal score h above which a proposal is a distractor, at
        # most `distractors` of them, kept apart from the target and each other by non-maximum suppression.
        self.distractor_weight, self.distractor_threshold = distractor_weight, distractor_threshold
        self.max_distractors, self.distractor_overlap = distractors, distractor_overlap
        config, score_size = model.config, model.score_size(search_size)
        self.anchors = anchor_boxes(score_size, model.backbone.stride, search_size, config["anchor_ratios"],
                                    config["anchor_scales"], config["integer_anchors"])
        self.window = np.broadcast_to(cosine_window(score_size, normalized=False), self.anchors.shape[1:])

    def init(self, image: np.ndarray, box) -> None:
        super().init(image, box)
        self.distractors, self.distractor_boxes = [], []

    def update(self, image: np.ndarray):
        prediction = super().update(image)
        self.distractors = [self.embed(image, box[:2], box[2:]) for box in self.distractor_boxes]
        return prediction

    def respond(self, batch: torch.Tensor) -> dict:
        """The target's outputs first, then each distractor template's, on the same search crop."""
        if not self.distractors:
            return super().respond(batch)
        templates = [torch.cat(per_layer) for per_layer in zip(self.template, *self.distractors)]
        return self.model.track(templates, batch.expand(len(templates[0]), *batch.shape[1:]))

    def locate(self, outputs: dict) -> Located:
        k = self.anchors.shape[1]
        cls, loc = outputs["cls"], outputs["loc"][0]
        scores = torch.softmax(cls.reshape(len(cls), 2, k, *cls.shape[-2:]), 1)[:, 1].cpu().numpy()
        score = scores[0]
        dx, dy, dw, dh = loc.reshape(4, k, *loc.shape[-2:]).cpu().numpy()
        acx, acy, aw, ah = self.anchors
        # Bounded exponents: fresh or diverged weights give dw, dh beyond float32's exp, and one infinite size
        # turns the tracked box into NaN for good; e^10 times an anchor is larger than any image.
        dw, dh = np.clip(dw, -10, 10), np.clip(dh, -10, 10)
        cx, cy, w, h = dx * aw + acx, dy * ah + acy, np.exp(dw) * aw, np.exp(dh) * ah
        scale_z = EXEMPLAR_SIZE / context_side(*self.size)  # crop pixels per image pixel
        target_w, target_h = self.size * scale_z
        # SiamRPN section 4.3: penalty = exp(-(r' s' - 1) k), r' and s' the changes of aspect ratio and scale.
        scale_change = _change(context_side(w, h) / context_side(target_w, target_h))
        ratio_change = _change((target_w / target_h) / (w / h))
        penalty = np.exp(-(ratio_change * scale_change - 1) * self.penalty_k)
        # DaSiamRPN eq. 3 with equal distractor weights alpha_i: the target's response minus alpha-hat times
        # the distractors' mean response.
        rescored = score - self.distractor_weight * scores[1:].mean(0) if len(scores) > 1 else score
        ranked = self.windowed(penalty * rescored, self.window)
        best = np.unravel_index(np.argmax(ranked), ranked.shape)
        if self.distractor_weight > 0:
            proposals = np.stack([cx, cy, w, h], -1)
            self.distractor_boxes = self._distractor_boxes(penalty * score, proposals, best, scale_z)
        rate = float(penalty[best] * score[best] * self.size_lr)
        offset = (cx[best] - self.search_size / 2, cy[best] - self.search_size / 2)
        return Located(offset, 0, (w[best] / scale_z, h[best] / scale_z), rate, float(score[best]), best[1:],
                       int(best[0]))

    def _distractor_boxes(self, scores: np.ndarray, proposals: np.ndarray, best: tuple, scale_z: float) -> list:
        """The highest-scoring proposals above the threshold that overlap neither the chosen box nor each
        other (non-maximum suppression), as image [cx, cy, w, h] for the next frame's templates."""
        kept = [proposals[best]]
        for index in np.argsort(scores, axis=None)[::-1]:
            cell = np.unravel_index(index, scores.shape)
            if scores[cell] <= self.distractor_threshold or len(kept) > self.max_distractors:
                break
            if iou_with_box(np.array(kept).T, cxcywh_to_xywh(proposals[cell])).max() <= self.distractor_overlap:
                kept.append(proposals[cell])
        offsets = np.array(kept[1:]).reshape(-1, 4)
        centres = self.centre + (offsets[:, :2] - self.search_size / 2) / scale_z
        return [np.concatenate([c, size / scale_z]) for c, size in zip(centres, offsets[:, 2:])]
