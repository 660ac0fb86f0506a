"""Label images as DAVIS and YouTube-VOS store them: indexed (palette) PNGs whose pixel values are object ids
(0 background; 255 void in DAVIS 2017), shown in the PASCAL VOC colour map that both datasets use."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np


def voc_palette() -> list[int]:
    """The PASCAL VOC colour map (256 RGB triples, flat): id k's colour spreads k's bits over the three
    channels, most significant first, so that small ids get distinct, saturated colours."""
    palette = []
    for k in range(256):
        rgb, value = [0, 0, 0], k
        for shift in range(7, -1, -1):
            for channel in range(3):
                rgb[channel] |= ((value >> channel) & 1) << shift
            value >>= 3
        palette += rgb
    return palette


def encode_labels(labels: np.ndarray) -> bytes:
    """An (H, W) array of ids 0-255 as an indexed PNG with the VOC palette."""
    from PIL import Image

    image = Image.fromarray(np.asarray(labels, np.uint8), mode="P")
    image.putpalette(voc_palette())
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def read_labels(path: str | Path) -> np.ndarray:
    """The ids of an indexed PNG (a grayscale one, as DAVIS 2016's 0/255 masks, is read as its values) as an
    (H, W) uint8 array; ValueError naming the file for anything else (an RGB image is not a label image)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            if image.mode not in ("P", "L", "1"):
                raise ValueError(f"{path}: a {image.mode} image, not an indexed (palette) or grayscale label PNG")
            return np.asarray(image.convert("L") if image.mode == "1" else image, np.uint8)
    except FileNotFoundError:
        raise ValueError(f"{path}: label image not found") from None
    except (UnidentifiedImageError, OSError) as err:
        raise ValueError(f"{path}: not a readable PNG ({err})") from None


def mask_box(mask: np.ndarray) -> np.ndarray:
    """The bounding box [x, y, w, h] of a non-empty mask's pixels (pixel i spans [i, i + 1))."""
    ys, xs = np.nonzero(mask)
    return np.array([xs.min(), ys.min(), xs.max() + 1 - xs.min(), ys.max() + 1 - ys.min()], float)
