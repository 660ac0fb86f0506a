"""Trackers on the real OTB sequence Crossing, with no training: the identity tracker, and SiamFC's tracking
over a network set by hand to be a plain template matcher."""
import cv2
import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from models.trackers.identity import IdentityTracker
from models.trackers.siamfc import SiamFCTracker
from models.trackers.siamrpn import SiamRPNTracker
from models.variants import build_model
from pipeline.benchmarks import metrics
from pipeline.benchmarks.loaders import load_otb
from tests.conftest import SHARED, needs_shared


class CellMatcher(nn.Module):
    """A hand-set embedding: the image less its mean colour, each 8 x 8 pixel cell as a zero-mean unit vector
    (so that the correlation sums cell-wise normalized cross-correlations), the exemplar's cells weighted
    towards its centre, where the
    target is (the context around it would otherwise pin a static-camera tracker to the background)."""
    stride = 8
    out_channels = {5: 192}

    def forward(self, images):
        side = images.shape[-1] // 8 * 8
        images = images - images.mean((2, 3), keepdim=True)
        cells = F.pixel_unshuffle(images[..., :side, :side], 8)
        cells = F.normalize(cells - cells.mean(1, keepdim=True), dim=1)
        if images.shape[-1] == 127:
            r = torch.arange(cells.shape[-1]) - (cells.shape[-1] - 1) / 2
            cells = cells * torch.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * 3.0 ** 2))
        return {5: cells}


@pytest.fixture(scope="module")
def crossing():
    if not SHARED.is_dir():
        pytest.skip(needs_shared.kwargs["reason"])
    (sequence,) = load_otb(SHARED / "data" / "otb")
    return sequence, [cv2.imread(str(f)) for f in sequence.frames]


def track(tracker, sequence, images):
    tracker.init(images[0], sequence.gt[0])
    return np.array([sequence.gt[0]] + [tracker.update(image).box for image in images[1:]])


def test_identity_tracker_auc_is_the_hand_computed_one(crossing):
    sequence, images = crossing
    boxes = track(IdentityTracker(None), sequence, images)
    assert (boxes == sequence.gt[0]).all()
    # by hand: IoU of the first box with every ground-truth box, thresholds 0, 0.05, ..., 1, strictly greater
    x, y, w, h = sequence.gt[0]
    ious = []
    for gx, gy, gw, gh in sequence.gt:
        inter = max(0, min(x + w, gx + gw) - max(x, gx)) * max(0, min(y + h, gy + gh) - max(y, gy))
        ious.append(inter / (w * h + gw * gh - inter))
    by_hand = np.mean([np.mean([iou > t / 20 for iou in ious]) for t in range(21)])
    assert metrics.ope_sequence(boxes, sequence.gt)["success_auc"] == pytest.approx(by_hand, abs=1e-12)


def test_siamfc_tracking_follows_the_pedestrian_with_a_template_matcher(crossing):
    sequence, images = crossing
    model = build_model("siamfc_alexnet")
    model.backbone = CellMatcher()
    matcher = metrics.ope_sequence(track(SiamFCTracker(model), sequence, images), sequence.gt)
    identity = metrics.ope_sequence(track(IdentityTracker(None), sequence, images), sequence.gt)
    # Measured: AUC 0.68 and precision 1.0 against 0.04 and 0.12 (SiamFC's default settings).
    assert matcher["success_auc"] > 0.5 and matcher["success_auc"] > 5 * identity["success_auc"]
    assert matcher["precision_20"] > 0.9


def test_siamrpn_tracking_keeps_a_box_inside_the_image(crossing):
    sequence, images = crossing
    torch.manual_seed(0)
    tracker = SiamRPNTracker(build_model("siamrpn_alexnet_dw", width=0.25, hidden=16))
    boxes = track(tracker, sequence, images[:10])
    height, width = images[0].shape[:2]
    assert np.isfinite(boxes).all() and (boxes[:, 2:] >= 10).all()
    assert (boxes[:, 0] + boxes[:, 2] / 2 <= width).all() and (boxes[:, 1] + boxes[:, 3] / 2 <= height).all()


@pytest.mark.filterwarnings("error")  # numpy's overflow warnings included
def test_siamrpn_size_outputs_beyond_float32_exp_still_give_finite_boxes(crossing):
    """Fresh or diverged weights can ask for e^200 times an anchor: the box must stay a box, not turn NaN."""
    sequence, images = crossing
    torch.manual_seed(0)
    model = build_model("siamrpn_alexnet_dw", width=0.25, hidden=16)
    with torch.no_grad():
        model.head.loc[0].head[1].bias[10:15] = 200.0  # dw of every anchor (channels: dx, dy, dw, dh per anchor)
        model.head.loc[0].head[1].bias[15:20] = -200.0  # dh
    boxes = track(SiamRPNTracker(model), sequence, images[:5])
    height, width = images[0].shape[:2]
    assert np.isfinite(boxes).all() and (boxes[:, 2:] >= 10).all() and (boxes[:, 2] <= width).all()


def test_distractor_aware_rescoring(crossing):
    """DaSiamRPN's option: off by default; on, it keeps separated strong proposals as distractor templates,
    and a distractor identical to the target (weight 2: target minus twice itself) turns the choice away."""
    from models.geometry import cxcywh_to_xywh
    from models.targets import iou_with_box
    sequence, images = crossing
    torch.manual_seed(0)
    model = build_model("siamrpn_alexnet_dw", width=0.25, hidden=16)
    plain = SiamRPNTracker(model)
    plain.init(images[0], sequence.gt[0])
    first = plain.update(images[1]).box
    assert plain.distractors == []

    collecting = SiamRPNTracker(model, distractor_weight=0.5, distractor_threshold=0.0, distractors=3)
    collecting.init(images[0], sequence.gt[0])
    assert np.allclose(collecting.update(images[1]).box, first)  # no distractors yet: the plain choice
    boxes = np.array(collecting.distractor_boxes)
    assert len(boxes) == len(collecting.distractors) == 3
    assert all(iou_with_box(np.delete(boxes, i, 0).T, cxcywh_to_xywh(b)).max() <= 0.3 for i, b in enumerate(boxes))
    collecting.update(images[2])
    collecting.init(images[0], sequence.gt[0])
    assert collecting.distractors == []  # a re-initialization (VOT) forgets them

    turned = SiamRPNTracker(model, distractor_weight=2.0)
    turned.init(images[0], sequence.gt[0])
    turned.distractors = [turned.template]
    assert not np.allclose(turned.update(images[1]).box, first)


def test_a_mask_window_lands_where_its_crop_came_from():
    from models.trackers.siammask import mask_in_image, mask_regions
    window = np.zeros((127, 127))
    window[32:96, 48:80] = 1  # 64 x 32 mask px at the window's centre
    # The window: 63.5 image px square (two mask px per image px), its centre at (108, 80).
    image_mask = mask_in_image(window, (108 - 63.5 / 2, 80 - 63.5 / 2, 63.5), (240, 320)) > 0.5
    box, corners = mask_regions(image_mask)
    assert np.allclose(box, [108 - 8, 80 - 16, 16, 32], atol=1)
    assert np.allclose(np.sort(corners[:, 0]), [100, 100, 116, 116], atol=1)
    # pysot's mapping differs by its (size - 1) / size scale and the half-pixel of its centres only.
    released = mask_in_image(window, (108 - 63.5 / 2, 80 - 63.5 / 2, 63.5), (240, 320), released=True) > 0.5
    assert np.allclose(mask_regions(released)[0], box, atol=1.5)


def test_a_mask_region_smaller_than_100_px_leaves_the_box_search_answer():
    from models.trackers.siammask import mask_regions
    mask = np.zeros((50, 50), np.uint8)
    mask[10:19, 10:20] = 1  # 90 px
    assert mask_regions(mask) is None
    mask[10:22, 10:22] = 1
    assert mask_regions(mask)[0].tolist() == [10, 10, 12, 12]


@pytest.mark.parametrize("refine", [True, False])
def test_siammask_tracking_reports_a_mask_and_its_rectangles(crossing, refine):
    from models.trackers.siammask import SiamMaskTracker
    sequence, images = crossing
    torch.manual_seed(0)
    model = build_model("siammask_r50", width=0.125, hidden=16, neck_channels=16, refine=refine)
    with torch.no_grad():  # a mask head that answers "target" everywhere: the whole window is the mask
        last = model.refine.fuse["1"] if refine else model.mask_head.head[-1]
        last.weight.zero_()
        last.bias.fill_(5.0)
    tracker = SiamMaskTracker(model, rotated=True)
    tracker.init(images[0], sequence.gt[0])
    prediction = tracker.update(images[1])
    assert prediction.mask.shape == images[0].shape[:2] and prediction.mask.sum() > 0
    assert prediction.polygon.shape == (4, 2)
    x, y, w, h = prediction.box
    assert w > sequence.gt[0][2] and h > sequence.gt[0][3]  # the whole window: larger than the target
