"""SiamMask's tracking (Wang et al. 2019, section 3.4): SiamRPN++'s box search, then the mask of the best
position (refined when the network has the refinement module) pasted into the image; the reported box is
the mask's axis-aligned bounding box (`mask_box`, else the box search's, as pysot reports it), and for VOT
its rotated minimum-area rectangle."""
from __future__ import annotations

import cv2
import numpy as np
import torch

from models.geometry import EXEMPLAR_SIZE, context_side
from models.targets import cell_centres
from models.trackers.base import Located, Prediction
from models.trackers.siamrpn import SiamRPNTracker

MIN_REGION_AREA = 100.0  # px: a smaller mask region is noise and the box stands (pysot's SiamMaskTracker)


def mask_in_image(probabilities: np.ndarray, window: tuple[float, float, float], image_shape,
                  released: bool = False) -> np.ndarray:
    """Paste a square mask covering the image window (left, top, side) (continuous coordinates) into the
    image: float probabilities of the image's size, 0 outside the window. `released`: pysot's mapping, which
    takes the window in pixel-centre coordinates and scales by (size - 1) / size (its _crop_back)."""
    left, top, side = window
    height, width = image_shape[:2]
    step = side / probabilities.shape[0]  # image pixels per mask pixel
    if released:
        a, b = (width - 1) / width * step, (height - 1) / height * step
        matrix = np.array([[a, 0, a / step * (left - 0.5)], [0, b, b / step * (top - 0.5)]])
    else:  # mask pixel j (centre j + 0.5) lies at image x = left + (j + 0.5) step, pixel index x - 0.5
        matrix = np.array([[step, 0, left + 0.5 * step - 0.5], [0, step, top + 0.5 * step - 0.5]])
    return cv2.warpAffine(probabilities.astype(np.float32), matrix, (width, height), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def mask_regions(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(axis-aligned box [x, y, w, h], rotated rectangle corners (4, 2)) of a binary mask's largest region, in
    continuous coordinates (pixel i spans [i, i + 1)); None when no region reaches MIN_REGION_AREA."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return None
    largest = max(contours, key=cv2.contourArea)
    if cv2.contourArea(largest) <= MIN_REGION_AREA:
        return None
    x, y, w, h = cv2.boundingRect(largest)
    # The contour runs through pixel centres (index i is continuous i + 0.5).
    return np.array([x, y, w, h], float), cv2.boxPoints(cv2.minAreaRect(largest)) + 0.5


def box_corners(box) -> np.ndarray:
    x, y, w, h = box
    return np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], float)


class SiamMaskTracker(SiamRPNTracker):
    def __init__(self, model, search_size: int = 255, penalty_k: float = 0.04, window_influence: float = 0.44,
                 size_lr: float = 0.33, mask_threshold: float = 0.35, rotated: bool = False, mask_box: bool = True,
                 crop: str = "warp", device: str = "cpu"):
        super().__init__(model, search_size, penalty_k, window_influence, size_lr, crop=crop, device=device)
        self.mask_threshold, self.rotated, self.mask_box = mask_threshold, rotated, mask_box

    def locate(self, outputs: dict) -> Located:
        located = super().locate(outputs)
        self.last = outputs, located.cell  # the mask is read once the state is updated
        return located

    def update(self, image: np.ndarray) -> Prediction:
        side = context_side(*self.size) * self.search_size / EXEMPLAR_SIZE
        if self.crop_method != "warp":
            side = round(side)  # the released tracker places the mask in the rounded crop it cut
        crop_centre, image_per_crop = self.centre.copy(), side / self.search_size
        prediction = super().update(image)
        outputs, (row, col) = self.last
        with torch.no_grad():
            if self.model.refine is not None:
                where = torch.tensor([[0, row, col]], device=self.device)
                logits = self.model.refine(outputs["mask_features"], outputs["stages"], where)[0, 0]
            else:
                size = self.model.config["mask_size"]
                logits = outputs["mask"][0, :, row, col].reshape(size, size)
        centres = cell_centres(self.anchors.shape[-1], self.model.backbone.stride, self.search_size)
        offset = (np.array([centres[col], centres[row]]) - self.search_size / 2) * image_per_crop
        window_side = EXEMPLAR_SIZE * image_per_crop
        left, top = crop_centre + offset - window_side / 2
        probabilities = mask_in_image(torch.sigmoid(logits).cpu().numpy(), (left, top, window_side), image.shape,
                                      released=self.crop_method != "warp")
        mask = probabilities > self.mask_threshold
        regions = mask_regions(mask)
        box = prediction.box if regions is None or not self.mask_box else regions[0]
        polygon = box_corners(prediction.box) if regions is None else regions[1]
        return Prediction(box, prediction.score, mask.astype(np.uint8), polygon if self.rotated else None)
