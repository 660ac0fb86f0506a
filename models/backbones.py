"""Backbones: each maps an image batch to feature maps and exposes `out_channels` and `stride`."""
from __future__ import annotations

from torch import nn


def _conv_bn(in_channels: int, out_channels: int, kernel: int, stride: int = 1, groups: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(in_channels, out_channels, kernel, stride, groups=groups), nn.BatchNorm2d(out_channels)]


class AlexNetSiamFC(nn.Module):
    """SiamFC's embedding (Bertinetto et al. 2016, Table 1): five convolutions without padding, 2-group
    conv2/conv4/conv5 as in the table's channel counts, max-pooling after conv1 and conv2, batch norm after
    every convolution (section 4.1), ReLU after every layer but conv5. 127 -> 6 x 6, 255 -> 22 x 22, stride 8.

    `width` scales every channel count (1.0 is the paper's), so that small models train on a CPU.
    """
    stride = 8

    def __init__(self, width: float = 1.0):
        super().__init__()
        c1, c2, c3, c4, c5 = (2 * max(1, round(c * width / 2)) for c in (96, 256, 384, 384, 256))  # even: 2 groups
        self.features = nn.Sequential(
            *_conv_bn(3, c1, 11, stride=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
            *_conv_bn(c1, c2, 5, groups=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
            *_conv_bn(c2, c3, 3), nn.ReLU(inplace=True),
            *_conv_bn(c3, c4, 3, groups=2), nn.ReLU(inplace=True),
            *_conv_bn(c4, c5, 3, groups=2),
        )
        self.out_channels = c5

    def forward(self, images):
        return self.features(images)
