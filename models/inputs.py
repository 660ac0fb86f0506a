"""The one conversion from images to network input."""
from __future__ import annotations

import numpy as np
import torch


def to_input(images, device="cpu") -> torch.Tensor:
    """BGR uint8 crops (H, W, 3) as a float batch (N, 3, H, W) of 0-255 values (as SiamFC's and pysot's
    released models take them; the first batch norm does the scaling)."""
    batch = np.stack([np.asarray(image) for image in images]).transpose(0, 3, 1, 2)
    return torch.from_numpy(np.ascontiguousarray(batch)).to(device=device, dtype=torch.float32)
