"""The tracker base: it owns the crops (the shared crop function), the cosine window and the smoothing of
the target's state; a variant implements `locate`, turning the network's outputs into a new position and
size. Images are BGR uint8 arrays; boxes 0-based [x, y, w, h]."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

from models import ModelError
from models.geometry import EXEMPLAR_SIZE, context_side, crop
from models.inputs import to_input

MIN_SIZE = 10.0  # px: a target shrinking below this is held at it


@dataclass
class Prediction:
    box: np.ndarray              # 0-based [x, y, w, h]
    score: float
    mask: np.ndarray | None = None      # uint8 0/1 image-sized mask (SiamMask)
    polygon: np.ndarray | None = None   # (4, 2) rotated rectangle corners (SiamMask on VOT)


@dataclass
class Located:
    """A variant's reading of its outputs: the target's offset from the crop centre in crop pixels (of crop
    `crop_index`), its proposed size in image pixels, the rate at which the size follows the proposal, the
    confidence, and the score-map cell (row, column) it came from."""
    offset: tuple[float, float]
    crop_index: int
    size: tuple[float, float]
    rate: float
    score: float
    cell: tuple[int, int] | None = None
    anchor: int | None = None


def cosine_window(size: int, normalized: bool = True) -> np.ndarray:
    """The outer product of two Hann windows (SiamFC section 2.4: penalizing large displacements), normalized
    to sum 1 for SiamFC's normalized response, or peaking at 1 for the RPN trackers' probabilities (as the
    released SiamRPN, DaSiamRPN and pysot blend it)."""
    window = np.outer(np.hanning(size), np.hanning(size))
    return window / window.sum() if normalized else window


class Tracker:
    """Search crops of `search_size` px around the last position at each of `scales` (1.0 for one scale);
    the context amount and exemplar size are those of training (models/geometry.py).

    `crop`: "warp", the sub-pixel crop of training, or "resize", the integer-window crop of the reference
    implementation this tracker follows (`resize_rule`, models/geometry.py integer_window_crop).
    """
    scales: tuple[float, ...] = (1.0,)
    resize_rule = "pysot"

    def __init__(self, model, search_size: int = 255, window_influence: float = 0.0, crop: str = "warp",
                 device: str = "cpu"):
        if crop not in ("warp", "resize"):
            raise ModelError(f"crop must be warp or resize, got {crop!r}")
        self.model = model.eval().to(device) if model is not None else None
        self.search_size, self.window_influence, self.device = search_size, window_influence, device
        self.crop_method = "warp" if crop == "warp" else self.resize_rule
        self.located: Located | None = None  # the last update's reading, for inspection

    def init(self, image: np.ndarray, box) -> None:
        x, y, w, h = (float(v) for v in box)
        self.centre, self.size = np.array([x + w / 2, y + h / 2]), np.array([w, h])
        self.image_size = np.array(image.shape[1::-1], float)
        self.mean_colour = cv2.mean(image)
        if self.model is not None:
            self.template = self.embed(image, self.centre, self.size)

    def embed(self, image: np.ndarray, centre, size) -> list:
        """The network's template features of the object at `centre` of `size` (w, h) in the image."""
        exemplar = crop(image, centre, context_side(*size), EXEMPLAR_SIZE, self.mean_colour, self.crop_method)
        with torch.no_grad():
            return self.model.embed_template(to_input([exemplar], self.device))

    def update(self, image: np.ndarray) -> Prediction:
        side = context_side(*self.size) * self.search_size / EXEMPLAR_SIZE
        sides = [side * s for s in self.scales]
        crops = [crop(image, self.centre, s, self.search_size, self.mean_colour, self.crop_method) for s in sides]
        with torch.no_grad():
            outputs = self.respond(to_input(crops, self.device))
        located = self.located = self.locate(outputs)
        crop_scale = self.search_size / sides[located.crop_index]  # crop pixels per image pixel
        self.centre = np.clip(self.centre + np.array(located.offset) / crop_scale, 0, self.image_size)
        size = (1 - located.rate) * self.size + located.rate * np.array(located.size)
        self.size = np.clip(size, MIN_SIZE, self.image_size)
        return Prediction(self.box(), located.score)

    def respond(self, batch: torch.Tensor) -> dict:
        """The network's outputs for the search crops, each against the template."""
        template = [t.expand(len(batch), *t.shape[1:]) for t in self.template]
        return self.model.track(template, batch)

    def box(self) -> np.ndarray:
        return np.concatenate([self.centre - self.size / 2, self.size])

    def windowed(self, response: np.ndarray, window: np.ndarray) -> np.ndarray:
        """Blend the cosine window into a response map (SiamFC section 2.4, SiamRPN section 4.3)."""
        return (1 - self.window_influence) * response + self.window_influence * window

    def locate(self, outputs: dict) -> Located:
        raise NotImplementedError
