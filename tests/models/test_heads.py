import torch

from models.backbones import AlexNet
from models.heads import RPN, DepthwiseXCorr, Refine, SiamFCHead, UpXCorr, position_windows, xcorr, xcorr_depthwise


def count(module):
    return sum(p.numel() for p in module.parameters())


def test_xcorr_is_the_inner_product_with_every_sub_window():
    """SiamFC eq. 1, the fully-convolutional property, on a tiny example computed by hand."""
    torch.manual_seed(0)
    template, search = torch.randn(2, 3, 2, 2), torch.randn(2, 3, 5, 4)
    out = xcorr(template, search)
    assert out.shape == (2, 1, 4, 3)
    for n in range(2):
        for i in range(4):
            for j in range(3):
                expected = (template[n] * search[n, :, i:i + 2, j:j + 2]).sum()
                assert torch.allclose(out[n, 0, i, j], expected, atol=1e-5)
    # K kernels per sample (up-channel): channel k uses template channels k*C ... (k+1)*C - 1.
    kernels = torch.randn(2, 2 * 3, 2, 2)
    both = xcorr(kernels, search)
    assert both.shape == (2, 2, 4, 3)
    assert torch.allclose(both[:, 1:], xcorr(kernels[:, 3:], search), atol=1e-5)


def test_depthwise_xcorr_correlates_each_channel_alone():
    torch.manual_seed(0)
    template, search = torch.randn(2, 4, 3, 3), torch.randn(2, 4, 6, 6)
    out = xcorr_depthwise(template, search)
    assert out.shape == (2, 4, 4, 4)
    for c in range(4):
        assert torch.allclose(out[:, c:c + 1], xcorr(template[:, c:c + 1], search[:, c:c + 1]), atol=1e-5)


def test_siamfc_score_map_is_17x17_for_127_and_255_inputs():
    backbone, head = AlexNet(width=0.25), SiamFCHead()
    score = head(backbone(torch.randn(2, 3, 127, 127))[5], backbone(torch.randn(2, 3, 255, 255))[5])
    assert score.shape == (2, 1, 17, 17)
    score.mean().backward()
    assert head.bias.grad is not None and [n for n, _ in head.named_parameters()] == ["bias"]  # the scale is fixed


def test_up_xcorr_has_about_ten_times_the_parameters_of_dw_xcorr():
    """SiamRPN++ section 3.4: the up-channel head is heavy and unbalanced. Measured: 7.5x (18.9M / 2.5M)."""
    up, dw = RPN("up", [256], anchors=5), RPN("dw", [256], anchors=5)
    assert count(up.cls[0]) == 256 * 256 * 10 * 9 + 256 * 10 + 256 * 256 * 9 + 256  # 3x3 convs with bias
    ratio = count(up) / count(dw)
    assert 5 < ratio < 15, ratio


def test_layerwise_aggregation_mixes_levels_with_separate_learned_weights():
    """SiamRPN++ eq. 2: S_all = sum alpha_l S_l, B_all = sum beta_l B_l."""
    torch.manual_seed(0)
    rpn = RPN("dw", [8, 8, 8], anchors=5, hidden=8).eval()
    templates, searches = [torch.randn(1, 8, 7, 7)] * 3, [torch.randn(1, 8, 31, 31) * (i + 1) for i in range(3)]
    with torch.no_grad():
        rpn.cls_weight.copy_(torch.tensor([0.0, 0.0, 50.0]))  # softmax ~ (0, 0, 1): the third level alone
        rpn.loc_weight.copy_(torch.tensor([50.0, 0.0, 0.0]))
        out = rpn(templates, searches)
        assert out["cls"].shape == (1, 10, 25, 25) and out["loc"].shape == (1, 20, 25, 25)
        assert torch.allclose(out["cls"], rpn.cls[2](templates[2], searches[2]), atol=1e-4)
        assert torch.allclose(out["loc"], rpn.loc[0](templates[0], searches[0]), atol=1e-4)
    assert not hasattr(RPN("dw", [8], anchors=5, hidden=8), "cls_weight")  # one level: nothing to mix
    assert isinstance(RPN("up", [8, 8], anchors=5).cls[0], UpXCorr)
    assert isinstance(RPN("dw", [8, 8], anchors=5).cls[0], DepthwiseXCorr)


def test_position_windows_are_centred_on_their_score_cells():
    """A 255 image, a 25 x 25 map at stride 8: cell (r, c) is centred on pixel 127 + 8 (r - 12)."""
    image = torch.zeros(1, 1, 255, 255)
    image[0, 0, 127 + 8 * 3, 127 - 8 * 5] = 1  # the centre pixel of cell (15, 7)
    windows = position_windows(image, torch.tensor([[0, 15, 7], [0, 0, 0]]), 25, 127, 8)
    assert windows.shape == (2, 1, 127, 127)
    assert windows[0, 0, 63, 63] == 1 and windows[0].sum() == 1
    assert windows[1].sum() == 0  # cell (0, 0)'s window reaches outside the image: zero padding


def test_refine_gives_a_127x127_mask_per_position():
    torch.manual_seed(0)
    refine = Refine({1: 4, 2: 8, 3: 16}, corr_channels=8)
    stages = {1: torch.randn(2, 4, 125, 125), 2: torch.randn(2, 8, 63, 63), 3: torch.randn(2, 16, 31, 31)}
    masks = refine(torch.randn(2, 8, 25, 25), stages, torch.tensor([[0, 12, 12], [1, 0, 24]]))
    assert masks.shape == (2, 1, 127, 127)
    masks.sum().backward()
    assert all(p.grad is not None for p in refine.parameters())
