import numpy as np
import pytest

from models.targets import AnchorTargets, SiamFCLabels, anchor_boxes, cell_centres, encode, iou_with_box


def make_anchor_targets(**overrides):
    settings = dict(score_size=25, stride=8, search_size=255, ratios=(0.33, 0.5, 1, 2, 3), scales=(8,),
                    pos_iou=0.6, neg_iou=0.3, positives=16, samples=64, centre_cells=3)
    return AnchorTargets(**{**settings, **overrides})


def test_cell_centres_are_symmetric_about_the_search_centre():
    assert cell_centres(17, 8, 255).tolist() == [127.5 + 8 * (i - 8) for i in range(17)]


def test_siamfc_labels_are_positive_within_radius_r_of_the_target():
    labels = SiamFCLabels(17, 8, 255, radius=16)
    centred = labels((127.5 - 20, 127.5 - 30, 40, 60), negative=False)["label"][0]
    # k ||u - c|| <= R with k = 8, R = 16: the 13 cells within 2 cells of the centre (SiamFC eq. 6)
    assert centred.shape == (17, 17) and (centred == 1).sum() == 13 and centred[8, 8] == 1 and centred[8, 10] == 1
    assert centred[9, 10] == -1 and set(np.unique(centred)) == {-1, 1}
    moved = labels((127.5 - 20 + 16, 127.5 - 30, 40, 60), negative=False)["label"][0]
    assert moved[8, 10] == 1 and moved[8, 12] == 1 and moved[8, 7] == -1  # follows the target
    assert (labels((0, 0, 10, 10), negative=True)["label"] == -1).all()


def test_anchors_have_the_papers_ratios_and_one_area():
    anchors = anchor_boxes(25, 8, 255, (0.33, 0.5, 1, 2, 3), (8,))
    assert anchors.shape == (4, 5, 25, 25)
    w, h = anchors[2, :, 0, 0], anchors[3, :, 0, 0]
    assert np.allclose(h / w, [0.33, 0.5, 1, 2, 3]) and np.allclose(w * h, 64 * 64)
    assert anchors[0, 0, 0, 12] == 127.5 and anchors[1, 0, 12, 0] == 127.5 and anchors[0, 0, 0, 13] == 135.5


def test_encode_is_zero_for_the_anchor_itself_and_iou_is_one():
    anchors = anchor_boxes(5, 8, 63, (0.5, 2), (8,))
    cx, cy, w, h = anchors[:, 1, 2, 3]
    box = (cx - w / 2, cy - h / 2, w, h)
    assert np.allclose(encode(anchors, box)[:, 1, 2, 3], 0)
    assert iou_with_box(anchors, box)[1, 2, 3] == pytest.approx(1)
    assert encode(anchors, (cx - w, cy - h / 2, 2 * w, h))[:, 1, 2, 3] == pytest.approx([0, 0, np.log(2), 0])


def test_anchor_targets_sample_at_most_16_positives_of_64():
    targets = make_anchor_targets()
    box = (127.5 - 32, 127.5 - 32, 64, 64)
    out = targets(box, negative=False, rng=np.random.default_rng(0))
    cls, weight = out["cls"], out["loc_weight"]
    iou = iou_with_box(targets.anchors, box)
    assert 0 < (cls == 1).sum() <= 16 and (cls >= 0).sum() == 64
    assert (iou[cls == 1] > 0.6).all() and (iou[cls == 0] < 0.3).all()
    assert np.isclose(weight.sum(), 1) and (weight[cls != 1] == 0).all()
    assert out["loc"].shape == (4, 5, 25, 25)
    again = targets(box, negative=False, rng=np.random.default_rng(0))
    assert np.array_equal(again["cls"], cls)  # a function of the generator's state


def test_negative_pairs_sample_only_negatives_near_the_centre():
    out = make_anchor_targets()((10, 10, 64, 64), negative=True, rng=np.random.default_rng(0))
    cls = out["cls"]
    assert (cls != 1).all() and (cls == 0).sum() == 48 and out["loc_weight"].sum() == 0
    rows, cols = np.nonzero((cls == 0).any(0))
    assert np.abs(rows - 12).max() <= 3 and np.abs(cols - 12).max() <= 3
