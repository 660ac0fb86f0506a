"""SiamFC's tracking (Bertinetto et al. 2016, sections 2.4 and 4.1): a pyramid of search scales, the
17 x 17 score maps upsampled by bicubic interpolation, non-central scales penalized, a cosine window, and
the size following the best scale with damping."""
from __future__ import annotations

import cv2
import numpy as np

from models.trackers.base import Located, Tracker, cosine_window


class SiamFCTracker(Tracker):
    resize_rule = "siamfc-pytorch"

    def __init__(self, model, search_size: int = 255, scales: int = 3, scale_step: float = 1.0375,
                 scale_penalty: float = 0.9745, scale_lr: float = 0.59, window_influence: float = 0.176,
                 upsample: int = 16, crop: str = "warp", device: str = "cpu"):
        super().__init__(model, search_size, window_influence, crop, device)
        # 3 scales 1.0375^{-1, 0, 1} or 5 scales 1.025^{-2 .. 2} (section 4.1)
        self.scales = tuple(scale_step ** np.arange(-(scales // 2), scales // 2 + 1))
        self.scale_penalty, self.scale_lr, self.upsample = scale_penalty, scale_lr, upsample
        self.stride = model.backbone.stride
        self.window = None

    def locate(self, outputs: dict) -> Located:
        scores = outputs["score"][:, 0].cpu().numpy()
        size = scores.shape[-1] * self.upsample
        if self.window is None or self.window.shape[0] != size:
            self.window = cosine_window(size)
        responses = np.stack([cv2.resize(s, (size, size), interpolation=cv2.INTER_CUBIC) for s in scores])
        centre_scale = len(self.scales) // 2
        peaks = responses.reshape(len(responses), -1).max(1)
        peaks[np.arange(len(peaks)) != centre_scale] *= self.scale_penalty
        best = int(np.argmax(peaks))
        response = responses[best] - responses[best].min()
        response = self.windowed(response / max(response.sum(), 1e-12), self.window)
        row, col = np.unravel_index(np.argmax(response), response.shape)
        # An upsampled cell is stride / upsample search-crop pixels; the map is centred on the crop.
        offset = (np.array([col, row]) - (size - 1) / 2) * self.stride / self.upsample
        return Located(tuple(offset), best, tuple(self.size * self.scales[best]), self.scale_lr, float(peaks[best]))
