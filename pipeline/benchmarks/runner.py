"""Tracking one benchmark sequence: the task that evaluate fans out (in a Ray worker or in this process).

A sequence's result files are written first, then its progress record: a killed evaluation's rerun with
the same job (checkpoint bytes, settings) skips the sequences that have one.
"""
from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np

from pipeline.benchmarks.protocols import PROTOCOLS
from pipeline.common.files import write_atomic
from pipeline.config.schema import EvaluateParams

PROGRESS = ".progress"  # <results>/<variant>/<benchmark>/.progress/<sequence>.json while a run is under way


@functools.lru_cache(maxsize=1)
def load_model(base_variant: str | None, checkpoint: str | None, device: str):
    """(network, the tracker settings it was released with), read once per process (serially, or per Ray
    worker) and shared by its sequences; (None, {}) for the identity tracker."""
    if base_variant is None:
        return None, {}
    from models.checkpoint import load_checkpoint
    model, saved = load_checkpoint(checkpoint, variant=base_variant, map_location=device)
    return model, saved.get("tracker", {})


def evaluate_sequence(job: dict, report=lambda n: None) -> dict:
    """Track job["sequence"] with the job's model and settings and write its result files."""
    import torch

    from models.trackers import make_tracker
    torch.set_num_threads(1)
    model, _ = load_model(job["base_variant"], job["checkpoint"], job["device"])
    sequence, folder = job["sequence"], Path(job["folder"])
    options = EvaluateParams(**job["evaluate"])
    times = PROTOCOLS[job["protocol"]].track(lambda: make_tracker(model, job["settings"], job["device"]), sequence,
                                             folder, options)
    record = {"sequence": sequence.name, "frames": len(times), "seconds": float(np.sum(times))}
    write_atomic(folder / PROGRESS / f"{sequence.name}.json", json.dumps(record | {"job": job["key"]}).encode())
    return record


def finished(folder: Path, key: str) -> dict[str, dict]:
    """The sequences that an interrupted run of the same job finished."""
    records = {}
    for path in (folder / PROGRESS).glob("*.json"):
        record = json.loads(path.read_text())
        if record.pop("job") == key:
            records[record["sequence"]] = record
    return records
