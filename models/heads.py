"""Heads: what the template and search features become (a score map, and boxes or masks)."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def xcorr(template: torch.Tensor, search: torch.Tensor) -> torch.Tensor:
    """Cross-correlation of each template (N, C, h, w) with its own search map (N, C, H, W): (N, 1, H-h+1, W-w+1).
    One grouped convolution: the batch becomes the groups."""
    n, c, h, w = search.shape
    out = F.conv2d(search.reshape(1, n * c, h, w), template, groups=n)
    return out.reshape(n, 1, *out.shape[-2:])


class SiamFCHead(nn.Module):
    """SiamFC's similarity f(z, x) = phi(z) * phi(x) + b (Bertinetto et al. 2016, eq. 2), with a learned output
    scale as the authors' 'adjust' layer (initialised to 1e-3, which keeps the logistic loss out of saturation
    at the start)."""

    def __init__(self, out_scale: float = 1e-3):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(out_scale))
        self.bias = nn.Parameter(torch.zeros(()))

    def forward(self, template: torch.Tensor, search: torch.Tensor) -> torch.Tensor:
        return self.scale * xcorr(template, search) + self.bias
