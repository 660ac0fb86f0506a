"""Checkpoints: the variant and its config (so that a checkpoint alone rebuilds its network), the weights,
the optimizer state, epoch and step, the params hash and git commit of the run that wrote it, and, for
imported models (models/convert.py), the test-time tracker settings they were released with (`tracker`).

Only tensors and plain values are stored, and loading uses torch.load(weights_only=True): no pickle.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch

from models import ModelError, load_tensors
from models.variants import build_model

FORMAT = "siamflow-checkpoint/1"


def save_checkpoint(path: str | Path, model, *, epoch: int, step: int, params_hash: str, git_commit: str,
                    optimizer: torch.optim.Optimizer | None = None, extra: dict | None = None,
                    tracker: dict | None = None) -> None:
    """Write atomically (a temporary file in the same folder, then a rename); `model` unwrapped from DDP;
    `extra`: plain values the training loop keeps across a resume; `tracker`: test-time settings."""
    path = Path(path)
    payload = {"format": FORMAT, "variant": model.variant, "config": model.config, "epoch": epoch, "step": step,
               "model": model.state_dict(), "optimizer": optimizer.state_dict() if optimizer else None,
               "params_hash": params_hash, "git_commit": git_commit, "extra": extra or {},
               "tracker": tracker or {}}
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=path.name, suffix=".partial", delete=False) as tmp:
        try:
            torch.save(payload, tmp)
            tmp.flush()
            os.fsync(tmp.fileno())
        except BaseException:
            os.unlink(tmp.name)
            raise
    os.replace(tmp.name, path)


def load_checkpoint(path: str | Path, variant: str | None = None, map_location="cpu"):
    """(model, checkpoint dict): the network rebuilt from the checkpoint's own variant and config, with its
    weights. `variant`, when given, must match. Any unreadable or foreign file is a one-line ModelError."""
    try:
        checkpoint = load_tensors(path, map_location)
    except FileNotFoundError:
        raise ModelError(f"{path}: checkpoint not found") from None
    except Exception as err:  # truncated zips, pickles of other objects, random bytes: many exception types
        raise ModelError(f"{path}: not a readable checkpoint ({type(err).__name__})") from None
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != FORMAT:
        raise ModelError(f"{path}: not a siamflow checkpoint (no {FORMAT!r} format mark)")
    if not (isinstance(checkpoint.get("variant"), str) and isinstance(checkpoint.get("config"), dict)
            and isinstance(checkpoint.get("model"), dict)):
        raise ModelError(f"{path}: an incomplete siamflow checkpoint (no variant, config or weights)")
    if variant is not None and checkpoint["variant"] != variant:
        raise ModelError(f"{path}: a checkpoint of variant {checkpoint['variant']!r}, not {variant!r}")
    # The weights come from the checkpoint: the ImageNet file it was started from is not needed.
    model = build_model(checkpoint["variant"], **{**checkpoint["config"], "pretrained": ""})
    try:
        model.load_state_dict(checkpoint["model"])
    except RuntimeError as err:
        raise ModelError(f"{path}: weights do not fit variant {checkpoint['variant']!r} "
                         f"({str(err).splitlines()[0]})") from None
    return model.to(map_location), checkpoint
