"""The DAVIS layout, the semi-supervised protocol and its result PNGs on the synthetic world's synth-davis, and
the bad inputs of segmentation benchmarks."""
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from models.checkpoint import save_checkpoint
from models.variants import build_model
from pipeline import evaluate
from pipeline.benchmarks.catalogue import load_benchmark
from pipeline.benchmarks.datasets import BenchmarkError
from pipeline.benchmarks.loaders import LOADERS
from pipeline.benchmarks.protocols import PROTOCOLS
from pipeline.common.labels import encode_labels, read_labels
from tests.conftest import tiny_params

DAVIS = PROTOCOLS["davis"]


@pytest.fixture
def davis(tiny_world, tmp_path):
    """A writable copy of the tiny world's synth-davis."""
    root = tmp_path / "synth-davis"
    shutil.copytree(tiny_world / "benchmarks" / "synth-davis", root)
    return root


def params_for(root, tmp_path):
    return tiny_params(f"benchmarks.synth-davis.root={root}", f"evaluate.results={tmp_path / 'results'}",
                       f"evaluate.runs={tmp_path / 'runs'}", f"score.out={tmp_path / 'metrics'}",
                       "evaluate.backend=serial")


def scores(params, variant):
    spec = params.benchmarks["synth-davis"]
    return DAVIS.score(load_benchmark("synth-davis", spec), Path(params.evaluate.results) / variant / "synth-davis",
                       params.score)


def test_the_world_writes_davis_2017_and_the_loader_reads_it(davis):
    names = (davis / "ImageSets/2017/val.txt").read_text().split()
    sequences = LOADERS["davis"](davis)
    assert [s.name for s in sequences] == names and len(names) == 2
    for s in sequences:
        assert len(s.frames) == len(s.annotations) == 12 and s.has_ground_truth and not s.single_object
        assert [p.stem for p in s.frames] == [p.stem for p in s.annotations] == [f"{t:05d}" for t in range(12)]
        first = read_labels(s.annotations[0])
        assert first.shape == cv2.imread(str(s.frames[0])).shape[:2]
        ids = sorted(set(np.unique(first)) - {0})
        assert ids == list(range(1, len(ids) + 1))  # the first frame's objects, numbered from 1
        ys, xs = np.nonzero(first)
        assert s.gt[0].tolist() == [xs.min(), ys.min(), xs.max() + 1 - xs.min(), ys.max() + 1 - ys.min()]
    # DAVIS 2016: every labelled pixel is the one object.
    assert all(s.single_object for s in LOADERS["davis2016"](davis, davis / "ImageSets/2017/val.txt"))


def test_ground_truth_as_result_scores_one_and_identity_less(davis, tmp_path):
    params = params_for(davis, tmp_path)
    perfect = tmp_path / "results" / "oracle" / "synth-davis"
    for s in load_benchmark("synth-davis", params.benchmarks["synth-davis"]):
        (perfect / s.name).mkdir(parents=True)
        for path in s.annotations:
            shutil.copy(path, perfect / s.name / path.name)
    result = scores(params, "oracle")
    assert result["overall"]["jf_mean"] == 1.0 and result["overall"]["j_recall"] == 1.0
    assert set(result["per_sequence"]) == {f"{s}_{k}" for s in (davis / "ImageSets/2017/val.txt").read_text().split()
                                           for k in np.unique(read_labels(davis / "Annotations/480p" / s / "00000.png"))
                                           if k > 0}
    speed = evaluate.run("identity", "synth-davis", params)
    assert speed["frames"] == 24
    identity = scores(params, "identity")["overall"]
    assert 0 < identity["jf_mean"] < 0.9 and set(identity) == {"jf_mean", "j_mean", "j_recall", "j_decay", "f_mean",
                                                              "f_recall", "f_decay"}
    folder = tmp_path / "results" / "identity" / "synth-davis"
    for s in load_benchmark("synth-davis", params.benchmarks["synth-davis"]):
        written = sorted((folder / s.name).glob("*.png"))
        assert [p.name for p in written] == [p.name for p in s.annotations]
        assert (read_labels(written[0]) == read_labels(s.annotations[0])).all()  # frame 1: the given mask
        assert Image.open(written[5]).mode == "P"  # DAVIS's indexed result PNGs


def test_siammask_tracks_every_object_with_masks(davis, tmp_path):
    torch.manual_seed(0)
    save_checkpoint(tmp_path / "runs" / "siammask_r50" / "checkpoint.pt",
                    build_model("siammask_r50", width=0.125, hidden=16, neck_channels=16), epoch=0, step=0,
                    params_hash="", git_commit="")
    params = params_for(davis, tmp_path)
    evaluate.run("siammask_r50", "synth-davis", params)
    result = scores(params, "siammask_r50")
    assert 0 <= result["overall"]["jf_mean"] <= 1 and len(result["per_sequence"]) >= 2


def _write(path, labels):
    path.write_bytes(encode_labels(labels))


def test_bad_masks_are_one_line_naming_the_file(davis, tmp_path):
    params = params_for(davis, tmp_path)
    sequence = load_benchmark("synth-davis", params.benchmarks["synth-davis"])[0]
    evaluate.run("identity", "synth-davis", params)
    results = tmp_path / "results" / "identity" / "synth-davis" / sequence.name
    (results / "00005.png").unlink()
    with pytest.raises(BenchmarkError, match=r"00005\.png: result mask missing"):
        scores(params, "identity")
    _write(results / "00005.png", np.zeros((10, 10), np.uint8))
    with pytest.raises(BenchmarkError, match=r"00005\.png: a 10x10 mask for 240x320 frames") as error:
        scores(params, "identity")
    assert str(error.value).count(sequence.name) == 1  # the file named once, not behind its folder again
    _write(results / "00005.png", np.full((240, 320), 9, np.uint8))
    with pytest.raises(BenchmarkError, match="has object 9"):
        scores(params, "identity")
    cv2.imwrite(str(results / "00005.png"), np.zeros((240, 320, 3), np.uint8))
    with pytest.raises(BenchmarkError, match=r"00005\.png: a RGB image, not an indexed"):
        scores(params, "identity")
    masks = davis / "Annotations/480p" / sequence.name
    (masks / "00003.png").unlink()
    with pytest.raises(BenchmarkError, match=r"no mask for 1 of 12 frames \(00003\.png"):
        LOADERS["davis"](davis)
    for path in masks.glob("*.png"):
        path.unlink()
    with pytest.raises(BenchmarkError, match="no 00000.png, the first frame's mask"):
        LOADERS["davis"](davis)
    _write(masks / "00000.png", np.zeros((240, 320), np.uint8))
    with pytest.raises(BenchmarkError, match="the first frame's mask holds no object"):
        LOADERS["davis"](davis)


def test_a_test_split_with_the_first_mask_only_is_refused_for_scoring(davis, tmp_path):
    params = params_for(davis, tmp_path)
    for path in sorted((davis / "Annotations/480p").glob("*/*.png")):
        if path.stem != "00000":
            path.unlink()
    sequences = load_benchmark("synth-davis", params.benchmarks["synth-davis"])
    assert not any(s.has_ground_truth for s in sequences)
    evaluate.run("identity", "synth-davis", params)  # tracking needs the first mask only
    with pytest.raises(BenchmarkError, match="a test split"):
        scores(params, "identity")
