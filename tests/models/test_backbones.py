import torch

from models.backbones import AlexNetSiamFC


def test_siamfc_alexnet_matches_the_paper_table_1():
    net = AlexNetSiamFC().eval()
    with torch.no_grad():
        assert net(torch.zeros(1, 3, 127, 127)).shape == (1, 256, 6, 6)
        assert net(torch.zeros(1, 3, 255, 255)).shape == (1, 256, 22, 22)
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size[0], c.groups, c.padding[0]) for c in convs] == [
        (96, 11, 1, 0), (256, 5, 2, 0), (384, 3, 1, 0), (384, 3, 2, 0), (256, 3, 2, 0)]
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules()) == 5
    assert isinstance(net.features[-1], torch.nn.BatchNorm2d)  # no ReLU after conv5
    with torch.no_grad():  # stride 8: eight more input pixels give one more output cell
        assert net(torch.zeros(1, 3, 127 + net.stride, 127 + net.stride)).shape[-1] == 7


def test_width_multiplier_shrinks_channels_and_keeps_shapes():
    net = AlexNetSiamFC(width=0.25)
    out = net(torch.zeros(2, 3, 127, 127))
    assert out.shape == (2, net.out_channels, 6, 6) and net.out_channels == 64
    out.sum().backward()
