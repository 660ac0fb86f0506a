"""The renderer: textured objects of a few categories over textured, panning backgrounds.

A clip has scale and aspect change, partial and full occlusion, objects leaving the view, same-category
distractors, motion blur and illumination change. Every draw comes from the generator passed in, in a
fixed order, so a clip is a function of that generator's seed alone.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import cv2
import numpy as np


@dataclass(frozen=True)
class Category:
    name: str          # COCO / YouTube-BB class name
    wnid: str          # ImageNet VID / DET synset
    vid_index: int     # position in ImageNet VID's 30-class list (ImageSets/VID/train_<k>.txt)
    coco_id: int
    ytbb_id: int
    shape: tuple       # polygon in the unit square whose bounding box is exactly [0, 1] x [0, 1]
    colour: tuple      # base BGR colour


def _ellipse(n=24):
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return tuple(zip(0.5 + 0.5 * np.cos(t), 0.5 + 0.5 * np.sin(t)))


CATEGORIES = (
    Category("airplane", "n02691156", 1, 5, 13,
             ((0.4, 0), (0.6, 0), (0.6, 0.4), (1, 0.45), (1, 0.6), (0.6, 0.6), (0.6, 1), (0.4, 1),
              (0.4, 0.6), (0, 0.6), (0, 0.45), (0.4, 0.4)), (200, 200, 210)),
    Category("car", "n02958343", 7, 3, 23, ((0, 0.3), (0.25, 0), (0.75, 0), (1, 0.3), (1, 1), (0, 1)),
             (40, 40, 200)),
    Category("dog", "n02084071", 9, 18, 19, _ellipse(), (60, 110, 160)),
    Category("bird", "n01503061", 5, 16, 1, ((0.5, 0), (1, 1), (0, 1)), (200, 120, 40)),
    Category("boat", "n04530566", 28, 9, 3, ((0, 0), (1, 0), (0.75, 1), (0.25, 1)), (240, 240, 240)),
    Category("horse", "n02374451", 15, 19, 10, ((0.5, 0), (1, 0.5), (0.5, 1), (0, 0.5)), (30, 70, 110)),
)


@dataclass
class Track:
    """One object through a clip: its full (unclipped) integer box per frame and what of it is seen."""
    category: Category
    boxes: np.ndarray         # (n, 4) int [x, y, w, h], may extend past the image
    visible: np.ndarray       # (n,) fraction of the object's pixels that are seen
    in_view: np.ndarray       # (n,) some part of the box lies inside the image

    def clipped(self, t: int, width: int, height: int) -> tuple[int, int, int, int] | None:
        x, y, w, h = (int(v) for v in self.boxes[t])
        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, width), min(y + h, height)
        return (x0, y0, x1 - x0, y1 - y0) if x1 > x0 and y1 > y0 else None


class _Layer(NamedTuple):
    """What is drawn into every frame, back to front: the objects, then an occluder (category None)."""
    category: Category | None
    boxes: np.ndarray         # (n, 4) int [x, y, w, h] per frame
    texture: np.ndarray       # resized to each frame's box


def _texture(rng, h, w, base, amplitude):
    """Multi-scale smooth noise around a base colour, plus a random stripe pattern."""
    acc = np.zeros((h, w, 3), np.float32)
    for octave, cells in enumerate((3, 9, 27)):
        grid = rng.random((cells, cells, 3), dtype=np.float32) - 0.5
        acc += cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC) * 0.6 ** octave
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    angle, period = rng.uniform(0, np.pi), rng.uniform(4, 16)
    stripes = np.sin((xx * np.cos(angle) + yy * np.sin(angle)) * 2 * np.pi / period)[..., None]
    img = np.asarray(base, np.float32) + amplitude * (acc + 0.25 * stripes)
    return np.clip(img, 0, 255).astype(np.uint8)


def _background(rng, h, w):
    img = _texture(rng, h, w, rng.uniform(40, 215, 3), rng.uniform(40, 100))
    for _ in range(rng.integers(4, 12)):  # clutter: flat rectangles of random colour
        x0, y0 = rng.integers(0, w), rng.integers(0, h)
        cv2.rectangle(img, (int(x0), int(y0)), (int(x0 + rng.integers(8, w // 4)), int(y0 + rng.integers(8, h // 4))),
                      tuple(int(c) for c in rng.integers(0, 256, 3)), -1)
    return img


def _walk(rng, n, start, sigma, low, high):
    """A clipped log-normal random walk: scale and aspect change."""
    return np.clip(start * np.exp(np.cumsum(rng.normal(0, sigma, n))), low, high)


def _trajectory(rng, n, width, height, size, speed, stay_in_view):
    """Object centres and sizes over n frames: smooth motion, bouncing off the borders or leaving the view."""
    area = _walk(rng, n, size ** 2, 0.04, (0.5 * size) ** 2, (1.8 * size) ** 2)
    aspect = _walk(rng, n, rng.uniform(0.5, 2.0), 0.03, 0.3, 3.0)  # w / h
    ws, hs = np.sqrt(area * aspect), np.sqrt(area / aspect)
    pos = np.array([rng.uniform(0.2, 0.8) * width, rng.uniform(0.2, 0.8) * height])
    vel = rng.normal(0, speed, 2)
    centres = np.empty((n, 2))
    for t in range(n):
        centres[t] = pos
        vel = np.clip(vel + rng.normal(0, 0.3 * speed, 2), -3 * speed, 3 * speed)
        pos = pos + vel
        if stay_in_view:
            for axis, limit in ((0, width), (1, height)):
                if not 0 <= pos[axis] < limit:
                    pos[axis] = np.clip(pos[axis], 0, limit - 1)
                    vel[axis] = -vel[axis]
    boxes = np.stack([centres[:, 0] - ws / 2, centres[:, 1] - hs / 2, ws, hs], 1)
    boxes = np.round(boxes).astype(np.int64)
    boxes[:, 2:] = np.maximum(boxes[:, 2:], 4)
    return boxes


def _polygon_mask(shape, w, h):
    pts = np.round(np.asarray(shape) * [w - 1, h - 1]).astype(np.int32)
    mask = np.zeros((h, w), np.uint8)
    cv2.fillPoly(mask, [pts], 1)
    return mask.astype(bool)


def _paste(frame, owner, owner_id, sprite, mask, x, y):
    """Draw `sprite` where `mask` is set with its top-left at (x, y), clipped to the frame."""
    fh, fw = frame.shape[:2]
    h, w = mask.shape
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, fw), min(y + h, fh)
    if x1 <= x0 or y1 <= y0:
        return
    m = mask[y0 - y:y1 - y, x0 - x:x1 - x]
    frame[y0:y1, x0:x1][m] = sprite[y0 - y:y1 - y, x0 - x:x1 - x][m]
    owner[y0:y1, x0:x1][m] = owner_id


def _motion_blur(img, dx, dy, length):
    kernel = np.zeros((length, length), np.float32)
    c = length // 2
    norm = max(np.hypot(dx, dy), 1e-6)
    cv2.line(kernel, (int(c - dx / norm * c), int(c - dy / norm * c)), (int(c + dx / norm * c), int(c + dy / norm * c)), 1)
    return cv2.filter2D(img, -1, kernel / kernel.sum())


def _camera_path(rng, n_frames, margin, pan):
    """The view's top-left corner per frame in a background `margin` larger on every side; 0 without `pan`."""
    # The camera pans: a smooth random walk of the view's top-left corner over the larger background.
    camera = margin + np.cumsum(rng.normal(0, 0.7, (n_frames, 2)), 0) if pan else np.zeros((n_frames, 2))
    return np.clip(np.round(camera), 0, 2 * margin).astype(int)


def _object_layers(rng, n_frames, width, height, categories, speed, stay_in_view):
    """One layer per category, the first (the target) kept in view when `stay_in_view`."""
    size = min(width, height)
    layers = []
    for k, category in enumerate(categories):
        boxes = _trajectory(rng, n_frames, width, height, rng.uniform(0.12, 0.35) * size, speed,
                            stay_in_view and k == 0)
        jitter = rng.uniform(-30, 30, 3)
        texture = _texture(rng, 96, 96, np.clip(np.asarray(category.colour) + jitter, 0, 255), 70)
        layers.append(_Layer(category, boxes, texture))
    return layers


def _occluder_layer(rng, target, n_frames):
    """A background-textured bar, larger than the target, that crosses the target's mid-clip position."""
    mid = n_frames // 2
    cx, cy = target[mid, 0] + target[mid, 2] / 2, target[mid, 1] + target[mid, 3] / 2
    ow, oh = 1.4 * target[mid, 2] + 4, 1.4 * target[mid, 3] + 4
    vel = rng.normal(0, 1, 2)
    vel = vel / max(np.hypot(*vel), 1e-6) * max(ow, oh) * 3 / max(n_frames, 1)
    t = np.arange(n_frames)[:, None] - mid
    centres = np.array([cx, cy]) + t * vel
    occ_boxes = np.round(np.concatenate([centres - [ow / 2, oh / 2], np.tile([ow, oh], (n_frames, 1))], 1))
    return _Layer(None, occ_boxes.astype(np.int64), _texture(rng, 96, 96, rng.uniform(40, 215, 3), 90))


def _illumination_gain(rng, n_frames):
    """A brightness factor per frame: a slow sinusoid of random depth, period and phase."""
    return 1 + rng.uniform(0, 0.35) * np.sin(2 * np.pi * np.arange(n_frames) / rng.uniform(20, 80)
                                             + rng.uniform(0, 2 * np.pi))


def _compose_frame(background, corner, layers, t, n_objects, width, height):
    """Frame t: the view at `corner` with the layers drawn in; returns it, each object's visible fraction and
    the owner of every pixel (k + 1 for layer k, 0 for the background)."""
    ox, oy = corner
    frame = background[oy:oy + height, ox:ox + width].copy()
    owner = np.zeros((height, width), np.int16)
    areas = []
    for k, layer in enumerate(layers):
        x, y, w, h = (int(v) for v in layer.boxes[t])
        mask = _polygon_mask(layer.category.shape, w, h) if layer.category else np.ones((h, w), bool)
        sprite = cv2.resize(layer.texture, (w, h), interpolation=cv2.INTER_LINEAR)
        _paste(frame, owner, k + 1, sprite, mask, x, y)
        areas.append(mask.sum())
    visible = [np.count_nonzero(owner == k + 1) / max(areas[k], 1) for k in range(n_objects)]
    return frame, visible, owner


def _camera_effects(rng, frame, gain, target_boxes, t):
    """Illumination change by `gain`, and now and then motion blur."""
    frame = cv2.convertScaleAbs(frame, alpha=float(gain))
    if t > 0 and rng.random() < 0.15:  # motion blur along the target's motion
        dx, dy = target_boxes[t, :2] - target_boxes[t - 1, :2]
        frame = _motion_blur(frame, dx, dy, int(rng.integers(3, 10)))
    return frame


def _tracks(layers, visible, width, height):
    """Each object's boxes, visible fraction and whether some part of it is inside the image, per frame."""
    tracks = []
    for layer, seen in zip(layers, visible):
        boxes = layer.boxes
        in_view = (boxes[:, 0] < width) & (boxes[:, 1] < height) & (boxes[:, 0] + boxes[:, 2] > 0) & \
                  (boxes[:, 1] + boxes[:, 3] > 0)
        tracks.append(Track(layer.category, boxes, seen, in_view))
    return tracks


def render_clip(rng, n_frames, width, height, categories, *, speed=2.0, stay_in_view=True, occluder=False,
                pan=True, effects=True, labels=False):
    """Render a clip. Returns (frames, tracks); the first category is the target, the rest move around it.

    The target never leaves the view when `stay_in_view`; the others always may. With `occluder`, a
    background-textured bar crosses the target's path in mid-clip (partial, often full occlusion). With
    `labels`, also each frame's label image: k + 1 on the pixels where object k is seen, else 0 (the
    segmentation ground truth). It draws nothing from `rng`: the clip is the same with or without.
    """
    margin = 32 if pan else 0
    background = _background(rng, height + 2 * margin, width + 2 * margin)
    camera = _camera_path(rng, n_frames, margin, pan)
    layers = _object_layers(rng, n_frames, width, height, categories, speed, stay_in_view)
    if occluder:
        layers.append(_occluder_layer(rng, layers[0].boxes, n_frames))
    gain = _illumination_gain(rng, n_frames)
    frames, owners = [], []
    visible = np.zeros((len(categories), n_frames))
    for t in range(n_frames):
        frame, visible[:, t], owner = _compose_frame(background, camera[t], layers, t, len(categories), width, height)
        if effects:
            frame = _camera_effects(rng, frame, gain[t], layers[0].boxes, t)
        frames.append(frame)
        owners.append(np.where(owner > len(categories), 0, owner).astype(np.uint8))  # the occluder is background
    tracks = _tracks(layers[:len(categories)], visible, width, height)
    return (frames, tracks, owners) if labels else (frames, tracks)


def clip_categories(rng, max_objects, distractor_prob=0.4):
    """Target category first; with some probability a same-category distractor, then other objects."""
    target = CATEGORIES[rng.integers(len(CATEGORIES))]
    cats = [target]
    if rng.random() < distractor_prob:
        cats.append(target)
    while len(cats) < max_objects and rng.random() < 0.5:
        cats.append(CATEGORIES[rng.integers(len(CATEGORIES))])
    return cats
