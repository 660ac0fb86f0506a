"""The synthetic world: small datasets written in the exact raw formats of the real ones.

Textured objects of a few categories move over textured, panning backgrounds with scale and aspect
change, partial and full occlusion, leaving the view, same-category distractors, motion blur and
illumination change. From one seed it writes, byte for byte the same whatever the worker count:

  ILSVRC2015/   ImageNet VID 2015 (train + val) and ImageNet DET 2015 (train)
  coco/         COCO 2017 train (instances JSON with polygon and crowd RLE segmentations)
  youtube_bb/   YouTube-BB detection CSV and frames in the layout of youtube-bb-utility
  benchmarks/   synth-otb, synth-vot, synth-got10k, synth-lasot in the benchmarks' own layouts

Every video draws its randomness from (seed, dataset, video index) alone.
"""
from __future__ import annotations

import configparser
import csv
import io
import json
import os
import shutil
import string
import xml.etree.ElementTree as ET
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from pipeline import cli, experiment
from pipeline.params import SynthParams


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
DATASET_CODES = {"vid-train": 1, "vid-val": 2, "det": 3, "coco": 4, "ytbb": 5,
                 "synth-otb": 11, "synth-vot": 12, "synth-got10k": 13, "synth-lasot": 14}


# --------------------------------------------------------------------------------------------- rendering

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


def render_clip(rng, n_frames, width, height, categories, *, speed=2.0, stay_in_view=True, occluder=False,
                pan=True, effects=True):
    """Render a clip. Returns (frames, tracks); the first category is the target, the rest move around it.

    The target never leaves the view when `stay_in_view`; the others always may. With `occluder`, a
    background-textured bar crosses the target's path in mid-clip (partial, often full occlusion).
    """
    margin = 32 if pan else 0
    background = _background(rng, height + 2 * margin, width + 2 * margin)
    # The camera pans: a smooth random walk of the view's top-left corner over the larger background.
    camera = margin + np.cumsum(rng.normal(0, 0.7, (n_frames, 2)), 0) if pan else np.zeros((n_frames, 2))
    camera = np.clip(np.round(camera), 0, 2 * margin).astype(int)
    size = min(width, height)
    layers = []
    for k, category in enumerate(categories):
        boxes = _trajectory(rng, n_frames, width, height, rng.uniform(0.12, 0.35) * size, speed,
                            stay_in_view and k == 0)
        jitter = rng.uniform(-30, 30, 3)
        texture = _texture(rng, 96, 96, np.clip(np.asarray(category.colour) + jitter, 0, 255), 70)
        layers.append((category, boxes, texture))
    if occluder:
        target = layers[0][1]
        mid = n_frames // 2
        cx, cy = target[mid, 0] + target[mid, 2] / 2, target[mid, 1] + target[mid, 3] / 2
        ow, oh = 1.4 * target[mid, 2] + 4, 1.4 * target[mid, 3] + 4
        vel = rng.normal(0, 1, 2)
        vel = vel / max(np.hypot(*vel), 1e-6) * max(ow, oh) * 3 / max(n_frames, 1)
        t = np.arange(n_frames)[:, None] - mid
        centres = np.array([cx, cy]) + t * vel
        occ_boxes = np.round(np.concatenate([centres - [ow / 2, oh / 2], np.tile([ow, oh], (n_frames, 1))], 1))
        layers.append((None, occ_boxes.astype(np.int64), _texture(rng, 96, 96, rng.uniform(40, 215, 3), 90)))
    gain = 1 + rng.uniform(0, 0.35) * np.sin(2 * np.pi * np.arange(n_frames) / rng.uniform(20, 80)
                                            + rng.uniform(0, 2 * np.pi))
    frames = []
    visible = np.zeros((len(categories), n_frames))
    for t in range(n_frames):
        ox, oy = camera[t]
        frame = background[oy:oy + height, ox:ox + width].copy()
        owner = np.zeros((height, width), np.int16)
        areas = []
        for k, (category, boxes, texture) in enumerate(layers):
            x, y, w, h = (int(v) for v in boxes[t])
            mask = _polygon_mask(category.shape, w, h) if category else np.ones((h, w), bool)
            sprite = cv2.resize(texture, (w, h), interpolation=cv2.INTER_LINEAR)
            _paste(frame, owner, k + 1, sprite, mask, x, y)
            areas.append(mask.sum())
        for k in range(len(categories)):
            visible[k, t] = np.count_nonzero(owner == k + 1) / max(areas[k], 1)
        if effects:
            frame = cv2.convertScaleAbs(frame, alpha=float(gain[t]))
            if t > 0 and rng.random() < 0.15:  # motion blur along the target's motion
                dx, dy = layers[0][1][t, :2] - layers[0][1][t - 1, :2]
                frame = _motion_blur(frame, dx, dy, int(rng.integers(3, 10)))
        frames.append(frame)
    tracks = []
    for k, (category, boxes, _) in enumerate(layers[:len(categories)]):
        in_view = (boxes[:, 0] < width) & (boxes[:, 1] < height) & (boxes[:, 0] + boxes[:, 2] > 0) & \
                  (boxes[:, 1] + boxes[:, 3] > 0)
        tracks.append(Track(category, boxes, visible[k], in_view))
    return frames, tracks


def _clip_categories(rng, max_objects, distractor_prob=0.4):
    """Target category first; with some probability a same-category distractor, then other objects."""
    target = CATEGORIES[rng.integers(len(CATEGORIES))]
    cats = [target]
    if rng.random() < distractor_prob:
        cats.append(target)
    while len(cats) < max_objects and rng.random() < 0.5:
        cats.append(CATEGORIES[rng.integers(len(CATEGORIES))])
    return cats


# --------------------------------------------------------------------------------------------- writers

@dataclass(frozen=True)
class World:
    root: str           # the partial output folder being written
    params: SynthParams

    def rng(self, dataset: str, index: int):
        return np.random.default_rng(np.random.SeedSequence([self.params.seed, DATASET_CODES[dataset], index]))

    def encode(self, image) -> bytes:
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.params.jpeg_quality])
        if not ok:
            raise RuntimeError("OpenCV could not encode a JPEG")
        return data.tobytes()

    def write_jpeg(self, relpath: str, image):
        self.write_bytes(relpath, self.encode(image))

    def write_frames(self, pattern: str, frames):
        """Frames as pattern.format(1-based frame number), the benchmarks' numbering."""
        for t, frame in enumerate(frames):
            self.write_jpeg(pattern.format(t + 1), frame)

    def write_bytes(self, relpath: str, data: bytes):
        path = os.path.join(self.root, relpath)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)

    def write_text(self, relpath: str, text: str):
        self.write_bytes(relpath, text.encode())


def _imagenet_xml(folder, filename, width, height, objects, database):
    """An ImageNet VID/DET annotation; objects are dicts of child elements (bndbox as a dict)."""
    root = ET.Element("annotation")
    ET.SubElement(root, "folder").text = folder
    ET.SubElement(root, "filename").text = filename
    ET.SubElement(ET.SubElement(root, "source"), "database").text = database
    size = ET.SubElement(root, "size")
    ET.SubElement(size, "width").text = str(width)
    ET.SubElement(size, "height").text = str(height)
    for obj in objects:
        node = ET.SubElement(root, "object")
        for key, value in obj.items():
            child = ET.SubElement(node, key)
            if isinstance(value, dict):
                for k, v in value.items():
                    ET.SubElement(child, k).text = str(v)
            else:
                child.text = str(value)
    ET.indent(root, "\t")
    return ET.tostring(root, encoding="unicode") + "\n"


def _bndbox(box):
    # ImageNet boxes: xmin/ymin/xmax/ymax; siamflow reads w = xmax - xmin (pysot does the same).
    x, y, w, h = box
    return {"xmin": x, "ymin": y, "xmax": x + w, "ymax": y + h}


def _vid_job(world: World, split: str, index: int):
    p = world.params
    rng = world.rng(f"vid-{split}", index)
    cats = _clip_categories(rng, 3)
    frames, tracks = render_clip(rng, p.vid_frames, p.image_width, p.image_height, cats,
                                 stay_in_view=rng.random() < 0.7, occluder=rng.random() < 0.5)
    if split == "train":
        group = index * 4 // max(p.vid_train_videos, 1)  # snippets spread over ILSVRC2015_VID_train_0000..0003
        snippet = f"ILSVRC2015_VID_train_{group:04d}/ILSVRC2015_train_{index:08d}"
    else:
        snippet = f"ILSVRC2015_val_{index:08d}"
    for t, frame in enumerate(frames):
        objects = []
        for trackid, track in enumerate(tracks):
            box = track.clipped(t, p.image_width, p.image_height)
            if box is None or track.visible[t] == 0:
                continue  # ImageNet VID annotates an object only in the frames where it is seen
            objects.append({"trackid": trackid, "name": track.category.wnid, "bndbox": _bndbox(box),
                            "occluded": int(track.visible[t] < 0.5), "generated": 0})
        name = f"{t:06d}"
        world.write_jpeg(f"ILSVRC2015/Data/VID/{split}/{snippet}/{name}.JPEG", frame)
        world.write_text(f"ILSVRC2015/Annotations/VID/{split}/{snippet}/{name}.xml",
                         _imagenet_xml(snippet, name, p.image_width, p.image_height, objects, "ILSVRC_2015"))
    return snippet, sorted({c.vid_index for c in cats}), len(frames)


def _det_job(world: World, index: int):
    p = world.params
    rng = world.rng("det", index)
    n_objects = 0 if rng.random() < 0.1 else int(rng.integers(1, 4))  # some DET images have no object
    cats = [CATEGORIES[i] for i in rng.integers(len(CATEGORIES), size=n_objects)]
    frames, tracks = render_clip(rng, 1, p.image_width, p.image_height, cats, pan=False, effects=False)
    if index % 2 == 0 and cats:  # DET's nested folders: ILSVRC2013_train/<wnid>/<wnid>_N and 2014's flat ones
        stem = f"ILSVRC2013_train/{cats[0].wnid}/{cats[0].wnid}_{index}"
    else:
        stem = f"ILSVRC2014_train_{index // 100:04d}/ILSVRC2014_train_{index:08d}"
    objects = [{"name": t.category.wnid, "bndbox": _bndbox(box)} for t in tracks
               if (box := t.clipped(0, p.image_width, p.image_height)) is not None and t.visible[0] > 0]
    world.write_jpeg(f"ILSVRC2015/Data/DET/train/{stem}.JPEG", frames[0])
    folder, filename = stem.rsplit("/", 1)
    world.write_text(f"ILSVRC2015/Annotations/DET/train/{stem}.xml",
                     _imagenet_xml(folder, filename, p.image_width, p.image_height, objects, "ILSVRC_2014"))
    return stem


def _rle_fortran(mask):
    """COCO's uncompressed RLE: run lengths over the column-major mask, starting with a run of zeros."""
    flat = np.asfortranarray(mask).ravel(order="F").astype(np.uint8)
    change = np.flatnonzero(np.diff(np.concatenate([[0], flat, [1 - flat[-1]]])))
    return np.diff(np.concatenate([[0], change])).tolist()


def _coco_job(world: World, index: int):
    p = world.params
    rng = world.rng("coco", index)
    cats = [CATEGORIES[i] for i in rng.integers(len(CATEGORIES), size=int(rng.integers(1, 5)))]
    frames, tracks = render_clip(rng, 1, p.image_width, p.image_height, cats, stay_in_view=False,
                                 pan=False, effects=False)
    image_id = index + 1
    world.write_jpeg(f"coco/train2017/{image_id:012d}.jpg", frames[0])
    annotations = []
    for track in tracks:
        box = track.clipped(0, p.image_width, p.image_height)
        if box is None or track.visible[0] == 0:
            continue
        x, y, w, h = (int(v) for v in track.boxes[0])
        polygon = [round(float(v), 2) for px, py in track.category.shape
                   for v in (np.clip(x + px * w, 0, p.image_width), np.clip(y + py * h, 0, p.image_height))]
        mask = np.zeros((p.image_height, p.image_width), np.uint8)
        cv2.fillPoly(mask, [np.round(np.reshape(polygon, (-1, 2))).astype(np.int32)], 1)
        annotations.append({"image_id": image_id, "category_id": track.category.coco_id, "iscrowd": 0,
                            "bbox": [float(v) for v in box], "area": float(mask.sum()),
                            "segmentation": [polygon]})
    if rng.random() < 0.15:  # a crowd region: iscrowd=1 with an RLE segmentation, as COCO has
        x, y = int(rng.integers(0, p.image_width // 2)), int(rng.integers(0, p.image_height // 2))
        w, h = int(rng.integers(20, p.image_width // 2)), int(rng.integers(20, p.image_height // 2))
        mask = np.zeros((p.image_height, p.image_width), np.uint8)
        mask[y:y + h, x:x + w] = 1
        annotations.append({"image_id": image_id, "category_id": cats[0].coco_id, "iscrowd": 1,
                            "bbox": [float(x), float(y), float(w), float(h)], "area": float(mask.sum()),
                            "segmentation": {"counts": _rle_fortran(mask), "size": [p.image_height, p.image_width]}})
    image = {"id": image_id, "file_name": f"{image_id:012d}.jpg", "width": p.image_width,
             "height": p.image_height, "license": 1}
    return image, annotations


def _youtube_id(rng):
    alphabet = string.ascii_letters + string.digits + "-_"
    return "".join(alphabet[i] for i in rng.integers(len(alphabet), size=11))


def _ytbb_job(world: World, index: int):
    """One YouTube video, annotated at 1 frame per second; frames as youtube-bb-utility writes them."""
    p = world.params
    rng = world.rng("ytbb", index)
    youtube_id = _youtube_id(rng)
    cats = _clip_categories(rng, 2)
    frames, tracks = render_clip(rng, p.ytbb_timestamps, p.image_width, p.image_height, cats, speed=8.0,
                                 stay_in_view=False, occluder=rng.random() < 0.3)
    start_ms = int(rng.integers(0, 60)) * 1000
    rows = []
    object_ids = {}
    encoded = {}  # a frame is stored once per object that is present in it: encode it once
    for track in tracks:  # object ids count per class within a video
        object_id = object_ids[track.category.ytbb_id] = object_ids.get(track.category.ytbb_id, -1) + 1
        for t, frame in enumerate(frames):
            ts = start_ms + 1000 * t
            box = track.clipped(t, p.image_width, p.image_height)
            cls = track.category.ytbb_id
            if box is None or track.visible[t] == 0:
                rows.append([youtube_id, ts, cls, track.category.name, object_id, "absent", -1, -1, -1, -1])
                continue
            x, y, w, h = box
            rows.append([youtube_id, ts, cls, track.category.name, object_id, "present",
                         _norm(x / p.image_width), _norm((x + w) / p.image_width),
                         _norm(y / p.image_height), _norm((y + h) / p.image_height)])
            if t not in encoded:
                encoded[t] = world.encode(frame)
            world.write_bytes(f"youtube_bb/yt_bb_detection_train/{cls}/{youtube_id}_{ts}_{cls}_{object_id}.jpg",
                              encoded[t])
    return rows


def _norm(v):
    return float(f"{v:.6g}")


def _one_based(box):
    x, y, w, h = box
    return x + 1, y + 1, w, h


def _benchmark_job(world: World, benchmark: str, index: int):
    """One benchmark sequence: a single annotated target (plus unannotated distractors)."""
    p = world.params
    rng = world.rng(benchmark, index)
    cats = _clip_categories(rng, 3, distractor_prob=0.5)
    lasot = benchmark == "synth-lasot"
    frames, tracks = render_clip(rng, p.benchmark_frames, p.image_width, p.image_height, cats,
                                 stay_in_view=not lasot, occluder=rng.random() < 0.6)
    target = tracks[0]
    boxes = [target.clipped(t, p.image_width, p.image_height) for t in range(len(frames))]
    # Only LaSOT's targets leave the view; LaSOT writes 0,0,0,0 there and flags the frame out of view.
    rows = [",".join(str(v) for v in (_one_based(b) if b else (0, 0, 0, 0))) for b in boxes]
    name = f"{target.category.name}-{index + 1}" if lasot else f"{target.category.name.capitalize()}{index + 1:02d}"
    if benchmark == "synth-otb":
        seq = f"synth-otb/{name}"
        world.write_frames(f"benchmarks/{seq}/img/{{:04d}}.jpg", frames)
        world.write_text(f"benchmarks/{seq}/groundtruth_rect.txt", "\n".join(rows) + "\n")
    elif benchmark == "synth-vot":
        seq = f"synth-vot/{name}"
        world.write_frames(f"benchmarks/{seq}/color/{{:08d}}.jpg", frames)
        polygons = []
        for box in boxes:  # VOT's 8-value polygon: the box's corners, clockwise from the top-left
            x, y, w, h = _one_based(box)
            polygons.append(",".join(f"{v:g}" for v in (x, y, x + w, y, x + w, y + h, x, y + h)))
        world.write_text(f"benchmarks/{seq}/groundtruth.txt", "\n".join(polygons) + "\n")
    elif benchmark == "synth-got10k":
        name = f"GOT-10k_Val_{index + 1:06d}"
        seq = f"synth-got10k/val/{name}"
        world.write_frames(f"benchmarks/{seq}/{{:08d}}.jpg", frames)
        world.write_text(f"benchmarks/{seq}/groundtruth.txt", "\n".join(rows) + "\n")
        absent = target.visible < 0.05
        world.write_text(f"benchmarks/{seq}/absence.label", "".join(f"{int(a)}\n" for a in absent))
        # cover.label: the visible fraction in eighths, 0 (fully covered) to 8 (fully visible)
        world.write_text(f"benchmarks/{seq}/cover.label",
                         "".join(f"{int(np.floor(v * 8 + 1e-9))}\n" for v in target.visible))
        meta = configparser.ConfigParser()
        meta["METAINFO"] = {"url": f"synthetic://{benchmark}/{index}", "begin": "00:00:00",
                            "end": f"00:00:{len(frames) // 10:02d}", "anno_fps": "10Hz",
                            "object_class": target.category.name, "motion_class": "moving",
                            "major_class": "object", "root_class": "object", "motion_adverb": "smoothly",
                            "resolution": f"({p.image_width}, {p.image_height})"}
        buf = io.StringIO()
        meta.write(buf)
        world.write_text(f"benchmarks/{seq}/meta_info.ini", buf.getvalue())
    elif benchmark == "synth-lasot":
        cls = target.category.name
        seq = f"synth-lasot/{cls}/{name}"
        world.write_frames(f"benchmarks/{seq}/img/{{:08d}}.jpg", frames)
        world.write_text(f"benchmarks/{seq}/groundtruth.txt", "\n".join(rows) + "\n")
        occluded = (target.visible < 0.05) & target.in_view
        world.write_text(f"benchmarks/{seq}/full_occlusion.txt", ",".join(str(int(v)) for v in occluded) + "\n")
        world.write_text(f"benchmarks/{seq}/out_of_view.txt",
                         ",".join(str(int(b is None)) for b in boxes) + "\n")
        world.write_text(f"benchmarks/{seq}/nlp.txt", f"the {cls} moving around\n")
    return name


BENCHMARKS = ("synth-otb", "synth-vot", "synth-got10k", "synth-lasot")
BENCHMARK_LISTS = {"synth-vot": "list.txt", "synth-got10k": "val/list.txt", "synth-lasot": "testing_set.txt"}


def _jobs(p: SynthParams):
    yield from ((_vid_job, "train", i) for i in range(p.vid_train_videos))
    yield from ((_vid_job, "val", i) for i in range(p.vid_val_videos))
    yield from ((_det_job, i) for i in range(p.det_images))
    yield from ((_coco_job, i) for i in range(p.coco_images))
    yield from ((_ytbb_job, i) for i in range(p.ytbb_videos))
    counts = (p.otb_sequences, p.vot_sequences, p.got10k_sequences, p.lasot_sequences)
    for benchmark, count in zip(BENCHMARKS, counts):
        yield from ((_benchmark_job, benchmark, i) for i in range(count))


def _call(world, job):
    fn, *args = job
    return fn(world, *args)


def run(p: SynthParams, out: str | None = None) -> Path:
    """Write the world into `out` (default p.out) atomically: built beside it, then renamed into place."""
    out = Path(out or p.out)
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    world = World(str(partial), p)
    jobs = list(_jobs(p))
    results = {fn: [] for fn in (_vid_job, _det_job, _coco_job, _ytbb_job, _benchmark_job)}
    with ProcessPoolExecutor(max_workers=max(p.workers, 1)) as pool:
        # map() yields in submission order, so the aggregated files do not depend on the worker count.
        outputs = pool.map(_call, [world] * len(jobs), jobs, chunksize=4)
        for job, result in tqdm(zip(jobs, outputs), total=len(jobs), desc="synth", unit="video"):
            results[job[0]].append((job[1:], result))
    _write_indexes(world, results)
    if out.exists():
        shutil.rmtree(out)
    partial.rename(out)
    return out


def _write_indexes(world: World, results):
    """Files that list a whole dataset: ImageSets, the COCO JSON, the YouTube-BB CSV, benchmark lists."""
    by_class = {}
    val_lines = []
    for (split, _), (snippet, vid_indices, n_frames) in results[_vid_job]:
        if split == "train":
            for k in vid_indices:
                by_class.setdefault(k, []).append(f"{snippet} 1")
        else:
            val_lines += [f"{snippet}/{t:06d} {len(val_lines) + 1}" for t in range(n_frames)]
    for k, lines in sorted(by_class.items()):
        world.write_text(f"ILSVRC2015/ImageSets/VID/train_{k}.txt", "\n".join(lines) + "\n")
    world.write_text("ILSVRC2015/ImageSets/VID/val.txt", "\n".join(val_lines) + "\n")
    det_lines = [f"{stem} {i + 1}" for i, (_, stem) in enumerate(results[_det_job])]
    world.write_text("ILSVRC2015/ImageSets/DET/train.txt", "\n".join(det_lines) + "\n")

    images, annotations = [], []
    for _, (image, anns) in results[_coco_job]:
        images.append(image)
        for ann in anns:
            annotations.append({"id": len(annotations) + 1, **ann})
    coco = {"info": {"description": "siamflow synthetic world in COCO 2017 format", "version": "1.0"},
            "licenses": [{"id": 1, "name": "CC0", "url": ""}],
            "images": images, "annotations": annotations,
            "categories": [{"id": c.coco_id, "name": c.name, "supercategory": "object"}
                           for c in sorted(CATEGORIES, key=lambda c: c.coco_id)]}
    world.write_text("coco/annotations/instances_train2017.json", json.dumps(coco, separators=(",", ":")))

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")  # the real file has no header row
    for _, rows in results[_ytbb_job]:
        writer.writerows(rows)
    world.write_text("youtube_bb/yt_bb_detection_train.csv", buf.getvalue())

    names = {}
    for (benchmark, _), name in results[_benchmark_job]:
        names.setdefault(benchmark, []).append(name)
    for benchmark, list_file in BENCHMARK_LISTS.items():  # OTB has no list file: its folders are the list
        if names.get(benchmark):
            world.write_text(f"benchmarks/{benchmark}/{list_file}", "\n".join(names[benchmark]) + "\n")


def main() -> None:
    parser = cli.stage_parser("pipeline.synth", "Write the synthetic world (raw formats of VID, DET, COCO, "
                                                "YouTube-BB and the benchmark sets), deterministic from synth.seed.")
    parser.add_argument("--out", help="output folder (default: synth.out in params)")
    args = parser.parse_args()
    params = cli.params_from_args(args)
    p = params.synth
    out = run(p, args.out)
    print(f"synth: wrote {out} (seed {p.seed})")
    experiment.log_stage(params.mlflow, "synth", vars(p), {}, [])


if __name__ == "__main__":
    cli.run(main, "synth")
