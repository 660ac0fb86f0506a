"""Necks: what sits between a backbone's stages and the heads."""
from __future__ import annotations

from torch import nn


class Adjust(nn.Module):
    """SiamRPN++ (Li et al. 2019, section 3.2): a 1x1 convolution + BN per used stage brings its channels to
    `channels`, and the template map (15 x 15 for a 127 template) is cut to its centre `template_crop` cells
    (7 x 7), which keeps the correlation cheap."""

    def __init__(self, in_channels: list[int], channels: int = 256, template_crop: int = 7):
        super().__init__()
        self.layers = nn.ModuleList(nn.Sequential(nn.Conv2d(c, channels, 1, bias=False), nn.BatchNorm2d(channels))
                                    for c in in_channels)
        self.template_crop = template_crop

    def forward(self, features: list, template: bool) -> list:
        out = [layer(f) for layer, f in zip(self.layers, features)]
        if template and self.template_crop:
            out = [centre_crop(f, self.template_crop) for f in out]
        return out


def centre_crop(feature, size: int):
    """The centre size x size cells of a (N, C, H, W) map (the whole map if it is not larger)."""
    top, left = max(0, (feature.shape[-2] - size) // 2), max(0, (feature.shape[-1] - size) // 2)
    return feature[..., top:top + size, left:left + size]
