import math

import pytest
import torch

from models.losses import mask_loss, rpn_losses, siamfc_loss


def test_siamfc_loss_balances_positives_and_negatives():
    label = -torch.ones(1, 1, 3, 3)
    label[0, 0, 1, 1] = 1
    score = torch.zeros(1, 1, 3, 3)
    score[0, 0, 1, 1] = 2.0
    # eq. 3: log(1 + exp(-y v)); the one positive weighs 1/2, the 8 negatives 1/16 each.
    expected = 0.5 * math.log(1 + math.exp(-2)) + 0.5 * math.log(2)
    assert siamfc_loss(score, label).item() == pytest.approx(expected)
    # A negative pair: every cell is a negative, averaged.
    assert siamfc_loss(torch.zeros(1, 1, 3, 3), -torch.ones(1, 1, 3, 3)).item() == pytest.approx(math.log(2))


def test_rpn_losses_are_cross_entropy_on_sampled_anchors_and_l1_on_positives():
    k, s = 2, 3
    labels = torch.full((1, k, s, s), -1)
    labels[0, 0, 1, 1], labels[0, 1, 0, 0] = 1, 0
    cls = torch.zeros(1, 2 * k, s, s)
    cls[0, k + 0, 1, 1] = 3.0  # target logit of anchor 0 at (1, 1)
    loc = torch.zeros(1, 4 * k, s, s)
    target_loc = torch.zeros(1, 4, k, s, s)
    target_loc[0, :, 0, 1, 1] = torch.tensor([0.5, -0.5, 1.0, 0.0])
    weight = torch.zeros(1, k, s, s)
    weight[0, 0, 1, 1] = 1.0
    losses = rpn_losses(cls, loc, {"cls": labels, "loc": target_loc, "loc_weight": weight})
    assert losses["cls"].item() == pytest.approx((math.log(1 + math.exp(-3)) + math.log(2)) / 2)
    assert losses["loc"].item() == pytest.approx(2.0)


def test_mask_loss_is_the_mean_logistic_loss_over_pixels():
    logits, masks = torch.tensor([[[[2.0, -1.0]]]]), torch.tensor([[[[1.0, 1.0]]]])
    assert mask_loss(logits, masks).item() == pytest.approx((math.log(1 + math.exp(-2)) + math.log(1 + math.exp(1))) / 2)
