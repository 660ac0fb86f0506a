"""SiamMask's tracking (Wang et al. 2019, section 3.4): SiamRPN++'s box search, then the mask of the best
position (refined when the network has the refinement module) pasted into the image; the reported box is
the mask's axis-aligned bounding box, or for VOT its rotated minimum-area rectangle."""
from __future__ import annotations

import cv2
import numpy as np
import torch

from models.geometry import EXEMPLAR_SIZE, context_side
from models.targets import cell_centres
from models.trackers.base import Located, Prediction
from models.trackers.siamrpn import SiamRPNTracker


def mask_in_image(probabilities: np.ndarray, window_centre: tuple[float, float], crop_centre, scale: float,
                  search_size: int, image_shape) -> np.ndarray:
    """Paste a mask covering the EXEMPLAR_SIZE window centred on `window_centre` (search-crop coordinates)
    into the image: the crop was centred on image point `crop_centre` at `scale` crop pixels per image pixel.
    Returns float probabilities of the image's size (0 outside the window)."""
    side = probabilities.shape[0]
    step = EXEMPLAR_SIZE / side / scale  # image pixels per mask pixel
    # Mask pixel j (centre j + 0.5) lies at crop x = window_centre - EXEMPLAR_SIZE / 2 + (j + 0.5) EXEMPLAR_SIZE / side.
    origin = [crop_centre[i] + (window_centre[i] - EXEMPLAR_SIZE / 2 - search_size / 2) / scale for i in (0, 1)]
    matrix = np.array([[step, 0, origin[0] + 0.5 * step - 0.5], [0, step, origin[1] + 0.5 * step - 0.5]])
    return cv2.warpAffine(probabilities.astype(np.float32), matrix, (image_shape[1], image_shape[0]),
                          flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def mask_regions(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(axis-aligned box [x, y, w, h], rotated rectangle corners (4, 2)) of a binary mask's largest region."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    largest = max(contours, key=cv2.contourArea)
    x, y, w, h = cv2.boundingRect(largest)
    return np.array([x, y, w, h], float), cv2.boxPoints(cv2.minAreaRect(largest))


class SiamMaskTracker(SiamRPNTracker):
    def __init__(self, model, search_size: int = 255, penalty_k: float = 0.04, window_influence: float = 0.44,
                 size_lr: float = 0.33, mask_threshold: float = 0.35, rotated: bool = False, device: str = "cpu"):
        super().__init__(model, search_size, penalty_k, window_influence, size_lr, device=device)
        self.mask_threshold, self.rotated = mask_threshold, rotated

    def locate(self, outputs: dict) -> Located:
        located = super().locate(outputs)
        self.last = outputs, located.cell  # the mask is read once the state is updated
        return located

    def update(self, image: np.ndarray) -> Prediction:
        crop_centre, scale = self.centre.copy(), EXEMPLAR_SIZE / context_side(*self.size)
        prediction = super().update(image)
        outputs, (row, col) = self.last
        with torch.no_grad():
            if self.model.refine is not None:
                where = torch.tensor([[0, row, col]], device=self.device)
                logits = self.model.refine(outputs["mask_features"], outputs["stages"], where)[0, 0]
            else:
                side = self.model.config["mask_size"]
                logits = outputs["mask"][0, :, row, col].reshape(side, side)
        centres = cell_centres(self.anchors.shape[-1], self.model.backbone.stride, self.search_size)
        probabilities = mask_in_image(torch.sigmoid(logits).cpu().numpy(), (centres[col], centres[row]), crop_centre,
                                      scale, self.search_size, image.shape)
        mask = probabilities > self.mask_threshold
        regions = mask_regions(mask)
        if regions is None:  # no mask: the box search's answer stands
            return prediction
        box, polygon = regions
        return Prediction(box, prediction.score, mask.astype(np.uint8), polygon if self.rotated else None)
