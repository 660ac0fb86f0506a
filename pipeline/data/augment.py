"""Augmentation: each training crop is cut again from the stored 511 px crop with the shared crop function.

A stored crop maps the target's context region s_z to 127 px (pipeline/curate.py), so a crop of N px
centred on the target at scale 1 is exactly what a tracker cuts at test time. Shifting and scaling that
crop moves the target off the centre: SiamRPN++ section 3.1 (spatial-aware sampling) shifts the search by
up to 64 px, so that the network does not learn a centre bias; pysot's defaults are 4 px / 0.05 for the
template and 64 px / 0.18 for the search. Then colour jitter, blur and flip, each with its probability.
Masks go through the same crop and flip. Every random draw comes from the pair's generator.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from models.geometry import box_in_crop, crop


@dataclass(frozen=True)
class CropAugment:
    """shift: px of the output crop, each axis uniform in [-shift, shift]; scale: the crop's side times
    1 + uniform(-scale, scale); blur, flip, colour: probabilities."""
    shift: float
    scale: float
    blur: float
    flip: float
    colour: float


def augment_crop(image: np.ndarray, box, out_size: int, settings: CropAugment, rng: np.random.Generator,
                 mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(crop, box [x, y, w, h] in it, mask crop or None) of out_size px around the stored crop's target."""
    x, y, w, h = box
    scale = 1 + rng.uniform(-settings.scale, settings.scale)
    shift = rng.uniform(-settings.shift, settings.shift, 2)
    side = out_size * scale
    # The target lands `shift` output pixels from the crop centre.
    centre = (x + w / 2 - shift[0] * scale, y + h / 2 - shift[1] * scale)
    out = crop(image, centre, side, out_size)
    out_box = np.array(box_in_crop(box, centre, side, out_size))
    out_mask = crop(mask, centre, side, out_size, pad_colour=0) if mask is not None else None
    if rng.random() < settings.colour:
        gain = rng.uniform(0.8, 1.2) * rng.uniform(0.9, 1.1, 3)  # contrast and a per-channel tint
        out = np.clip(out * gain + rng.uniform(-20, 20), 0, 255).astype(np.uint8)
    if rng.random() < settings.blur:
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.5, 2.0))
    if rng.random() < settings.flip:
        out = np.ascontiguousarray(out[:, ::-1])
        out_box[0] = out_size - out_box[0] - out_box[2]
        out_mask = np.ascontiguousarray(out_mask[:, ::-1]) if out_mask is not None else None
    return out, out_box, out_mask


def gray(image: np.ndarray) -> np.ndarray:
    """A BGR image with its colour removed (still 3 channels)."""
    return cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
