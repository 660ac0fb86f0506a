"""Each adapter on hand-written fixtures in the real formats, quirks and bad cases included."""
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline.data import index as dataset_index
from pipeline.common.errors import UserError
from pipeline.config.schema import DatasetSpec


def jpeg(path: Path, width=64, height=48):
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((height, width, 3), 128, np.uint8))


def text(path: Path, content: str):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)


def vid_xml(folder, filename, objects, width=64, height=48):
    body = "".join(
        f"<object>{'' if tid is None else f'<trackid>{tid}</trackid>'}<name>{name}</name>"
        f"<bndbox><xmax>{x1}</xmax><xmin>{x0}</xmin><ymax>{y1}</ymax><ymin>{y0}</ymin></bndbox>"
        f"<occluded>0</occluded><generated>0</generated></object>"
        for tid, name, (x0, y0, x1, y1) in objects)
    return (f"<annotation><folder>{folder}</folder><filename>{filename}</filename>"
            f"<source><database>ILSVRC_2015</database></source>"
            f"<size><width>{width}</width><height>{height}</height></size>{body}</annotation>")


def build(root, fmt, split):
    meta, images, frames, _, stats, skipped = dataset_index.build("fixture", DatasetSpec(fmt, str(root), split))
    return {**meta, "images": images}, frames, stats, skipped


def skips(stats):
    return {reason: n for reason, n in stats["skipped"].items() if n}


def rows(meta, frames):
    """Readable index rows: (video, track, frame, image, box, visible, category)."""
    out = []
    for r in frames:
        video, track, category = meta["tracks"][r["track"]]
        image = meta["images"][r["image"]] if r["image"] >= 0 else None
        out.append((meta["videos"][video], track, int(r["frame"]), image, [round(float(v), 3) for v in r["box"]],
                    int(r["visible"]), meta["categories"][category]))
    return out


def test_vid_snippet_groups_tracks_and_bad_cases(tmp_path):
    ann, data = tmp_path / "Annotations/VID/train", tmp_path / "Data/VID/train"
    a, b = "ILSVRC2015_VID_train_0000/ILSVRC2015_train_00000000", "ILSVRC2015_VID_train_0003/ILSVRC2015_train_00000001"
    for snippet in (a, b):
        for t in range(3):
            jpeg(data / snippet / f"{t:06d}.JPEG")
    text(ann / a / "000000.xml", vid_xml(a, "000000", [(0, "n02958343", (10, 5, 30, 25)), (1, "n02084071", (0, 0, 5, 5))]))
    text(ann / a / "000001.xml", vid_xml(a, "000001", [(0, "n02958343", (12, 5, 32, 25)),
                                                      (1, "n02084071", (60, 40, 70, 50))]))  # clipped at 64x48
    text(ann / a / "000002.xml", vid_xml(a, "000002", [(0, "n02958343", (20, 20, 20, 30))]))  # zero width
    text(ann / b / "000000.xml", "<annotation><object>")  # does not parse
    text(ann / b / "000001.xml", vid_xml(b, "000001", [(None, "n02958343", (1, 1, 9, 9))]))  # no trackid
    text(ann / b / "000002.xml", vid_xml(b, "000002", [(0, "n02958343", (100, 100, 120, 120))]))  # outside
    text(ann / b / "000003.xml", vid_xml(b, "000003", [(0, "n02958343", (1, 1, 9, 9))]))  # image missing
    meta, frames, stats, skipped = build(tmp_path, "imagenet_vid", "train")
    assert rows(meta, frames) == [
        (a, "0", 0, f"Data/VID/train/{a}/000000.JPEG", [10, 5, 20, 20], 1, "n02958343"),
        (a, "0", 1, f"Data/VID/train/{a}/000001.JPEG", [12, 5, 20, 20], 1, "n02958343"),
        (a, "1", 0, f"Data/VID/train/{a}/000000.JPEG", [0, 0, 5, 5], 1, "n02084071"),
        (a, "1", 1, f"Data/VID/train/{a}/000001.JPEG", [60, 40, 4, 8], 1, "n02084071"),
    ]
    assert stats["clipped"] == 1 and stats["videos"] == 1 and stats["tracks"] == 2
    assert skips(stats) == {"box_nonpositive": 1, "annotation_unparsable": 2, "box_outside_image": 1,
                            "image_missing": 1}
    assert any(s.reason == "annotation_unparsable" and s.path.endswith("000000.xml") for s in skipped)


def test_vid_val_split_has_no_group_folder(tmp_path):
    snippet = "ILSVRC2015_val_00000000"
    jpeg(tmp_path / "Data/VID/val" / snippet / "000000.JPEG")
    text(tmp_path / "Annotations/VID/val" / snippet / "000000.xml",
         vid_xml(snippet, "000000", [(3, "n02958343", (1, 2, 11, 12))]))
    meta, frames, stats, _ = build(tmp_path, "imagenet_vid", "val")
    assert meta["videos"] == [snippet] and meta["tracks"] == [[0, "3", 0]]


def test_det_nested_folders_and_images_without_objects(tmp_path):
    ann, data = tmp_path / "Annotations/DET/train", tmp_path / "Data/DET/train"
    nested, flat = "ILSVRC2013_train/n01440764/n01440764_10026", "ILSVRC2014_train_0000/ILSVRC2014_train_00000663"
    empty = "ILSVRC2014_train_0000/ILSVRC2014_train_00000664"
    for stem in (nested, flat, empty):
        jpeg(data / f"{stem}.JPEG")
    text(ann / f"{nested}.xml", vid_xml("n01440764", "n01440764_10026",
                                        [(None, "n01440764", (1, 1, 21, 11)), (None, "n01440764", (30, 20, 40, 40))]))
    text(ann / f"{flat}.xml", vid_xml("ILSVRC2014_train_0000", "ILSVRC2014_train_00000663",
                                      [(None, "n02958343", (5, 5, 15, 15))]))
    text(ann / f"{empty}.xml", vid_xml("ILSVRC2014_train_0000", "ILSVRC2014_train_00000664", []))
    meta, frames, stats, _ = build(tmp_path, "imagenet_det", "train")
    assert meta["videos"] == [nested, flat]
    assert stats["tracks"] == 3 and stats["object_frames"] == 3
    assert meta["images"] == [f"Data/DET/train/{nested}.JPEG", f"Data/DET/train/{flat}.JPEG"]
    assert skips(stats) == {"image_without_objects": 1}


def coco_file(root, images, annotations, split="train2017"):
    text(root / f"annotations/instances_{split}.json", json.dumps({
        "images": images, "annotations": annotations,
        "categories": [{"id": 3, "name": "car", "supercategory": "vehicle"}]}))


def test_coco_iscrowd_escaping_paths_and_unreadable_images(tmp_path):
    jpeg(tmp_path / "train2017/000000000001.jpg")
    (tmp_path / "train2017/000000000002.jpg").write_bytes(b"not a jpeg")
    images = [{"id": 1, "file_name": "000000000001.jpg", "width": 64, "height": 48},
              {"id": 2, "file_name": "000000000002.jpg", "width": 64, "height": 48},
              {"id": 3, "file_name": "../../../etc/passwd", "width": 64, "height": 48},
              {"id": 4, "file_name": "/etc/passwd", "width": 64, "height": 48}]
    polygon = [[1, 1, 10, 1, 10, 10]]
    annotations = [
        {"id": 10, "image_id": 1, "category_id": 3, "bbox": [2.5, 3.5, 10.0, 20.0], "iscrowd": 0, "segmentation": polygon},
        {"id": 11, "image_id": 1, "category_id": 3, "bbox": [0, 0, 30, 30], "iscrowd": 1,
         "segmentation": {"counts": [0, 3072], "size": [48, 64]}},
        {"id": 12, "image_id": 2, "category_id": 3, "bbox": [1, 1, 5, 5], "iscrowd": 0, "segmentation": polygon},
        {"id": 13, "image_id": 3, "category_id": 3, "bbox": [1, 1, 5, 5], "iscrowd": 0, "segmentation": polygon},
        {"id": 14, "image_id": 4, "category_id": 3, "bbox": [1, 1, 5, 5], "iscrowd": 0, "segmentation": polygon},
        {"id": 15, "image_id": 99, "category_id": 3, "bbox": [1, 1, 5, 5], "iscrowd": 0, "segmentation": polygon},
        {"id": 16, "image_id": 1, "category_id": 3, "bbox": [1, 1, -5, 5], "iscrowd": 0, "segmentation": polygon},
    ]
    coco_file(tmp_path, images, annotations)
    meta, frames, stats, _ = build(tmp_path, "coco", "train2017")
    assert rows(meta, frames) == [("000000000001", "10", 0, "train2017/000000000001.jpg",
                                   [2.5, 3.5, 10, 20], 1, "car")]
    assert skips(stats) == {"iscrowd": 1, "image_unreadable": 1, "path_escapes_root": 2,
                            "annotation_unparsable": 1, "box_nonpositive": 1}


def test_coco_bad_json_is_one_clear_error(tmp_path):
    text(tmp_path / "annotations/instances_train2017.json", '{"images": [')
    with pytest.raises(UserError, match=r"instances_train2017.json: not valid JSON"):
        build(tmp_path, "coco", "train2017")
    text(tmp_path / "annotations/instances_train2017.json", '{"images": []}')
    with pytest.raises(UserError, match=r"instances_train2017.json: not a COCO instances file"):
        build(tmp_path, "coco", "train2017")


YTBB_ROWS = """\
AAAAAAAAAAA,1000,23,car,0,present,0.1,0.5,0.25,0.75
AAAAAAAAAAA,2000,23,car,0,absent,-1.0,-1.0,-1.0,-1.0
AAAAAAAAAAA,3000,23,car,0,present,0.8,1.2,0.0,0.5
AAAAAAAAAAA,1000,19,dog,0,present,0.0,0.25,0.0,0.25
AAAAAAAAAAA,4000,23,car,0,present,0.1,0.2,0.1,0.2
BBBBBBBBBBB,0,1,bird,1,present,1.5,1.9,0.1,0.2
BBBBBBBBBBB,1000,1,bird,1,present,0.5
BBBBBBBBBBB,2000,1,bird,1,maybe,0.1,0.2,0.1,0.2
"""


def test_youtube_bb_absent_rows_normalized_boxes_and_bad_rows(tmp_path):
    text(tmp_path / "yt_bb_detection_train.csv", YTBB_ROWS)
    frames_dir = tmp_path / "yt_bb_detection_train"
    for row in YTBB_ROWS.splitlines()[:6]:
        ytid, ts, cls, _, obj, presence, *_ = row.split(",")
        if presence == "present" and ts != "4000":  # the 4000 ms frame was never downloaded
            jpeg(frames_dir / cls / f"{ytid}_{ts}_{cls}_{obj}.jpg", width=200, height=100)
    meta, frames, stats, _ = build(tmp_path, "youtube_bb", "train")
    car = "yt_bb_detection_train/23/AAAAAAAAAAA_{}_23_0.jpg"
    table = rows(meta, frames)
    assert [r[:4] for r in table] == [
        ("AAAAAAAAAAA", "19:0", 1000, "yt_bb_detection_train/19/AAAAAAAAAAA_1000_19_0.jpg"),
        ("AAAAAAAAAAA", "23:0", 1000, car.format(1000)),
        ("AAAAAAAAAAA", "23:0", 2000, None),
        ("AAAAAAAAAAA", "23:0", 3000, car.format(3000))]
    assert table[0][4] == [0, 0, 50, 25] and table[1][4] == [20, 25, 80, 50] and table[3][4] == [160, 0, 40, 50]
    assert table[2][5] == 0 and np.isnan(table[2][4]).all()
    assert stats["absent"] == 1 and stats["clipped"] == 1
    assert skips(stats) == {"image_missing": 1, "box_outside_image": 1, "annotation_unparsable": 2}


def test_duplicates_are_counted_not_repeated(tmp_path):
    text(tmp_path / "yt_bb_detection_train.csv", "CCCCCCCCCCC,0,1,bird,0,absent,-1,-1,-1,-1\n" * 2)
    meta, frames, stats, _ = build(tmp_path, "youtube_bb", "train")
    assert len(frames) == 1 and skips(stats) == {"duplicate": 1}


@pytest.mark.parametrize("fmt, split, missing", [
    ("imagenet_vid", "train", "Annotations/VID/train"), ("imagenet_det", "train", "Annotations/DET/train"),
    ("coco", "train2017", "annotations/instances_train2017.json"), ("youtube_bb", "train", "yt_bb_detection_train.csv")])
def test_missing_annotations_name_the_path(tmp_path, fmt, split, missing):
    with pytest.raises(UserError, match=f"{tmp_path / missing}: no such"):
        build(tmp_path, fmt, split)


def test_missing_root_and_unknown_format(tmp_path):
    with pytest.raises(UserError, match=r"dataset root of 'fixture' does not exist"):
        build(tmp_path / "nowhere", "coco", "train2017")
    with pytest.raises(UserError, match=r"unknown format 'pascal'"):
        build(tmp_path, "pascal", "train")


def test_annotation_files_that_are_not_text_are_one_clear_error(tmp_path):
    (tmp_path / "yt_bb_detection_train.csv").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(UserError, match=r"yt_bb_detection_train.csv: not a UTF-8 text file"):
        build(tmp_path, "youtube_bb", "train")
    (tmp_path / "annotations").mkdir()
    (tmp_path / "annotations/instances_train2017.json").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(UserError, match=r"instances_train2017.json: not valid JSON"):
        build(tmp_path, "coco", "train2017")


def test_images_too_large_for_the_index_are_counted(tmp_path):
    cv2.imwrite(str(tmp_path / "wide.png"), np.zeros((1, 70000, 3), np.uint8))
    jpeg(tmp_path / "ok.jpg")
    images = [{"id": 1, "file_name": "wide.png", "width": 70000, "height": 1},
              {"id": 2, "file_name": "ok.jpg", "width": 64, "height": 48}]
    annotations = [{"id": k, "image_id": k, "category_id": 3, "bbox": [0, 0, 1, 1], "iscrowd": 0} for k in (1, 2)]
    coco_file(tmp_path, images, annotations, split=".")
    meta, frames, stats, skipped = build(tmp_path, "coco", ".")
    assert len(frames) == 1 and skips(stats) == {"image_unreadable": 1}
    assert "70000x1 exceeds" in skipped[0].detail
