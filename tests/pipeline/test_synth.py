import csv
import json
import xml.etree.ElementTree as ET

import cv2
import numpy as np

from pipeline import world
from tests.conftest import tiny_params, tree_hash


def test_same_seed_same_bytes_whatever_the_worker_count(tiny_world, tmp_path):
    again = world.run(tiny_params("synth.workers=1").synth, tmp_path / "again")
    assert tree_hash(again) == tree_hash(tiny_world)


def test_other_seed_other_bytes(tiny_world, tmp_path):
    other = world.run(tiny_params("synth.seed=1").synth, tmp_path / "other")
    assert tree_hash(other) != tree_hash(tiny_world)


def test_output_is_replaced_atomically(tmp_path):
    out = tmp_path / "world"
    (out / "stale").mkdir(parents=True)
    world.run(tiny_params("synth.vid_train_videos=1").synth, out)
    assert not (out / "stale").exists() and not (tmp_path / "world.partial").exists()
    assert (out / "ILSVRC2015").is_dir()


def test_imagenet_vid_layout_and_xml(tiny_world):
    vid = tiny_world / "ILSVRC2015"
    groups = sorted(p.name for p in (vid / "Data/VID/train").iterdir())
    assert groups == [f"ILSVRC2015_VID_train_{k:04d}" for k in range(4)]
    xml = vid / "Annotations/VID/train/ILSVRC2015_VID_train_0000/ILSVRC2015_train_00000000/000000.xml"
    root = ET.parse(xml).getroot()
    assert root.findtext("folder") == "ILSVRC2015_VID_train_0000/ILSVRC2015_train_00000000"
    assert root.findtext("filename") == "000000"
    width, height = int(root.findtext("size/width")), int(root.findtext("size/height"))
    image = cv2.imread(str(vid / "Data/VID/train/ILSVRC2015_VID_train_0000/ILSVRC2015_train_00000000/000000.JPEG"))
    assert image.shape == (height, width, 3)
    objects = root.findall("object")
    assert objects
    for obj in objects:
        assert obj.findtext("trackid").isdigit() and obj.findtext("name").startswith("n")
        assert obj.findtext("occluded") in ("0", "1") and obj.findtext("generated") == "0"
        x0, y0, x1, y1 = (int(obj.findtext(f"bndbox/{k}")) for k in ("xmin", "ymin", "xmax", "ymax"))
        assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
    assert (vid / "ImageSets/VID/val.txt").read_text().startswith("ILSVRC2015_val_00000000/000000 1\n")
    assert (vid / "Data/VID/val/ILSVRC2015_val_00000001/000005.JPEG").is_file()


def test_imagenet_det_nesting_and_images_without_objects(tiny_world):
    det = tiny_world / "ILSVRC2015/Annotations/DET/train"
    xmls = sorted(det.rglob("*.xml"))
    assert len(xmls) == 12
    assert {p.relative_to(det).parts[0].split("_")[0] for p in xmls} == {"ILSVRC2013", "ILSVRC2014"}
    assert any(len(p.relative_to(det).parts) == 3 for p in xmls)  # ILSVRC2013_train/<wnid>/<file>
    counts = [len(ET.parse(p).getroot().findall("object")) for p in xmls]
    assert 0 in counts and max(counts) > 0


def test_coco_json(tiny_world):
    coco = json.loads((tiny_world / "coco/annotations/instances_train2017.json").read_text())
    assert {"images", "annotations", "categories"} <= set(coco)
    images = {img["id"]: img for img in coco["images"]}
    assert len(images) == 12
    for img in images.values():
        assert (tiny_world / "coco/train2017" / img["file_name"]).is_file()
    for ann in coco["annotations"]:
        assert {"id", "image_id", "category_id", "bbox", "area", "iscrowd", "segmentation"} <= set(ann)
        if ann["iscrowd"]:
            h, w = ann["segmentation"]["size"]
            assert sum(ann["segmentation"]["counts"]) == h * w
        else:
            polygon = np.reshape(ann["segmentation"][0], (-1, 2))
            x, y, w, h = ann["bbox"]
            # The box is the polygon's extent (clipped to the image).
            assert np.allclose(polygon.min(0), [x, y], atol=1) and np.allclose(polygon.max(0), [x + w, y + h], atol=1)


def test_youtube_bb_csv_and_frames(tiny_world):
    rows = list(csv.reader(open(tiny_world / "youtube_bb/yt_bb_detection_train.csv")))
    assert rows and all(len(r) == 10 for r in rows)
    assert rows[0][0] != "youtube_id"  # no header, as in the real file
    for ytid, ts, cls, name, obj, presence, *coords in rows:
        coords = [float(v) for v in coords]
        if presence == "absent":
            assert coords == [-1, -1, -1, -1]
            continue
        xmin, xmax, ymin, ymax = coords
        assert 0 <= xmin < xmax <= 1 and 0 <= ymin < ymax <= 1
        frame = tiny_world / f"youtube_bb/yt_bb_detection_train/{cls}/{ytid}_{ts}_{cls}_{obj}.jpg"
        assert frame.is_file()
    assert {r[5] for r in rows} == {"present", "absent"}


def test_benchmark_layouts(tiny_world):
    bench = tiny_world / "benchmarks"
    otb = sorted((bench / "synth-otb").iterdir())
    assert len(otb) == 2
    for seq in otb:
        gt = np.loadtxt(seq / "groundtruth_rect.txt", delimiter=",")
        assert gt.shape == (30, 4) and len(list((seq / "img").glob("*.jpg"))) == 30
        assert (seq / "img/0001.jpg").is_file() and gt[:, :2].min() >= 1  # 1-based
    vot = bench / "synth-vot"
    for name in (vot / "list.txt").read_text().split():
        poly = np.loadtxt(vot / name / "groundtruth.txt", delimiter=",")
        assert poly.shape == (30, 8) and (vot / name / "color/00000001.jpg").is_file()
    got = bench / "synth-got10k/val"
    for name in (got / "list.txt").read_text().split():
        assert name.startswith("GOT-10k_Val_")
        labels = [(got / name / f).read_text().split() for f in ("absence.label", "cover.label")]
        assert all(len(label) == 30 for label in labels)
        assert "object_class" in (got / name / "meta_info.ini").read_text()
    lasot = bench / "synth-lasot"
    for name in (lasot / "testing_set.txt").read_text().split():
        seq = lasot / name.rsplit("-", 1)[0] / name
        assert (seq / "img/00000001.jpg").is_file()
        flags = [(seq / f).read_text().strip().split(",") for f in ("full_occlusion.txt", "out_of_view.txt")]
        assert all(len(f) == 30 for f in flags)


def test_world_contains_the_hard_cases(tmp_path):
    """Occlusion, leaving the view and distractors happen in the default world's benchmark sets."""
    hard = world.run(tiny_params("synth.vid_train_videos=0", "synth.det_images=0", "synth.coco_images=0",
                                 "synth.ytbb_videos=0", "synth.lasot_sequences=8", "synth.got10k_sequences=8",
                                 "synth.benchmark_frames=100").synth, tmp_path / "w")
    lasot = hard / "benchmarks/synth-lasot"
    out_of_view = sum("1" in p.read_text() for p in lasot.rglob("out_of_view.txt"))
    full_occlusion = sum("1" in p.read_text() for p in lasot.rglob("full_occlusion.txt"))
    cover = [int(v) for p in (hard / "benchmarks/synth-got10k/val").rglob("cover.label") for v in p.read_text().split()]
    assert out_of_view > 0 and full_occlusion > 0
    assert min(cover) < 8 and max(cover) == 8  # partial occlusion next to fully visible frames


def test_target_box_matches_rendered_pixels(tmp_path):
    """The annotation is tight: the target differs from its surroundings exactly inside the box."""
    frames, tracks = world.render_clip(np.random.default_rng(3), 1, 160, 120, [world.CATEGORIES[1]],
                                       pan=False, effects=False)
    background_only, _ = world.render_clip(np.random.default_rng(3), 1, 160, 120, [], pan=False, effects=False)
    changed = np.argwhere(np.any(frames[0] != background_only[0], axis=2))
    (y0, x0), (y1, x1) = changed.min(0), changed.max(0)
    assert tuple(tracks[0].clipped(0, 160, 120)) == (x0, y0, x1 - x0 + 1, y1 - y0 + 1)


def test_label_images_change_nothing_else_and_mark_what_is_seen():
    """render_clip(labels=True) draws the same clip; its label images hold object k + 1 where k is seen."""
    cats = [world.CATEGORIES[1], world.CATEGORIES[3]]
    frames, tracks = world.render_clip(np.random.default_rng(5), 6, 160, 120, cats, occluder=True)
    same, _, labels = world.render_clip(np.random.default_rng(5), 6, 160, 120, cats, occluder=True, labels=True)
    assert all((a == b).all() for a, b in zip(frames, same))
    for t, label in enumerate(labels):
        assert set(np.unique(label)) <= {0, 1, 2}
        for k, track in enumerate(tracks):
            box = track.clipped(t, 160, 120)
            ys, xs = np.nonzero(label == k + 1)
            if len(xs):  # inside the object's box
                assert box and xs.min() >= box[0] and xs.max() < box[0] + box[2] and ys.max() < box[1] + box[3]


def test_youtube_vos_meta_lists_the_frames_where_each_object_is_seen(tiny_world):
    from pipeline.common.labels import read_labels
    root = tiny_world / "youtube-vos/train"
    videos = json.loads((root / "meta.json").read_text())["videos"]
    assert len(videos) == 4
    for video, entry in videos.items():
        names = sorted(p.stem for p in (root / "JPEGImages" / video).glob("*.jpg"))
        assert names == [f"{5 * t:05d}" for t in range(6)] == sorted(p.stem for p in (root / "Annotations" / video).iterdir())
        labels = {n: read_labels(root / "Annotations" / video / f"{n}.png") for n in names}
        for object_id, obj in entry["objects"].items():
            assert obj["frames"] == [n for n in names if (labels[n] == int(object_id)).any()]
            assert obj["category"] in {c.name for c in world.CATEGORIES}
