"""YouTube-VOS on fixtures in its real layout (train/meta.json, JPEGImages, Annotations as indexed PNGs): every
annotated object a track with its masks as polygons, and the bad cases as counted skips."""
import json

import cv2
import numpy as np
import pytest

from models.geometry import polygon_mask
from pipeline.common.errors import UserError
from pipeline.common.labels import encode_labels
from pipeline.data.sources.youtube_vos import mask_polygons
from tests.pipeline.data.sources.test_sources import build, jpeg, rows, skips, text


def labels_png(path, labels):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encode_labels(labels))


def fixture(root, objects, frames=("00000", "00005", "00010")):
    """Video v1 of 64x48 frames: object 1 a rectangle moving right, object 2 a disc present in the first two."""
    for t, name in enumerate(frames):
        jpeg(root / "train/JPEGImages/v1" / f"{name}.jpg")
        labels = np.zeros((48, 64), np.uint8)
        labels[10:20, 5 + 4 * t:25 + 4 * t] = 1
        if t < 2:
            cv2.circle(labels, (45, 30), 8, 2, -1)
        labels_png(root / "train/Annotations/v1" / f"{name}.png", labels)
    text(root / "train/meta.json", json.dumps({"videos": {"v1": {"objects": objects}}}))


def test_every_object_is_a_track_with_its_masks(tmp_path):
    fixture(tmp_path, {"1": {"category": "ape", "frames": ["00000", "00005", "00010"]},
                       "2": {"category": "duck", "frames": ["00000", "00005"]}})
    meta, frames, stats, _ = build(tmp_path, "youtube_vos", "train")
    assert stats["tracks"] == 2 and stats["object_frames"] == 5 and not skips(stats)
    assert rows(meta, frames)[:3] == [("v1", "1", f, f"train/JPEGImages/v1/{f:05d}.jpg", [5.0 + 4 * t, 10.0, 20.0, 10.0],
                                       1, "ape") for t, f in enumerate((0, 5, 10))]


def test_polygons_reproduce_the_mask():
    labels = np.zeros((48, 64), np.uint8)
    cv2.circle(labels, (30, 24), 12, 1, -1)
    labels[5:9, 50:60] = 1  # a second part
    polygons = [np.reshape(p, (-1, 2)) for p in mask_polygons(labels == 1)]
    assert len(polygons) == 2
    # rasterised back at the image's own scale (the curation's crop of the whole image)
    back = polygon_mask(polygons, (32, 24), 64, 64)[8:56] > 0
    iou = np.sum(back & (labels == 1)) / np.sum(back | (labels == 1))
    assert iou > 0.97, iou


def test_absent_frames_missing_and_bad_masks_and_bad_meta(tmp_path):
    fixture(tmp_path, {"1": {"category": "ape", "frames": ["00000", "00005", "00010", "00015"]},
                       "2": {"category": "duck", "frames": ["00000", "00005", "00010"]},
                       "x": {"category": "duck", "frames": ["00000"]}, "3": "duck", "4": {"category": "duck"}})
    cv2.imwrite(str(tmp_path / "train/Annotations/v1/00010.png"), np.zeros((48, 64, 3), np.uint8))
    meta, frames, stats, skipped = build(tmp_path, "youtube_vos", "train")
    # 00010 is an RGB PNG (both objects' frames there skipped), 00015 has no PNG, "x" is no object id, object 3
    # is not an object and 4 lists no frames
    assert skips(stats) == {"mask_unreadable": 2, "mask_missing": 1, "annotation_unparsable": 3}
    assert any("00015.png" in s.path for s in skipped if s.reason == "mask_missing")
    labels_png(tmp_path / "train/Annotations/v1/00010.png", np.zeros((48, 64), np.uint8))
    meta, frames, stats, _ = build(tmp_path, "youtube_vos", "train")
    assert stats["absent"] == 2  # listed, but the mask holds no pixel of either object there
    text(tmp_path / "train/meta.json", json.dumps({"videos": {"../../etc": {"objects": {}}}}))
    with pytest.raises(UserError, match="path_escapes_root"):
        build(tmp_path, "youtube_vos", "train")
    text(tmp_path / "train/meta.json", "{")
    with pytest.raises(UserError, match=r"meta.json: not valid JSON"):
        build(tmp_path, "youtube_vos", "train")
    text(tmp_path / "train/meta.json", "[]")
    with pytest.raises(UserError, match=r"meta.json: not a YouTube-VOS meta.json"):
        build(tmp_path, "youtube_vos", "train")
    with pytest.raises(UserError, match=r"valid/meta.json: no such file"):
        build(tmp_path, "youtube_vos", "valid")


def test_meta_naming_frames_without_images_is_counted(tmp_path):
    fixture(tmp_path, {"1": {"category": "ape", "frames": ["00000", "00005", "00010"]}})
    (tmp_path / "train/JPEGImages/v1/00005.jpg").unlink()
    _, _, stats, _ = build(tmp_path, "youtube_vos", "train")
    assert skips(stats) == {"image_missing": 1} and stats["object_frames"] == 2
