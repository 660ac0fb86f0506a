import torch

from models.backbones import AlexNetSiamFC
from models.heads import SiamFCHead, xcorr


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


def test_siamfc_score_map_is_17x17_for_127_and_255_inputs():
    backbone, head = AlexNetSiamFC(width=0.25), SiamFCHead()
    score = head(backbone(torch.randn(2, 3, 127, 127)), backbone(torch.randn(2, 3, 255, 255)))
    assert score.shape == (2, 1, 17, 17)
    score.mean().backward()
    assert head.scale.grad is not None and head.bias.grad is not None
