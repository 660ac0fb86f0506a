"""A training run's folder, runs/<variant>/: checkpoint-eNNN.pt per epoch (e000: the initial weights),
checkpoint.pt (a link to the newest), train.json, steps.jsonl; and the hash that says which run it holds."""
from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import models
from pipeline import training
from pipeline.common.files import file_sha256, json_digest, write_atomic
from pipeline.config.schema import Params
from pipeline.data import augment, sampling, shards
from pipeline.data.shards import MANIFEST


def _code_files() -> list[Path]:
    """The code the weights depend on: the models, the training package and the pair sampling."""
    folders = [Path(models.__file__).parent, Path(training.__file__).parent]
    files = [p for folder in folders for p in sorted(folder.rglob("*.py"))]
    return files + [Path(m.__file__) for m in (augment, sampling, shards)]


def run_hash(params: Params, variant: str) -> str:
    """What determines the weights: the model config, the recipe, the sampling and augmentation settings
    (not where files go or how many loader workers read them), the curated data (its manifests) and the
    code that trains (so that a changed loss does not resume a run made with the old one)."""
    recipe = params.recipe(variant)
    train = {k: v for k, v in dataclasses.asdict(params.train).items() if k not in ("runs", "loader_workers")}
    manifests = {name: file_sha256(Path(params.curate.out) / name / MANIFEST) for name in recipe.datasets}
    code = {p.name: file_sha256(p) for p in _code_files()}
    return json_digest({"config": params.variants[variant], "recipe": dataclasses.asdict(recipe), "train": train,
                        "curated": manifests, "code": code})


def last_checkpoint(folder: Path) -> Path | None:
    """The newest checkpoint-eNNN.pt (a kill between writing it and linking checkpoint.pt loses nothing)."""
    epochs = sorted(folder.glob("checkpoint-e[0-9][0-9][0-9].pt"))
    return epochs[-1] if epochs else None


def remove_epochs(folder: Path) -> None:
    """A new run: an old run's epochs must not be resumed."""
    for stale in folder.glob("checkpoint-e[0-9][0-9][0-9].pt"):
        stale.unlink()


def link_atomic(source: Path, link: Path) -> None:
    """`link` becomes another name of `source` in one rename: readers see the old file or the new one."""
    tmp = link.with_name(f".{link.name}.tmp")
    tmp.unlink(missing_ok=True)
    os.link(source, tmp)
    os.replace(tmp, link)


def truncate_steps(path: Path, step: int) -> None:
    """Keep the step log up to the checkpoint's step (a resumed run writes the rest again)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = path.read_text().splitlines(keepends=True) if path.exists() else []
    kept = "".join(line for line in lines if line.endswith("\n") and json.loads(line)["step"] <= step)  # a cut line too
    write_atomic(path, kept.encode())


def append_steps(path: Path, steps: list[dict]) -> None:
    with open(path, "a") as log:
        log.writelines(json.dumps(s) + "\n" for s in steps)
