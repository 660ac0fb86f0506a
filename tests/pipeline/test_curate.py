"""Curation on the tiny world: real Ray, real LMDB (kills and full disks: tests/faults)."""
import dataclasses
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from models.geometry import EXEMPLAR_SIZE, context_side, crop_around_box
from pipeline.data import index as dataset_index
from pipeline import curate, index
from pipeline.data import shards
from tests.conftest import dataset_specs, run_module, tiny_params, tree_hash


def curate_params(out: Path, *overrides):
    return tiny_params(f"curate.out={out}/shards", f"curate.metrics={out}/metrics", "curate.shard_frames=20",
                       "curate.backend=serial", *overrides).curate


def run_curate(world, index_params, out, name="vid", *overrides):
    return curate.run(name, dataset_specs(world)[name], index_params, curate_params(out, *overrides))


def cli_args(world, index_params, out, name="vid", *overrides):
    """The curate command line for the tiny world, as a user would type it."""
    sets = [f"datasets.{name}.root={dataset_specs(world)[name].root}", f"index.out={index_params.out}",
            f"curate.out={out}/shards", f"curate.metrics={out}/metrics", "curate.shard_frames=20",
            "curate.backend=serial", *overrides]
    return ["--dataset", name, *(a for s in sets for a in ("--set", s))]


def test_serial_and_ray_with_one_or_two_workers_write_identical_shards(tiny_world, tiny_index, tmp_path):
    hashes = {}
    for backend, workers in (("serial", 1), ("ray", 1), ("ray", 2)):
        out = tmp_path / f"{backend}{workers}"
        stats = run_curate(tiny_world, tiny_index, out, "vid", f"curate.backend={backend}",
                           f"curate.workers={workers}")
        hashes[backend, workers] = tree_hash(out / "shards")
        assert stats["shards"] > 2 and stats["crops"] == stats["object_frames"] - stats["absent"]
    assert len(set(hashes.values())) == 1, hashes
    files = sorted(p.name for p in (tmp_path / "ray2/shards/vid").iterdir())
    assert not [f for f in files if not (f == "manifest.json" or f.startswith("shard-"))]  # no lock.mdb, no temp


def test_reader_gives_each_track_its_frames_and_crops_that_match_the_crop_function(tiny_world, tiny_index, tmp_path):
    stats = run_curate(tiny_world, tiny_index, tmp_path, "ytbb")
    idx = dataset_index.load(tiny_index.out, "ytbb")
    reader = shards.Shards(tmp_path / "shards/ytbb")
    assert len(reader) == len(idx.tracks)
    for track in range(len(idx.tracks)):
        rows = idx.track_frames(track)
        assert reader.frames(track) == rows["frame"][rows["visible"] == 1].tolist()
        assert [reader.meta(track, int(f))["visible"] for f in rows["frame"]] == rows["visible"].astype(bool).tolist()
    track = max(range(len(idx.tracks)), key=lambda t: len(reader.frames(t)))
    row = idx.track_frames(track)[idx.track_frames(track)["visible"] == 1][0]
    meta = reader.meta(track, int(row["frame"]))
    image = cv2.imread(str(Path(dataset_specs(tiny_world)["ytbb"].root) / idx.images[row["image"]]))
    expected, expected_box = crop_around_box(image, row["box"].astype(float), 511)
    got = reader.crop(track, int(row["frame"]))
    assert got.shape == (511, 511, 3)
    assert np.abs(got.astype(int) - expected).mean() < 3  # JPEG quality 90
    assert meta["box"] == pytest.approx(expected_box, abs=1e-3)
    # The exemplar region s_z is 127 px in the crop (SiamFC section 2.4).
    assert context_side(*meta["box"][2:]) == pytest.approx(EXEMPLAR_SIZE, rel=1e-4)
    assert meta["image_size"] == list(image.shape[1::-1])
    assert meta["category"] == idx.categories[idx.tracks[track][2]]
    assert stats["absent"] > 0 and sum(len(reader.frames(t)) for t in range(len(reader))) == stats["crops"]


def test_fraction_subsets_are_nested_with_growing_counts(tiny_world, tiny_index, tmp_path):
    stats = run_curate(tiny_world, tiny_index, tmp_path, "coco")
    reader = shards.Shards(tmp_path / "shards/coco")
    subsets = [reader.subset(f) for f in (0.02, 0.1, 0.25, 0.5, 1.0)]
    for small, large in zip(subsets, subsets[1:]):
        assert set(small.videos) <= set(large.videos) and set(small.tracks) <= set(large.tracks)
        assert small.object_frames <= large.object_frames
    assert len(subsets[0].videos) == 1
    assert len(subsets[-1].videos) == stats["videos"] and subsets[-1].object_frames == stats["crops"]
    assert subsets[-1].object_frames == sum(reader.tracks[t][3] for t in subsets[-1].tracks)
    with pytest.raises(ValueError):
        reader.subset(0)


def test_rerun_reuses_shards_and_rewrites_a_damaged_one(tiny_world, tiny_index, tmp_path, capsys):
    rerun = lambda: run_curate(tiny_world, tiny_index, tmp_path, "det", "curate.shard_frames=5")  # noqa: E731
    rerun()
    out = tmp_path / "shards/det"
    before = tree_hash(out)
    mtimes = {p.name: p.stat().st_mtime_ns for p in out.glob("*.lmdb")}
    capsys.readouterr()
    rerun()
    assert "(0 written in" in capsys.readouterr().out
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.lmdb")} == mtimes
    damaged = sorted(out.glob("*.lmdb"))[1]
    with open(damaged, "r+b") as f:
        f.seek(damaged.stat().st_size // 2)
        f.write(b"\0" * 16)
    rerun()
    assert "(1 written in" in capsys.readouterr().out
    assert tree_hash(out) == before


def test_unreadable_missing_and_changed_images_are_counted_skips(tiny_world, tmp_path):
    root = tmp_path / "coco"
    shutil.copytree(Path(dataset_specs(tiny_world)["coco"].root), root)
    spec = dataclasses.replace(dataset_specs(tiny_world)["coco"], root=str(root))
    index_params = tiny_params(f"index.out={tmp_path}/index", f"index.metrics={tmp_path}/im").index
    index.run("coco", spec, index_params)
    idx = dataset_index.load(index_params.out, "coco")
    objects = np.bincount(idx.frames["image"], minlength=len(idx.images))
    truncated, missing, changed = (root / idx.images[i] for i in range(3))
    truncated.write_bytes(truncated.read_bytes()[:2000])
    missing.unlink()
    cv2.imwrite(str(changed), np.zeros((10, 10, 3), np.uint8))
    stats = curate.run("coco", spec, index_params, curate_params(tmp_path))
    assert {r: n for r, n in stats["skipped"].items() if n} == {
        "image_unreadable": objects[0], "image_missing": objects[1], "image_changed": objects[2]}
    assert stats["crops"] == len(idx.frames) - objects[:3].sum()
    record = json.loads((tmp_path / "shards/coco/shard-00000.json").read_text())
    assert [str(truncated), "truncated JPEG"] == [record["skipped"][0][1], record["skipped"][0][2][:14]]


def test_stats_preview_and_summary(tiny_world, tiny_index, tmp_path):
    stats = run_curate(tiny_world, tiny_index, tmp_path, "vid", "curate.preview_crops=7")
    metrics = tmp_path / "metrics"
    assert json.loads((metrics / "vid.json").read_text()) == stats
    assert sum(stats["context_side_px"].values()) == stats["crops"]
    assert stats["bytes"] == sum(p.stat().st_size for p in (tmp_path / "shards/vid").glob("*.lmdb"))
    grid = cv2.imread(str(metrics / "vid.png"))
    assert grid.shape == (2 * 128, 6 * 128, 3)
    assert (grid[128:, 128:] == 255).all() and not (grid[:128, :128] == 255).all()  # 7 tiles, the rest blank
    result = run_module("pipeline.curate", "--summary", "--set", f"curate.metrics={metrics}", check=True)
    assert result.stdout.splitlines()[2].startswith(f"| vid | {stats['shards']} | {stats['videos']} |")


def test_bad_params_and_missing_index_are_one_line(tmp_path):
    result = run_module("pipeline.curate", "--dataset", "vid", "--set", "curate.image_backend=magick")
    assert result.returncode == 2
    assert result.stderr.strip() == "curate: error: curate.image_backend: 'magick' must be one of opencv, pillow"
    result = run_module("pipeline.curate", "--dataset", "vid", "--set", f"index.out={tmp_path}")
    assert result.returncode == 2
    assert result.stderr.strip() == (f"curate: error: {tmp_path}/vid.json: no such file "
                                     "(run: python -m pipeline.index --dataset vid)")


def test_coco_crops_carry_their_masks(tiny_world, tiny_index, tmp_path):
    stats = run_curate(tiny_world, tiny_index, tmp_path, "coco")
    coco = json.loads((Path(dataset_specs(tiny_world)["coco"].root) / "annotations/instances_train2017.json").read_text())
    polygons = {str(a["id"]): a["segmentation"] for a in coco["annotations"] if not a["iscrowd"]}
    idx = dataset_index.load(tiny_index.out, "coco")
    reader = shards.Shards(tmp_path / "shards/coco")
    assert stats["masks"] == stats["crops"] == len(polygons)
    for track, (_, name, _) in enumerate(idx.tracks):
        row = idx.track_frames(track)[0]
        parts = idx.mask_polygons(row)
        assert len(parts) == len(polygons[name])
        assert all(np.allclose(p.ravel(), q, atol=1e-3) for p, q in zip(parts, polygons[name]))
        meta, mask = reader.meta(track, 0), reader.mask(track, 0) > 0
        x, y, w, h = meta["box"]
        scale = w / meta["image_box"][2]
        inside = mask[max(0, int(y) - 1):int(np.ceil(y + h)) + 1, max(0, int(x) - 1):int(np.ceil(x + w)) + 1].sum()
        assert meta["mask"] and inside == mask.sum() > 0  # the mask lies within its box (and the edge pixels)
        points = np.array(polygons[name][0]).reshape(-1, 2)
        area = 0.5 * abs(np.dot(points[:, 0], np.roll(points[:, 1], 1)) - np.dot(points[:, 1], np.roll(points[:, 0], 1)))
        perimeter = np.linalg.norm(points - np.roll(points, 1, axis=0), axis=1).sum()
        if len(polygons[name]) == 1:  # fillPoly includes the pixels its edges touch: at most a perimeter more
            assert 0 <= mask.sum() - area * scale ** 2 <= perimeter * scale
    vid = run_curate(tiny_world, tiny_index, tmp_path, "vid")
    assert vid["masks"] == 0
