"""Heads: what the template and search features become (a score map, anchor scores and offsets, masks).

Output layouts, shared with the losses and the trackers: SiamFC `score` (N, 1, S, S); RPN `cls` (N, 2k, S, S)
read as (N, 2, k, S, S) (background then target, anchor-major within each) and `loc` (N, 4k, S, S) read as
(N, 4, k, S, S) (dx, dy, log dw, log dh); mask logits (N, m * m, S, S), one m x m mask per position.
"""
from __future__ import annotations

import functools

import torch
from torch import nn
from torch.nn import functional as F


def xcorr(template: torch.Tensor, search: torch.Tensor) -> torch.Tensor:
    """Cross-correlation of each sample's template (N, K * C, h, w) with its search map (N, C, H, W): K output
    channels (N, K, H - h + 1, W - w + 1), channel k from template channels k * C ... (k + 1) * C - 1.
    One grouped convolution: the batch becomes the groups."""
    n, c, h, w = search.shape
    kernels = template.reshape(-1, c, *template.shape[-2:])
    out = F.conv2d(search.reshape(1, n * c, h, w), kernels, groups=n)
    return out.reshape(n, -1, *out.shape[-2:])


def xcorr_depthwise(template: torch.Tensor, search: torch.Tensor) -> torch.Tensor:
    """Channel-by-channel cross-correlation (SiamRPN++ section 3.4): (N, C, h, w) with (N, C, H, W) gives
    (N, C, H - h + 1, W - w + 1)."""
    n, c, h, w = search.shape
    kernels = template.reshape(n * c, 1, *template.shape[-2:])
    out = F.conv2d(search.reshape(1, n * c, h, w), kernels, groups=n * c)
    return out.reshape(n, c, *out.shape[-2:])


class SiamFCHead(nn.Module):
    """SiamFC's similarity f(z, x) = phi(z) * phi(x) + b (Bertinetto et al. 2016, eq. 2) times a fixed output
    scale (1e-3 keeps the logistic loss out of saturation). The scale is not learned: its gradient is the raw
    correlation, thousands, and one SGD step at lr 1e-2 threw it (and the loss) off by orders of magnitude."""

    def __init__(self, out_scale: float = 1e-3):
        super().__init__()
        self.register_buffer("scale", torch.tensor(out_scale))
        self.bias = nn.Parameter(torch.zeros(()))

    def forward(self, template: torch.Tensor, search: torch.Tensor) -> torch.Tensor:
        return self.scale * xcorr(template, search) + self.bias


class UpXCorr(nn.Module):
    """SiamRPN's up-channel correlation (Li et al. 2018, section 3.2, Fig. 2): the template is raised to
    `out_channels` x C channels by a 3x3 convolution and correlated as out_channels kernels with the search
    map, itself through a 3x3 convolution."""

    def __init__(self, channels: int, out_channels: int):
        super().__init__()
        self.template = nn.Conv2d(channels, channels * out_channels, 3)
        self.search = nn.Conv2d(channels, channels, 3)

    def forward(self, template, search):
        return xcorr(self.template(template), self.search(search))


def _conv_bn_relu(in_channels: int, out_channels: int, kernel: int) -> list[nn.Module]:
    return [nn.Conv2d(in_channels, out_channels, kernel, bias=False), nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True)]


class DepthwiseXCorr(nn.Module):
    """SiamRPN++'s depth-wise correlation head (section 3.4, Fig. 3c): 3x3 conv + BN + ReLU on each branch, a
    depth-wise correlation, then two 1x1 convolutions to `out_channels`; with out_channels None the
    correlation map itself (SiamMask's 'response of a candidate window', which its refinement reads)."""

    def __init__(self, channels: int, out_channels: int | None, hidden: int = 256):
        super().__init__()
        self.template = nn.Sequential(*_conv_bn_relu(channels, hidden, 3))
        self.search = nn.Sequential(*_conv_bn_relu(channels, hidden, 3))
        self.head = nn.Identity() if out_channels is None else nn.Sequential(
            *_conv_bn_relu(hidden, hidden, 1), nn.Conv2d(hidden, out_channels, 1))

    def forward(self, template, search):
        return self.head(xcorr_depthwise(self.template(template), self.search(search)))


class RPN(nn.Module):
    """Anchor classification and regression over one or more feature levels. With several levels the outputs
    are mixed by learned weights, separate for classification and regression (SiamRPN++ eq. 2), kept a convex
    combination by a softmax."""

    def __init__(self, corr: str, channels: list[int], anchors: int, hidden: int = 256, loc_adjust: bool = False):
        super().__init__()
        make = UpXCorr if corr == "up" else functools.partial(DepthwiseXCorr, hidden=hidden)
        self.cls = nn.ModuleList(make(c, 2 * anchors) for c in channels)
        self.loc = nn.ModuleList(make(c, 4 * anchors) for c in channels)
        # DaSiamRPN's `regress_adjust`: a 1x1 convolution over the regression channels of one level.
        self.loc_adjust = nn.Conv2d(4 * anchors, 4 * anchors, 1) if loc_adjust else None
        if len(channels) > 1:  # a single level has no mixing weight (nothing unused under DDP)
            self.cls_weight = nn.Parameter(torch.zeros(len(channels)))
            self.loc_weight = nn.Parameter(torch.zeros(len(channels)))

    def forward(self, templates: list, searches: list) -> dict:
        cls = [head(z, x) for head, z, x in zip(self.cls, templates, searches)]
        loc = [head(z, x) for head, z, x in zip(self.loc, templates, searches)]
        if self.loc_adjust is not None:
            loc = [self.loc_adjust(r) for r in loc]
        if len(cls) == 1:
            return {"cls": cls[0], "loc": loc[0]}
        alpha, beta = F.softmax(self.cls_weight, 0), F.softmax(self.loc_weight, 0)
        return {"cls": sum(a * c for a, c in zip(alpha, cls)), "loc": sum(b * r for b, r in zip(beta, loc))}


class Refine(nn.Module):
    """SiamMask's refinement (Wang et al. 2019, section 3.3 and Fig. 8 of its appendix, after SharpMask): a
    position's correlation vector is deconvolved to 15 x 15; at each of stages 3, 2, 1 of the search image
    (15, 31, 61 cells around that position) a lateral branch of the features and a top-down branch of the mask
    so far are summed, upsampled (nearest, as the released SiamMask and pysot do) and convolved, ending in one
    127 x 127 logit map. Layer widths are the released model's.

    Stages 1-3 have strides 2, 4 and 8 and are centred on the search image like the score map (see
    models/backbones.py), so a position's window is found from the map sizes alone.
    """
    CROPS = {3: 15, 2: 31, 1: 61}  # cells of stage s covering one exemplar (127 px) window
    LATERAL = {3: (128, 32), 2: (64, 16), 1: (16, 4)}  # hidden and output channels of each stage's branches
    FUSED = {3: 16, 2: 4, 1: 1}    # channels after the fusing convolution of each stage

    def __init__(self, stage_channels: dict[int, int], corr_channels: int, out_size: int = 127):
        super().__init__()
        self.deconv = nn.ConvTranspose2d(corr_channels, self.LATERAL[3][1], self.CROPS[3], self.CROPS[3])
        self.lateral = nn.ModuleDict({str(s): _two_convs(stage_channels[s], *self.LATERAL[s]) for s in self.CROPS})
        self.top_down = nn.ModuleDict({str(s): _two_convs(out, out, out) for s, (_, out) in self.LATERAL.items()})
        self.fuse = nn.ModuleDict({str(s): nn.Conv2d(self.LATERAL[s][1], self.FUSED[s], 3, padding=1)
                                   for s in self.CROPS})
        self.out_size = out_size

    def forward(self, corr: torch.Tensor, stages: dict, positions: torch.Tensor) -> torch.Tensor:
        """corr (N, C, S, S) correlation features, stages {1, 2, 3: (N, C_s, H_s, W_s)} of the search image,
        positions (P, 3) rows (sample, row, column): (P, 1, out_size, out_size) mask logits."""
        n, _, size, _ = corr.shape
        sample, row, col = positions.unbind(1)
        x = self.deconv(corr[sample, :, row, col][..., None, None])
        for stage, up_to in ((3, self.CROPS[2]), (2, self.CROPS[1]), (1, self.out_size)):
            window = position_windows(stages[stage], positions, size, self.CROPS[stage], 2 ** (3 - stage))
            x = self.top_down[str(stage)](x) + self.lateral[str(stage)](window)
            x = self.fuse[str(stage)](F.interpolate(x, size=up_to, mode="nearest"))
        return x


def _two_convs(in_channels: int, hidden: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, hidden, 3, padding=1), nn.ReLU(inplace=True),
                         nn.Conv2d(hidden, out_channels, 3, padding=1), nn.ReLU(inplace=True))


def position_windows(feature: torch.Tensor, positions: torch.Tensor, score_size: int, cells: int, ratio: int):
    """The cells x cells windows of `feature` centred on score-map positions; `ratio` is the number of feature
    cells per score-map cell (8 / stride). Zero outside the map."""
    height = feature.shape[-1]
    # Score cell p (of score_size) is centred on feature index (height - 1) / 2 + ratio (p - (score_size - 1) / 2).
    first = ((height - 1) / 2 - (cells - 1) / 2 + ratio * (positions[:, 1:] - (score_size - 1) / 2)).round().long()
    pad = int(max(0, -first.min(), (first + cells - height).max())) if len(first) else 0
    padded = F.pad(feature, (pad, pad, pad, pad))
    return torch.stack([padded[n, :, r + pad:r + pad + cells, c + pad:c + pad + cells]
                        for n, (r, c) in zip(positions[:, 0].tolist(), first.tolist())])
