"""Boxes and the one crop function, shared by curation, augmentation and trackers.

Boxes are [x, y, w, h] floats, 0-based continuous pixel coordinates, (x, y) the top-left corner: pixel
(i, j) covers [i, i + 1) x [j, j + 1) and its centre is (i + 0.5, j + 0.5).
"""
from __future__ import annotations

import cv2
import numpy as np

# SiamFC section 2.4 (dataset curation): the exemplar is 127 x 127 and a margin p = (w + h) / 4 is added on
# each side, so the region is (w + 2p) x (h + 2p) = (w + c (w + h)) x (h + c (w + h)) with c = 0.5.
EXEMPLAR_SIZE = 127
CONTEXT_AMOUNT = 0.5


def xywh_to_cxcywh(box):
    x, y, w, h = box
    return x + w / 2, y + h / 2, w, h


def cxcywh_to_xywh(box):
    cx, cy, w, h = box
    return cx - w / 2, cy - h / 2, w, h


def context_side(w, h, context: float = CONTEXT_AMOUNT):
    """Side s_z of the square exemplar region around a w x h target: s_z^2 = (w + p)(h + p), p = c (w + h).
    Scalars or arrays."""
    p = context * (w + h)
    return np.sqrt((w + p) * (h + p))


CROP_METHODS = ("warp", "pysot", "siamfc-pytorch")


def crop(image: np.ndarray, centre: tuple[float, float], side: float, out_size: int,
         pad_colour=None, method: str = "warp") -> np.ndarray:
    """The square region of `side` pixels centred on `centre`, resampled to out_size x out_size.

    "warp" (training and, by default, tracking): sub-pixel, the region's continuous edges map exactly onto
    the output's edges (bilinear cv2.warpAffine); outside the image it is filled with `pad_colour`, by
    default the image's mean colour. "pysot" and "siamfc-pytorch": the released trackers' test-time crop, an
    integer window cut out and resized (integer_window_crop).
    """
    if method != "warp":
        return integer_window_crop(image, centre, side, out_size, cv2.mean(image) if pad_colour is None else pad_colour,
                                   method)
    scale = out_size / side
    cx, cy = centre
    # Output index j has centre j + 0.5 = (u - (cx - side / 2)) * scale, with u = i + 0.5 the source centre.
    tx = scale * (side / 2 - cx + 0.5) - 0.5
    ty = scale * (side / 2 - cy + 0.5) - 0.5
    matrix = np.array([[scale, 0, tx], [0, scale, ty]], np.float64)
    if pad_colour is None:
        pad_colour = cv2.mean(image)  # per channel; ten times faster than ndarray.mean on uint8 images
    return cv2.warpAffine(image, matrix, (out_size, out_size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=tuple(float(v) for v in np.ravel(pad_colour)))


def integer_window_crop(image: np.ndarray, centre, side: float, out_size: int, pad_colour, rule: str) -> np.ndarray:
    """The crop of pysot (and DaSiamRPN) or siamfc-pytorch at test time: a window of round(side) whole pixels
    (Python's round, ties to even), padded with the mean colour where it leaves the image, then resized
    bilinearly to out_size (unless it already has that size). Their centres are pixel-centre coordinates,
    ours continuous, so theirs is ours minus 0.5. The first column: pysot floor(c - (n + 1) / 2 + 0.5), the
    padding the mean truncated to uint8; siamfc-pytorch round(c - (n - 1) / 2), the padding rounded (OpenCV's
    copyMakeBorder). DaSiamRPN rounds half away from zero, which differs from pysot only at exact ties."""
    n = round(float(side))
    peer_centre = np.asarray(centre, np.float64) - 0.5
    if rule == "pysot":
        first = np.floor(peer_centre - (n + 1) / 2 + 0.5).astype(int)
        colour = np.floor(np.ravel(pad_colour)[:3])
    else:
        first = np.round(peer_centre - (n - 1) / 2).astype(int)
        colour = np.rint(np.ravel(pad_colour)[:3])
    patch = np.empty((n, n, image.shape[2]), image.dtype)
    patch[...] = np.clip(colour, 0, 255).astype(image.dtype)
    x0, y0 = first
    left, top = max(x0, 0), max(y0, 0)
    right, bottom = min(x0 + n, image.shape[1]), min(y0 + n, image.shape[0])
    if right > left and bottom > top:
        patch[top - y0:bottom - y0, left - x0:right - x0] = image[top:bottom, left:right]
    return patch if n == out_size else cv2.resize(patch, (out_size, out_size), interpolation=cv2.INTER_LINEAR)


def box_in_crop(box, centre: tuple[float, float], side: float, out_size: int):
    """Where an image box lands in the crop made by crop(image, centre, side, out_size)."""
    scale = out_size / side
    x, y, w, h = box
    return ((x - (centre[0] - side / 2)) * scale, (y - (centre[1] - side / 2)) * scale, w * scale, h * scale)


def polygon_mask(polygons, centre: tuple[float, float], side: float, out_size: int) -> np.ndarray:
    """The uint8 mask (0 or 255) of image polygons ((k, 2) arrays of x, y) in the crop of
    crop(image, centre, side, out_size), rasterized in crop space at 1/16 pixel precision."""
    scale = out_size / side
    origin = np.array([centre[0] - side / 2, centre[1] - side / 2])
    # Continuous crop coordinates minus 0.5 are OpenCV's pixel-index coordinates; shift=4 keeps 4 fraction bits.
    points = [np.round(((np.asarray(p, np.float64) - origin) * scale - 0.5) * 16).astype(np.int32) for p in polygons]
    mask = np.zeros((out_size, out_size), np.uint8)
    cv2.fillPoly(mask, points, 255, lineType=cv2.LINE_8, shift=4)
    return mask


def search_region(box, out_size: int, exemplar_size: int = EXEMPLAR_SIZE, context: float = CONTEXT_AMOUNT):
    """SiamFC's context region around a box: (centre, side) of the square that a crop of out_size px
    covers when the exemplar region s_z is scaled to exemplar_size px (side = s_z * out_size / exemplar_size)."""
    cx, cy, w, h = xywh_to_cxcywh(box)
    return (cx, cy), context_side(w, h, context) * out_size / exemplar_size


def crop_around_box(image: np.ndarray, box, out_size: int, exemplar_size: int = EXEMPLAR_SIZE,
                    context: float = CONTEXT_AMOUNT, pad_colour=None):
    """SiamFC's context crop of `box`, out_size px. Returns (crop, box in crop coordinates)."""
    centre, side = search_region(box, out_size, exemplar_size, context)
    return crop(image, centre, side, out_size, pad_colour), box_in_crop(box, centre, side, out_size)
