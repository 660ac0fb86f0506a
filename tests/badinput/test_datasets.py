"""Bad training-dataset input: each case is one line naming the file and the problem, or a counted skip.

Cases tested elsewhere (docs/reliability.md lists them): truncated and missing images at curation
(tests/pipeline/test_curate.py), missing images, zero-width and negative boxes, iscrowd, COCO paths out of the
root, YouTube-BB absent rows and coordinates out of [0, 1] at indexing (tests/pipeline/data/sources/test_sources.py).
"""
import csv
import json

import cv2
import numpy as np
import pytest

from pipeline import curate, index
from pipeline.common.errors import UserError
from pipeline.config.schema import DatasetSpec, IndexParams
from tests.badinput import error_line
from tests.conftest import run_module
from tests.pipeline.data.sources.test_sources import build, coco_file, jpeg, skips, text, vid_xml
from tests.pipeline.test_curate import curate_params

CAR = [{"id": 3, "name": "car"}]


def index_command(name, root, out):
    sets = [f"datasets.{name}.root={root}", f"index.out={out}/index", f"index.metrics={out}/metrics"]
    return run_module("pipeline.index", "--dataset", name, *(a for s in sets for a in ("--set", s)))


def coco_annotation(k, image_id=1, **fields):
    return {"id": k, "image_id": image_id, "category_id": 3, "bbox": [4, 4, 20, 20], "iscrowd": 0, **fields}


def test_empty_and_garbage_image_files_are_counted_and_reported_by_the_index_command(tmp_path):
    root = tmp_path / "coco"
    jpeg(root / "train2017/ok.jpg")
    (root / "train2017/empty.jpg").write_bytes(b"")
    (root / "train2017/garbage.jpg").write_bytes(np.random.default_rng(0).bytes(3000))
    images = [{"id": k, "file_name": f} for k, f in enumerate(["ok.jpg", "empty.jpg", "garbage.jpg"], 1)]
    coco_file(root, images, [coco_annotation(k, image_id=k) for k in (1, 2, 3)])
    result = index_command("coco", root, tmp_path)
    assert result.returncode == 0, result.stderr
    listing = tmp_path / "index/coco.skipped.tsv"
    assert f"index coco: skipped image_unreadable 2; every item in {listing}" in result.stdout
    rows = list(csv.DictReader(listing.open(), delimiter="\t"))
    assert [(r["reason"], r["path"]) for r in rows] == [("image_unreadable", f"{root}/train2017/empty.jpg"),
                                                        ("image_unreadable", f"{root}/train2017/garbage.jpg")]
    stats = json.loads((tmp_path / "metrics/coco.json").read_text())
    assert stats["skipped"]["image_unreadable"] == 2 and stats["object_frames"] == 1


def corrupt_jpeg(path, seed=0):
    """A JPEG with its header and end marker intact and its compressed data damaged in the middle."""
    image = np.random.default_rng(seed).integers(0, 255, (240, 320, 3), np.uint8)
    data = bytearray(cv2.imencode(".jpg", image)[1].tobytes())
    for i in range(2000, 2200):
        data[i] = 0xFF if i % 7 == 0 else data[i] ^ 0x5A
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(data))


def test_a_jpeg_with_corrupt_data_passes_the_header_check_and_is_a_counted_skip_at_curation(tmp_path):
    """The index reads headers only; with image_backend=pillow the decoder refuses damaged data (OpenCV's
    decodes it with a warning: docs/reliability.md)."""
    root = tmp_path / "coco"
    jpeg(root / "train2017/ok.jpg", 320, 240)
    corrupt_jpeg(root / "train2017/corrupt.jpg")
    coco_file(root, [{"id": 1, "file_name": "ok.jpg"}, {"id": 2, "file_name": "corrupt.jpg"}],
              [coco_annotation(1, image_id=1), coco_annotation(2, image_id=2)])
    spec, index_params = DatasetSpec("coco", str(root), "train2017"), IndexParams(str(tmp_path / "index"),
                                                                                   str(tmp_path / "im"))
    assert index.run("coco", spec, index_params)["object_frames"] == 2
    stats = curate.run("coco", spec, index_params, curate_params(tmp_path, "curate.image_backend=pillow"))
    assert stats["crops"] == 1 and {r: n for r, n in stats["skipped"].items() if n} == {"image_unreadable": 1}
    (reason, path, detail), = json.loads((tmp_path / "shards/coco/shard-00000.json").read_text())["skipped"]
    assert (reason, path) == ("image_unreadable", str(root / "train2017/corrupt.jpg"))
    assert detail.startswith("Pillow: ")


def vid_folder(root):
    folder = root / "Annotations/VID/train/ILSVRC2015_train_00000000"
    folder.mkdir(parents=True)
    return folder


@pytest.mark.parametrize("name, write, message", [
    ("coco", lambda root: text(root / "annotations/instances_train2017.json", ""),
     "{root}/annotations/instances_train2017.json: not valid JSON (Expecting value: line 1 column 1 (char 0))"),
    ("coco", lambda root: coco_file(root, [], []), "{root}: no annotations in dataset 'coco' (coco, split 'train2017')"),
    ("ytbb", lambda root: text(root / "yt_bb_detection_train.csv", ""),
     "{root}: no annotations in dataset 'ytbb' (youtube_bb, split 'train')"),
    ("vid", lambda root: vid_folder(root), "{root}: no annotations in dataset 'vid' (imagenet_vid, split 'train')"),
    ("ytvos", lambda root: text(root / "train/meta.json", '{"videos": {}}'),
     "{root}: no annotations in dataset 'ytvos' (youtube_vos, split 'train')"),
    ("vid", lambda root: (vid_folder(root) / "000000.xml").write_text(""),
     "{root}: nothing usable in dataset 'vid', all 1 items skipped (annotation_unparsable 1); first: "
     "{root}/Annotations/VID/train/ILSVRC2015_train_00000000/000000.xml: annotation_unparsable XML does not parse "
     "(no element found: line 1, column 0)"),
])
def test_empty_annotation_files_stop_the_index_command_with_one_line(tmp_path, name, write, message):
    root = tmp_path / "root"
    root.mkdir()
    write(root)
    assert error_line(index_command(name, root, tmp_path), "index") == message.format(root=root)
    assert not (tmp_path / "index" / f"{name}.json").exists()


def test_an_index_with_every_item_skipped_is_refused_with_the_count_and_the_first_reason(tmp_path):
    coco_file(tmp_path, [{"id": 1, "file_name": "gone.jpg"}], [coco_annotation(k) for k in (1, 2)])
    with pytest.raises(UserError) as err:
        build(tmp_path, "coco", "train2017")
    assert str(err.value) == (f"{tmp_path}: nothing usable in dataset 'fixture', all 2 items skipped (image_missing 2); "
                              f"first: {tmp_path}/train2017/gone.jpg: image_missing")


def test_imagenet_xml_with_missing_fields_entities_or_bytes_is_a_counted_skip(tmp_path):
    folder = vid_folder(tmp_path)
    snippet = folder.name
    box = "<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>9</xmax><ymax>9</ymax></bndbox>"
    laughs = "".join(f'<!ENTITY {b} "{("&" + a + ";") * 10}">' for a, b in zip("abcdefgh", "bcdefghi"))
    bad = {
        "000001": f"<annotation><object><trackid>0</trackid>{box}</object></annotation>",  # no name
        "000002": "<annotation><object><trackid>0</trackid><name>n1</name></object></annotation>",  # no bndbox
        "000003": f"<annotation><object><trackid>0</trackid><name>n1</name>{box.replace('<ymax>9</ymax>', '')}"
                  "</object></annotation>",
        "000004": f"<annotation><object><trackid>0</trackid><name>n1</name>{box.replace('>9</xmax', '>nine</xmax')}"
                  "</object></annotation>",
        "000005": f'<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><annotation><object><trackid>0</trackid>'
                  f"<name>&x;</name>{box}</object></annotation>",  # an external entity is not fetched
        "000006": f'<!DOCTYPE a [<!ENTITY a "aaaaaaaaaa">{laughs}]><annotation><object><trackid>0</trackid>'
                  f"<name>&i;</name>{box}</object></annotation>",  # a billion laughs
    }
    for stem, xml in bad.items():
        text(folder / f"{stem}.xml", xml)
    (folder / "000007.xml").write_bytes(b"\xff\xfe\x00<annotation>")
    text(folder / "000000.xml", vid_xml(snippet, "000000", [(0, "n1", (1, 1, 9, 9))]))
    jpeg(tmp_path / "Data/VID/train" / snippet / "000000.JPEG")
    _, frames, stats, skipped = build(tmp_path, "imagenet_vid", "train")
    assert len(frames) == 1 and skips(stats) == {"annotation_unparsable": 7}
    details = {s.path.rsplit("/", 1)[1]: s.detail for s in skipped}
    expected = {"000001.xml": "object without name or bndbox", "000002.xml": "object without name or bndbox",
                "000003.xml": "bndbox with a missing or non-numeric coordinate",
                "000004.xml": "bndbox with a missing or non-numeric coordinate",
                "000005.xml": "XML does not parse (undefined entity &x;",
                "000006.xml": "XML does not parse (limit on input amplification factor",
                "000007.xml": "XML does not parse (not well-formed"}
    assert sorted(details) == sorted(expected)
    assert all(details[name].startswith(start) for name, start in expected.items()), details


def test_det_xml_object_without_a_box_is_a_counted_skip(tmp_path):
    stem = "ILSVRC2014_train_0000/ILSVRC2014_train_00000001"
    text(tmp_path / f"Annotations/DET/train/{stem}.xml", "<annotation><object><name>n1</name></object></annotation>")
    text(tmp_path / "Annotations/DET/train/ok.xml", vid_xml("x", "ok", [(None, "n1", (1, 1, 9, 9))]))
    jpeg(tmp_path / "Data/DET/train/ok.JPEG")
    _, frames, stats, skipped = build(tmp_path, "imagenet_det", "train")
    assert len(frames) == 1 and skips(stats) == {"annotation_unparsable": 1}
    assert (skipped[0].path, skipped[0].detail) == (str(tmp_path / f"Annotations/DET/train/{stem}.xml"),
                                                    "object without name or bndbox")


def test_coco_annotations_of_the_wrong_shape_are_counted_skips(tmp_path):
    jpeg(tmp_path / "train2017/a.jpg")
    images = [{"id": 1, "file_name": "a.jpg"}, {"id": 2, "file_name": 7}]
    annotations = [coco_annotation(1), 5, coco_annotation(3, bbox=["a", "b", "c", "d"]),
                   coco_annotation(4, bbox=[1, None, 3, 4]), coco_annotation(5, bbox=[1, 1, 3]),
                   {k: v for k, v in coco_annotation(6).items() if k != "id"}, coco_annotation(7, image_id=2),
                   coco_annotation(8, image_id=[1]), coco_annotation(9, segmentation=[["a", "b", "c", "d", "e", "f"]])]
    coco_file(tmp_path, images, annotations)
    _, frames, stats, skipped = build(tmp_path, "coco", "train2017")
    assert len(frames) == 1 and skips(stats) == {"annotation_unparsable": 8}
    where = f"{tmp_path}/annotations/instances_train2017.json#annotation"
    assert [s.path for s in skipped] == [f"{tmp_path}/annotations/instances_train2017.json#annotations[1]",
                                         *(f"{where}={k}" for k in (3, 4, 5, None, 7, 8, 9))]


def test_youtube_bb_ids_that_lead_out_of_the_root_and_nan_coordinates_are_counted(tmp_path):
    rows = ["../../../../etc/passwd,1000,23,car,0,present,0.1,0.5,0.25,0.75",
            "AAAAAAAAAAA,1000,23,car,0,present,nan,0.5,0.25,0.75",
            "AAAAAAAAAAA,2000,23,car,0,present,0.1,0.5,0.25,0.75"]
    text(tmp_path / "yt_bb_detection_train.csv", "\n".join(rows) + "\n")
    for ts in (1000, 2000):
        jpeg(tmp_path / f"yt_bb_detection_train/23/AAAAAAAAAAA_{ts}_23_0.jpg")
    _, frames, stats, skipped = build(tmp_path, "youtube_bb", "train")
    assert len(frames) == 1 and skips(stats) == {"path_escapes_root": 1, "box_nonpositive": 1}
    assert skipped[0].path == "yt_bb_detection_train/23/../../../../etc/passwd_1000_23_0.jpg"


def test_imagenet_xml_folder_and_filename_are_not_paths_to_read(tmp_path):
    """VID and DET find a frame's image from the XML file's own place, never from its <folder>/<filename>."""
    folder = vid_folder(tmp_path)
    text(folder / "000000.xml", vid_xml("../../../../etc", "passwd", [(0, "n1", (1, 1, 9, 9))]))
    jpeg(tmp_path / "Data/VID/train" / folder.name / "000000.JPEG")
    meta, frames, stats, _ = build(tmp_path, "imagenet_vid", "train")
    assert meta["images"] == [f"Data/VID/train/{folder.name}/000000.JPEG"] and skips(stats) == {}
