"""Parity with the reference trackers on the real OTB sequence Crossing (../shared/reference): the official
SiamFC weights against siamfc-pytorch's own tracker, and deterministic weights in the layouts of pysot's and
DaSiamRPN's checkpoints against those peers' own trackers. The peer weights are regenerated from the keys
files (never stored); the official SiamFC file is read from ../shared.

Coordinates: the peers' centres are pixel-centre coordinates and they return [cx - w/2, cy - h/2, w, h], so
their boxes are ours minus half a pixel in x and y; siamfc-pytorch returns x = cx - (w - 1) / 2, which is ours.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from models.checkpoint import load_checkpoint
from models.convert import convert
from models.geometry import EXEMPLAR_SIZE, context_side, crop
from models.inputs import to_input
from models.trackers import make_tracker
from pipeline.benchmarks.loaders import load_otb
from pipeline.benchmarks.metrics import iou_xywh, success_curve
from pipeline.convert import import_checkpoint
from tests.conftest import SHARED, needs_shared
from tests.models.conftest import PEERS

pytestmark = needs_shared
CROSSING = SHARED / "data" / "otb" / "Crossing"
SIAMFC = SHARED / "reference" / "siamfc" / "Crossing"
OFFICIAL_SIAMFC = SHARED / "weights" / "siamfc_alexnet_official2016_siamfc-pytorch.pth"
PEER_SHIFT = np.array([0.5, 0.5, 0, 0])
# (reference folder, format, runs checked frame by frame): the otbtest run of every model, and the exact0 run
# (another first centre) of the two cheapest.
MODELS = [("pysot-siamrpn_alex_dwxcorr", "pysot", ("otbtest", "exact0")),
          ("pysot-siamrpn_r50_l234_dwxcorr", "pysot", ("otbtest",)),
          ("pysot-siamrpn_mobilev2_l234_dwxcorr", "pysot", ("otbtest",)),
          ("pysot-siammask_r50_l3", "pysot", ("otbtest",)),
          ("DaSiamRPN-SiamRPNvot", "dasiamrpn", ("otbtest", "exact0")),
          ("DaSiamRPN-SiamRPNBIG", "dasiamrpn", ("otbtest",))]
RUNS = [(folder, fmt, run) for folder, fmt, runs in MODELS for run in runs]


def frames() -> list[np.ndarray]:
    return [cv2.imread(str(p)) for p in sorted((CROSSING / "img").glob("*.jpg"))]


@pytest.fixture(scope="module")
def crossing() -> list[np.ndarray]:
    return frames()


@pytest.mark.parametrize("name,fmt", [(m[0], m[1]) for m in MODELS])
def test_network_outputs_equal_the_peers_on_its_first_update_crops(name, fmt, peer_weights, crossing):
    reference = np.load(PEERS / name / "Crossing.otbtest.frame2.npz")
    conversion = convert(peer_weights(name), fmt)
    model = conversion.model
    tracker = make_tracker(model, {**conversion.tracker, "crop": "resize"})
    tracker.init(crossing[0], _first_box(name, fmt, "otbtest"))
    exemplar = crop(crossing[0], tracker.centre, context_side(*tracker.size), EXEMPLAR_SIZE, tracker.mean_colour,
                    "pysot")
    side = context_side(*tracker.size) * tracker.search_size / EXEMPLAR_SIZE
    search = crop(crossing[1], tracker.centre, side, tracker.search_size, tracker.mean_colour, "pysot")
    assert np.array_equal(exemplar, reference["z_crop"]) and np.array_equal(search, reference["x_crop"])
    with torch.no_grad():
        out = model.predict(to_input([reference["z_crop"]]), to_input([reference["x_crop"]]))
        if model.refine is not None:
            row, col = (int(v) for v in reference["mask_pos_yx"])
            logits = model.refine(out["mask_features"], out["stages"], torch.tensor([[0, row, col]]))[0, 0]
            np.testing.assert_allclose(logits.numpy(), reference["refine_logits"], atol=1e-4, rtol=0)
    np.testing.assert_allclose(out["cls"].numpy(), reference["cls"], atol=1e-4, rtol=0)
    np.testing.assert_allclose(out["loc"].numpy(), reference["loc"], atol=1e-4, rtol=0)


def _first_box(name: str, fmt: str, run: str) -> np.ndarray:
    if fmt == "pysot":  # the box the peer was given; its centre x + (w - 1) / 2 is ours minus 0.5
        return np.loadtxt(PEERS / name / f"Crossing.{run}.txt", delimiter=",")[0]
    reference = np.load(PEERS / name / f"Crossing.{run}.frame2.npz")  # DaSiamRPN: the centre it was given
    (cx, cy), (w, h) = reference["init_target_pos"], reference["init_target_sz"]
    return np.array([cx + 0.5 - w / 2, cy + 0.5 - h / 2, w, h])


@pytest.mark.parametrize("name,fmt,run", RUNS)
def test_tracker_follows_the_peer_frame_by_frame(name, fmt, run, peer_weights, crossing):
    conversion = convert(peer_weights(name), fmt)
    tracker = make_tracker(conversion.model, {**conversion.tracker, "crop": "resize", "rotated": True}
                           if conversion.model.kind == "siammask" else {**conversion.tracker, "crop": "resize"})
    tracker.init(crossing[0], _first_box(name, fmt, run))
    boxes, cells, scores, masks = [], [], [], []
    for image in crossing[1:]:
        prediction = tracker.update(image)
        boxes.append(prediction.box - PEER_SHIFT)
        cells.append((tracker.located.anchor, *tracker.located.cell))
        scores.append(tracker.located.score)
        masks.append(prediction)
    stem = PEERS / name / f"Crossing.{run}"
    np.testing.assert_allclose(boxes, np.loadtxt(f"{stem}.txt", delimiter=",")[1:], atol=1e-3, rtol=0)
    np.testing.assert_array_equal(cells, np.loadtxt(f"{stem}.argmax.txt", delimiter=",")[1:, :3])
    np.testing.assert_allclose(scores, np.loadtxt(f"{stem}.scores.txt")[1:], atol=1e-5, rtol=0)
    if conversion.model.kind == "siammask":
        _check_masks(masks, stem)


def _check_masks(predictions: list, stem: str) -> None:
    """Mask pixel counts within a few pixels (a pixel within float noise of the threshold can flip) and
    polygons as point sets within 1 px (OpenCV's vertex order has changed between versions)."""
    pixels = np.loadtxt(f"{stem}.maskpix.txt")[1:]
    polygons = np.loadtxt(f"{stem}.polygon.txt", delimiter=",")[1:].reshape(-1, 4, 2)
    assert np.abs(np.array([p.mask.sum() for p in predictions]) - pixels).max() <= 3
    for prediction, theirs in zip(predictions, polygons):
        ours = prediction.polygon - 0.5
        assert np.abs(ours[:, None] - theirs[None]).max(2).min(1).max() <= 1.0


@pytest.fixture(scope="module")
def official_siamfc(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("official") / "siamfc.pt"
    import_checkpoint(str(OFFICIAL_SIAMFC), "siamfc-pytorch", None, str(out))
    return out


def _track_siamfc(checkpoint: Path, crop_mode: str, images: list) -> tuple[np.ndarray, list, list]:
    model, saved = load_checkpoint(checkpoint)
    tracker = make_tracker(model, {**saved["tracker"], "crop": crop_mode})
    first = np.loadtxt(SIAMFC / "Crossing.txt", delimiter=",")[0]
    tracker.init(images[0], first)
    respond, responses = tracker.respond, []

    def recording(batch):  # the raw head output of the three scales, as the reference stored it
        outputs = respond(batch)
        responses.append(outputs["score"][:, 0].numpy().copy())
        return outputs
    tracker.respond = recording
    boxes, scales = [first], []
    for image in images[1:]:
        boxes.append(tracker.update(image).box)
        scales.append(tracker.located.crop_index)
    return np.array(boxes), scales, responses


def test_official_siamfc_with_resize_crops_reproduces_siamfc_pytorch(official_siamfc, crossing):
    boxes, scales, responses = _track_siamfc(official_siamfc, "resize", crossing)
    np.testing.assert_allclose(boxes, np.loadtxt(SIAMFC / "Crossing.txt", delimiter=","), atol=1e-3, rtol=0)
    reference = np.loadtxt(SIAMFC / "Crossing.scores.txt", delimiter=",", comments="#")[1:]
    np.testing.assert_array_equal(scales, reference[:, 2])
    raw = np.load(SIAMFC / "Crossing.responses.npz")["raw_head_output"]
    np.testing.assert_allclose(np.stack(responses), raw, atol=1e-4 * np.abs(raw).max(), rtol=0)


def success_auc(boxes: np.ndarray) -> float:
    """OTB's success AUC on Crossing (its loader turns the 1-based ground truth into ours)."""
    (sequence,) = [s for s in load_otb(CROSSING.parent) if s.name == "Crossing"]
    return float(success_curve(iou_xywh(boxes, sequence.gt)).mean())


def test_official_siamfc_with_the_default_warp_crop_tracks_as_well(official_siamfc, crossing):
    """The sub-pixel crop of training changes the boxes slightly; the success AUC stays within 0.01 of
    siamfc-pytorch's (0.771032, reference/siamfc/Crossing/Crossing.metrics.json)."""
    import json
    reference = json.loads((SIAMFC / "Crossing.metrics.json").read_text())["got10k"]["auc"]
    boxes, _, _ = _track_siamfc(official_siamfc, "warp", crossing)
    resize_boxes, _, _ = _track_siamfc(official_siamfc, "resize", crossing)
    assert abs(success_auc(resize_boxes) - reference) < 1e-6
    assert abs(success_auc(boxes) - reference) < 0.01
