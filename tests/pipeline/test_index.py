import csv
import json
import shutil

import numpy as np

from pipeline.data import index as dataset_index
from pipeline import index, world
from pipeline.data.sources import imagenet_xml
from pipeline.config.schema import IndexParams
from tests.conftest import dataset_specs, run_module, tiny_params, tree_hash


def index_all(world, out):
    params = IndexParams(out=str(out / "index"), metrics=str(out / "metrics"))
    return {name: index.run(name, spec, params) for name, spec in dataset_specs(world).items()}, params


def test_index_of_the_synthetic_world_matches_what_synth_wrote(tiny_world, tmp_path):
    stats, params = index_all(tiny_world, tmp_path)
    p = tiny_params().synth
    assert stats["vid"]["videos"] == p.vid_train_videos
    xmls = (tiny_world / "ILSVRC2015/Annotations/VID/train").rglob("*.xml")
    assert stats["vid"]["object_frames"] == sum(len(imagenet_xml.parse(x)) for x in xmls) > 0
    coco = json.loads((tiny_world / "coco/annotations/instances_train2017.json").read_text())
    crowd = sum(a["iscrowd"] for a in coco["annotations"])
    assert stats["coco"]["tracks"] == len(coco["annotations"]) - crowd
    assert stats["coco"]["skipped"]["iscrowd"] == crowd
    rows = list(csv.reader(open(tiny_world / "youtube_bb/yt_bb_detection_train.csv")))
    assert stats["ytbb"]["object_frames"] == len(rows)
    assert stats["ytbb"]["absent"] == sum(r[5] == "absent" for r in rows)
    assert stats["det"]["videos"] + stats["det"]["skipped"]["image_without_objects"] == p.det_images
    for s in stats.values():  # the synthetic world is clean: nothing but the datasets' own quirks is skipped
        assert {r for r, n in s["skipped"].items() if n} <= {"iscrowd", "image_without_objects"}
        assert json.loads((tmp_path / "metrics" / f"{s['dataset']}.json").read_text()) == s


def test_loaded_index_gives_tracks_in_frame_order(tiny_world, tmp_path):
    _, params = index_all(tiny_world, tmp_path)
    vid = dataset_index.load(params.out, "vid")
    assert isinstance(vid.frames, np.memmap)
    assert np.all(np.diff(vid.frames["track"]) >= 0)
    for track in range(len(vid.tracks)):
        rows = vid.track_frames(track)
        assert len(rows) and np.all(rows["track"] == track) and np.all(np.diff(rows["frame"]) > 0)
        video = vid.videos[vid.tracks[track][0]]
        assert all(vid.images[i].startswith(f"Data/VID/train/{video}/") for i in rows["image"])
    assert sum(len(vid.track_frames(t)) for t in range(len(vid.tracks))) == len(vid.frames)


def test_same_seed_twice_gives_identical_index_trees(tmp_path):
    """Run synth + index twice at the same place; the data/synthetic and data/index bytes agree."""
    hashes = []
    for attempt in range(2):
        written = world.run(tiny_params().synth, tmp_path / "data/synthetic")
        index_all(written, tmp_path / "data")
        hashes.append((tree_hash(written), tree_hash(tmp_path / "data/index")))
        shutil.rmtree(tmp_path / "data")
    assert hashes[0] == hashes[1]


def test_cli_missing_root_is_one_line(tmp_path):
    result = run_module("pipeline.index", "--dataset", "coco", "--set", f"datasets.coco.root={tmp_path}/nowhere")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"index: error: {tmp_path}/nowhere: dataset root of 'coco' does not exist (datasets.coco.root in params)"]


def test_cli_unknown_dataset_lists_the_known_ones():
    result = run_module("pipeline.index", "--dataset", "imagenet")
    assert result.returncode == 2
    assert "unknown dataset 'imagenet' (datasets in params.yaml: vid, det, coco, ytbb, ytvos)" in result.stderr


def test_cli_summary_prints_a_table(tiny_world, tmp_path):
    _, params = index_all(tiny_world, tmp_path)
    result = run_module("pipeline.index", "--summary", "--set", f"index.metrics={params.metrics}", check=True)
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("| dataset | videos | tracks | object_frames |")
    assert sorted(line.split("|")[1].strip() for line in lines[2:]) == ["coco", "det", "vid", "ytbb", "ytvos"]
