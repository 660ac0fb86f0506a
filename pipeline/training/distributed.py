"""torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK), or a single process without it."""
from __future__ import annotations

import os

import torch
from torch import distributed as dist

from pipeline.common.errors import UserError


class Distributed:
    def __init__(self, device: str):
        self.rank, self.ranks = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
        local = int(os.environ.get("LOCAL_RANK", 0))
        if device == "cuda" and not torch.cuda.is_available():
            raise UserError("train.device is cuda, but torch sees no CUDA device (set train.device=cpu)")
        self.device = torch.device(f"cuda:{local}" if device == "cuda" else "cpu")
        if device == "cuda":
            torch.cuda.set_device(self.device)
        if self.ranks > 1:
            dist.init_process_group("nccl" if device == "cuda" else "gloo")

    @property
    def main(self) -> bool:
        return self.rank == 0

    def all_finite(self, value: torch.Tensor) -> bool:
        """Whether `value` is finite on every rank (so that all ranks skip a step together)."""
        flag = torch.isfinite(value.detach()).all().float().reshape(1)
        if self.ranks > 1:
            dist.all_reduce(flag, op=dist.ReduceOp.MIN)
        return bool(flag.item())

    def close(self) -> None:
        if self.ranks > 1:
            dist.destroy_process_group()


def one_torch_thread(_):
    """A DataLoader worker's init: one torch thread each, the cores go to the workers."""
    torch.set_num_threads(1)
