"""The DAVIS metrics against ../shared/reference/metrics/golden_davis.json: the official davis2017-evaluation
code's values (per frame, per object, the global table, the unsupervised matching and the unit cases)."""
import functools
import json

import numpy as np
import pytest

from pipeline.benchmarks import metrics as M
from tests.conftest import SHARED, needs_shared

pytestmark = needs_shared
NAMES = {"J_mean": "j_mean", "J_recall": "j_recall", "J_decay": "j_decay", "F_mean": "f_mean",
         "F_recall": "f_recall", "F_decay": "f_decay"}
GLOBAL = {"J&F-Mean": "jf_mean", "J-Mean": "j_mean", "J-Recall": "j_recall", "J-Decay": "j_decay",
          "F-Mean": "f_mean", "F-Recall": "f_recall", "F-Decay": "f_decay"}


@functools.cache
def golden() -> dict:
    return json.loads((SHARED / "reference/metrics/golden_davis.json").read_text())


def decode(counts, height, width) -> np.ndarray:
    """The file's run-length encoding: alternating 0- and 1-runs over the row-major mask."""
    return np.repeat(np.arange(len(counts)) % 2, counts).reshape(height, width).astype(bool)


def masks(name: str, key: str) -> np.ndarray:
    """(K, T, H, W) masks of inputs.<name>.<key>."""
    case = golden()["inputs"][name]
    return np.array([[decode(c, case["height"], case["width"]) for c in obj] for obj in case[key]])


def labels(name: str, key: str) -> np.ndarray:
    """The frames' label images as the PNGs hold them: k on object k's pixels, 255 on the void ones."""
    objects = masks(name, key)
    image = np.sum(objects * np.arange(1, len(objects) + 1)[:, None, None, None], axis=0)
    void = golden()["inputs"][name]["void"]
    if key == "gt" and void is not None:
        case = golden()["inputs"][name]
        image[np.array([decode(v, case["height"], case["width"]) for v in void])] = 255
    return image


def void_of(name: str):
    case = golden()["inputs"][name]
    return None if case["void"] is None else np.array([decode(v, case["height"], case["width"]) for v in case["void"]])


@pytest.mark.parametrize("name", ["davis_a", "davis_b", "davis_c"])
def test_per_frame_j_and_f_with_and_without_void(name):
    gt, pred, void = masks(name, "gt"), masks(name, "pred"), void_of(name)
    for k, (g, p) in enumerate(zip(gt, pred)):
        expected = golden()["per_frame"][name][f"object_{k + 1}"]
        j, f = M.davis_per_frame(g, p)
        assert j == pytest.approx(expected["J"], abs=1e-6) and f == pytest.approx(expected["F"], abs=1e-6)
        if void is not None:
            j, f = M.davis_per_frame(g, p, void)
        assert j == pytest.approx(expected["J_void"], abs=1e-6) and f == pytest.approx(expected["F_void"], abs=1e-6)


def test_semi_supervised_per_object_and_global_table():
    expected = golden()["semi_supervised"]
    per_object = []
    for name in ("davis_a", "davis_b", "davis_c"):
        objects = M.davis_semi_supervised(labels(name, "gt"), labels(name, "pred"))
        for k, scores in enumerate(objects):
            reference = expected["per_object"][f"{name}_{k + 1}"]
            assert {ours: scores[ours] for ours in NAMES.values()} == pytest.approx(
                {NAMES[key]: value for key, value in reference.items()}, abs=1e-6), f"{name}_{k + 1}"
        per_object += objects
    overall = M.davis_overall(per_object)
    assert overall == pytest.approx({GLOBAL[k]: v for k, v in expected["global"].items()}, abs=1e-6)
    # What evaluation_method.py writes, at its 3 decimals.
    csv = golden()["evaluation_method_csv"]["semi-supervised"]["global_results-val.csv"][1]
    assert ",".join(f"{overall[GLOBAL[k]]:.3f}" for k in GLOBAL) == csv


def test_semi_supervised_scores_the_frames_between_first_and_last_as_the_2016_code():
    for name, k in (("davis_a", 1), ("davis_b", 1), ("davis_c", 2)):
        scores = M.davis_semi_supervised(labels(name, "gt"), labels(name, "pred"))[k - 1]
        reference = golden()["davis2016_style"][f"{name}_{k}"]
        assert scores["j_per_frame"] == pytest.approx(reference["J_per_frame_evaluated"], abs=1e-6)
        assert scores["f_per_frame"] == pytest.approx(reference["F_per_frame_evaluated"], abs=1e-6)


def test_unsupervised_matching_per_object_and_global_table():
    expected = golden()["unsupervised"]
    per_object = []
    for name in ("davis_a", "davis_b", "davis_c"):
        key = "unsupervised_proposals" if name == "davis_c" else "pred"
        objects = M.davis_unsupervised(labels(name, "gt"), masks(name, key))
        for k, scores in enumerate(objects):
            reference = expected["per_object"][f"{name}_{k + 1}"]
            assert {ours: scores[ours] for ours in NAMES.values()} == pytest.approx(
                {NAMES[key]: value for key, value in reference.items()}, abs=1e-6), f"{name}_{k + 1}"
        if name == "davis_c":  # the matched rows come back in proposal order
            rows = expected["davis_c_matched_rows_per_frame"]
            assert np.array([o["j_per_frame"] for o in objects]) == pytest.approx(np.array(rows["J"]), abs=1e-6)
            assert np.array([o["f_per_frame"] for o in objects]) == pytest.approx(np.array(rows["F"]), abs=1e-6)
        per_object += objects
    assert M.davis_overall(per_object) == pytest.approx(
        {GLOBAL[k]: v for k, v in expected["global"].items()}, abs=1e-6)


def test_unit_cases_bound_pix_boundary_map_and_a_480p_frame():
    cases = golden()["unit_cases"]
    for size, pixels in cases["bound_pix"].items():
        assert M.bound_pix(*map(int, size.split("x"))) == pixels, size
    mask = np.array([[c == "1" for c in row] for row in cases["seg2bmap"]["mask_rows"]])
    expected = np.array([[c == "1" for c in row] for row in cases["seg2bmap"]["bmap_rows"]])
    assert (M.boundary_map(mask) == expected).all()
    frame = cases["f_480x854"]
    gt, pred = (decode(frame[k], frame["height"], frame["width"]) for k in ("gt", "pred"))
    assert M.jaccard(gt, pred) == pytest.approx(frame["J"], abs=1e-6)
    assert M.f_boundary(gt, pred) == pytest.approx(frame["F"], abs=1e-6)
    assert M.f_boundary(gt, pred, bound_th=1) == pytest.approx(frame["F_bound_th_1px"], abs=1e-6)


def test_decay_bins_recall_and_the_uint8_wrap_of_the_official_code():
    for n, case in golden()["unit_cases"]["decay"].items():
        if n.isdigit():
            mean, recall, decay = M.davis_statistics(case["values"])
            assert (mean, recall, decay) == pytest.approx((case["mean"], case["recall"], case["decay"]), abs=1e-6), n
    ramp = golden()["unit_cases"]["decay"]["300_ramp_1_to_0"]
    values = np.linspace(1, 0, 300)
    mean, recall, decay = M.davis_statistics(values)
    assert (mean, recall) == pytest.approx((ramp["mean"], ramp["recall"]), abs=1e-6) and np.isnan(decay)
    assert M.davis_statistics(values, decay="exact")[2] == pytest.approx(
        np.mean(values[:75 + 1]) - np.mean(values[224:]), abs=1e-9)
    assert M.davis_statistics([0.5, 0.6])[1] == golden()["unit_cases"]["recall_strict"]


def test_empty_masks_and_bad_input():
    empty, full = np.zeros((1, 6, 8), bool), np.ones((1, 6, 8), bool)
    assert M.jaccard(empty, empty) == [1.0] and M.f_boundary(empty[0], empty[0]) == 1.0
    assert M.jaccard(full, empty) == [0.0] and M.f_boundary(full[0], empty[0]) == 1.0  # no boundary in either
    blob = np.zeros((6, 8), bool)
    blob[2:4, 2:5] = True
    assert M.f_boundary(blob, np.zeros_like(blob)) == 0.0 and M.f_boundary(np.zeros_like(blob), blob) == 0.0
    with pytest.raises(ValueError, match="differ in size"):
        M.davis_semi_supervised(np.zeros((3, 4, 4), int), np.zeros((3, 4, 5), int))
    with pytest.raises(ValueError, match="object 2"):
        M.davis_semi_supervised(np.ones((3, 4, 4), int), np.full((3, 4, 4), 2))
    with pytest.raises(ValueError, match="decay convention"):
        M.davis_statistics([0.5], decay="median")
