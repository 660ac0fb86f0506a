"""Peer checkpoints for the import tests: deterministic weights in pysot's and DaSiamRPN's layouts, regenerated
from ../shared/reference/peers/<model>/keys.json by the make_weights.py beside them (never stored)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.conftest import SHARED

PEERS = SHARED / "reference" / "peers"


@pytest.fixture(scope="session")
def peer_weights(tmp_path_factory):
    """weights(name) -> the path of that reference model's regenerated state dict, made once per session."""
    import torch
    spec = importlib.util.spec_from_file_location("make_weights", PEERS / "make_weights.py")
    make_weights = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_weights)
    folder, made = tmp_path_factory.mktemp("peer-weights"), {}

    def weights(name: str) -> Path:
        if name not in made:
            made[name] = folder / f"{name}.pth"
            torch.save(make_weights.make_state_dict(str(PEERS / name / "keys.json")), made[name])
        return made[name]
    return weights
