"""Every value in ../shared/reference/metrics, reproduced by the convention that claims it."""
import ast
import functools
import json

import numpy as np
import pytest

from pipeline.benchmarks import metrics as M
from pipeline.benchmarks.datasets import Sequence
from pipeline.benchmarks.protocols import PROTOCOLS
from pipeline.config.params import load_params
from tests.conftest import REPO, SHARED, needs_shared

REFERENCE = SHARED / "reference" / "metrics"


@functools.cache
def golden(name: str) -> dict:
    """A file of ../shared/reference/metrics, read when a test needs it (collection works without it)."""
    return json.loads((REFERENCE / f"golden_{name}.json").read_text())

SEQUENCES = ["seqA", "seqB", "seqC_zero_gt"]


def approx(value, float32=False):
    return pytest.approx(value, abs=1e-5 if float32 else 1e-6)


def ope(name, **options):
    case = golden("ope")["inputs"][name]
    return M.ope_sequence(case["pred"], case["gt"], **options)


@needs_shared
@pytest.mark.parametrize("name", SEQUENCES)
def test_per_sequence_scores_match_pysot_and_the_otb_toolkit(name):
    ours, expected = ope(name), golden("ope")["per_sequence"][name]
    for reference in ("pysot", "otb_matlab_reimpl"):
        assert ours["success_auc"] == approx(expected[reference]["auc"])
        assert ours["precision_20"] == approx(expected[reference]["prec20"])
    assert ours["norm_precision_20"] == approx(expected["pysot"]["nprec@0.2"])
    assert ours["success_auc"] == approx(expected["pytracking_reimpl(otb)"]["auc"], float32=True)
    got10k = ope(name, invalid_gt="as_is")
    assert got10k["success_auc"] == approx(expected["got10k"]["success_score"])
    assert got10k["precision_20"] == approx(expected["got10k"]["precision_score"])
    iou = M.frame_errors(golden("ope")["inputs"][name]["pred"], golden("ope")["inputs"][name]["gt"], invalid_gt="as_is").iou
    assert (iou > 0.5).mean() == approx(expected["got10k"]["success_rate(>0.5)"])


@needs_shared
def test_overall_scores_are_means_over_sequences():
    expected = golden("ope")["overall"]
    official = M.ope_overall({name: ope(name) for name in SEQUENCES})
    assert official["success_auc"] == approx(expected["pysot: AUC = mean over videos and 21 thresholds"])
    assert official["precision_20"] == approx(expected["pysot: Precision = mean over videos at 20px"])
    assert official["success_auc"] == approx(expected["otb_matlab_reimpl: AUC"])
    assert official["precision_20"] == approx(expected["otb_matlab_reimpl: prec20"])
    got10k = M.ope_overall({name: ope(name, invalid_gt="as_is", norm_convention="got10k") for name in SEQUENCES})
    assert got10k["success_auc"] == approx(expected["got10k: success_score"])
    assert got10k["precision_20"] == approx(expected["got10k: precision_score"])
    assert got10k["norm_precision_20"] == approx(
        expected["got10k(LaSOT-style): normalized_precision_score = mean of 51-pt curve"])
    # pytracking (float32, in percent) scores invalid ground truth as got10k does.
    assert 100 * got10k["success_auc"] == pytest.approx(expected["pytracking_reimpl: AUC(%)"], abs=1e-3)
    assert 100 * got10k["precision_20"] == pytest.approx(expected["pytracking_reimpl: Precision(%)"], abs=1e-3)


@needs_shared
def test_single_box_iou_is_continuous():
    case = golden("ope")["single_box"]
    assert M.iou_xywh(case["pred"], case["gt"])[0] == approx(case["continuous IoU by hand = 25*35/(1200+1200-875)"])
    assert M.iou_xywh(case["pred"], case["gt"])[0] == approx(case["pysot overlap_ratio"])


@needs_shared
def test_lasot_absent_frames_stay_in_the_denominator():
    case, expected = golden("ope")["inputs"]["lasot_case"], golden("ope")["lasot_case"]
    visible = 1 - np.array(case["absent(full_occlusion|out_of_view)"])
    ours = M.ope_sequence(case["pred"], case["gt"], visible=visible)
    official = expected["lasot_official_reimpl"]
    assert ours["success_auc"] == approx(official["auc"]) and ours["precision_20"] == approx(official["prec20"])
    assert ours["norm_precision_20"] == approx(official["norm_prec@0.20(rank_idx 21)"])
    assert ours["norm_precision_20"] == approx(expected["pysot (absent array = 1-absent)"]["nprec@0.2"])
    assert M.norm_precision_score(ours["norm_precision_curve"], "got10k") == approx(official["norm_prec mean of curve"])
    # got10k's ExperimentLaSOT ignores absence: absent frames scored against the stored box.
    got10k = M.ope_sequence(case["pred"], case["gt"], norm_convention="got10k")
    reference = expected["got10k ExperimentLaSOT (no occlusion handling: absent frames scored against the stored GT box)"]
    assert got10k["success_auc"] == approx(reference["success_score"])
    assert got10k["precision_20"] == approx(reference["precision_score"])
    assert got10k["norm_precision_20"] == approx(reference["normalized_precision_score(mean 51pt)"])


@needs_shared
def test_uav_nan_rows_follow_the_otb_rule():
    case, expected = golden("ope")["inputs"]["uav_case"], golden("ope")["uav_case"]
    ours = M.ope_sequence(case["pred"], case["gt"])
    for reference in ("pysot", "otb/uav matlab reimpl"):
        assert ours["success_auc"] == approx(expected[reference]["auc"])
        assert ours["precision_20"] == approx(expected[reference]["prec20"])


@needs_shared
@pytest.mark.parametrize("first_frame", ["official", "as_written"])
def test_pysot_half_pixel_first_frame_is_replaced_or_scored_as_written(tmp_path, first_frame):
    case, sequences = golden("ope")["pysot_first_frame_iou"], []
    for size in case:
        w, h = ast.literal_eval(size)
        gt = np.array([[50.0, 60.0, w, h]] * 3)
        pred = gt.copy()
        pred[0, :2] += 0.5  # pysot's test script: x = cx - (w - 1) / 2 with cx = x + w / 2
        assert M.iou_xywh(pred[:1], gt[:1])[0] == approx(case[size])
        sequences.append(Sequence(size, [], gt))
        PROTOCOLS["ope"].write(tmp_path, sequences[-1], pred, np.zeros(3))
    params = load_params(REPO / "params.yaml", [f"score.first_frame={first_frame}"]).score
    result = PROTOCOLS["ope"].score(sequences, tmp_path, params)
    for size, iou in case.items():
        # frames 2 and 3 are exact: they pass every threshold but IoU > 1; frame 1 is the ground truth (official)
        # or the shifted box with pysot's IoU (as written)
        first = 1.0 if first_frame == "official" else iou
        expected = M.success_curve(np.array([first, 1.0, 1.0])).mean()
        assert result["per_sequence"][size]["success_auc"] == approx(expected)
        assert result["per_sequence"][size]["precision_20"] == 1.0  # a centre 0.71 px away passes 20 px
    # Measured: AUC 0.952381 (official) and 0.947090 (as written: the 20 x 20 box's 0.906 fails IoU > 0.95).
    assert result["overall"]["success_auc"] == approx(20 / 21 if first_frame == "official" else (3 * 60 - 1) / 189)


def test_trackingnet_normalized_precision_is_the_normalized_trapezoid_area():
    curve = np.clip(M.NORM_PRECISION_THRESHOLDS / 0.25, 0, 1)  # a ramp to 1 at 0.25, flat after
    assert M.norm_precision_score(curve, "trackingnet") == approx((0.25 / 2 + 0.25) / 0.5)
    with pytest.raises(ValueError, match="unknown normalized precision convention"):
        M.norm_precision_score(curve, "otb")


def vot_runs():
    # The reference replaced the polygon overlap with preset values: a region's first number is its overlap.
    return {name: [M.vot_run(records, lambda frame, region: region[0])] for name, records in golden("eao")["trajectories"].items()}


@needs_shared
def test_vot_failures_and_robustness():
    runs = vot_runs()
    assert {n: list(r[0].failures) for n, r in runs.items()} == {n: s["failures_0based"] for n, s in golden("eao")["sequences"].items()}
    robustness = M.vot_robustness(runs)
    assert robustness["failures_total"] == golden("eao")["pysot_ar"]["lost_number"]
    assert robustness["robustness"] == approx(golden("eao")["pysot_ar"]["robustness(=100*failures/frames)"])
    assert robustness["failures_per_sequence"] == approx(
        golden("eao")["votpy_ar_transcription"]["robustness(length-weighted mean failures/seq)"])


@needs_shared
def test_vot_accuracy_in_both_weightings():
    runs = vot_runs()
    assert M.vot_accuracy(runs, burnin=10, weighting="frame") == approx(golden("eao")["pysot_ar"]["accuracy"])
    assert M.vot_accuracy(runs, burnin=10) == approx(
        golden("eao")["votpy_ar_transcription"]["accuracy(length-weighted mean of per-seq acc)"])


@needs_shared
@pytest.mark.parametrize("year", ["VOT2016", "VOT2018", "VOT2019"])
def test_eao_official_and_pysot(year):
    runs = vot_runs()
    interval = M.EAO_INTERVALS[year]
    assert interval == (golden("eao")["pysot_eao"][year]["low"], golden("eao")["pysot_eao"][year]["high"])
    official = M.eao(M.expected_overlap_curve(runs, skip=5), interval)
    assert official == approx(golden("eao")["legacy_eao_transcription"][year])
    pysot = M.eao(M.expected_overlap_curve(runs, skip=5, convention="pysot"), interval)
    assert pysot == approx(golden("eao")["pysot_eao"][year]["eao"], float32=True)
    # The conventions differ only by seqD's failure 5 frames before its end.
    without_d = {n: r for n, r in runs.items() if n != "seqD"}
    assert M.eao(M.expected_overlap_curve(without_d), interval) == pytest.approx(
        M.eao(M.expected_overlap_curve(without_d, convention="pysot"), interval), abs=1e-9)


def test_an_eao_interval_longer_than_the_sequences_is_an_error():
    curve = M.expected_overlap_curve(vot_runs())  # the longest sequence has 600 frames
    assert M.eao(curve, (1, 600)) == pytest.approx(curve.mean())
    with pytest.raises(ValueError, match="EAO interval 100-601 does not fit sequences of at most 600 frames"):
        M.eao(curve, (100, 601))
    assert M.eao_interval("VOT2019") == (46, 291) and M.eao_interval("20-90") == (20, 90)
    with pytest.raises(ValueError, match="or LOW-HIGH"):
        M.eao_interval("2018")
