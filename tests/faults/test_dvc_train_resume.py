"""`dvc repro` killed during training: rerun, the train stage (dvc.yaml's own: `--resume auto`, its run folder
persisted) continues from the last epoch to the weights of an uninterrupted run, in a real DVC project."""
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import torch
import yaml

from tests.conftest import REPO, TINY_WORLD
from tests.faults.test_train_faults import kill_after_first_epoch, weights
from tests.pipeline.test_train import FAST

BIN = Path(sys.executable).parent
EPOCHS = 3


def set_key(raw: dict, override: str) -> None:
    key, _, value = override.partition("=")
    *parents, leaf = key.split(".")
    for part in parents:
        raw = raw.setdefault(part, {})
    raw[leaf] = value if isinstance(raw.get(leaf), str) else yaml.safe_load(value)  # as --set reads it


def dvc_project(root: Path, shards: Path) -> Path:
    """A git + DVC project with this checkout's code, the tiny world's shards and dvc.yaml's train stage."""
    root.mkdir()
    for folder in ("pipeline", "models"):
        shutil.copytree(REPO / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(shards, root / "data" / "shards")
    raw = json.loads(json.dumps(yaml.safe_load((REPO / "params.yaml").read_text())))  # no shared anchors
    for override in [*TINY_WORLD, *FAST, "curate.out=data/shards", "train.runs=runs", "mlflow.tracking_uri=off",
                     f"train_profiles.demo.siamfc.epochs={EPOCHS}", "repro.train=[siamfc_alexnet]"]:
        set_key(raw, override)
    (root / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    (root / "dvc.yaml").write_text(yaml.safe_dump({"stages": {"train": stages["train"]}}, sort_keys=False))
    for command in (["git", "init", "-q"], [str(BIN / "dvc"), "init", "-q"]):
        subprocess.run(command, cwd=root, check=True)
    return root


def test_a_dvc_repro_killed_in_training_continues_from_the_last_epoch(tiny_shards, tmp_path):
    project = dvc_project(tmp_path / "project", tiny_shards)
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "PYTHONPATH": str(project),
           "DVC_NO_ANALYTICS": "1"}
    whole = subprocess.run([sys.executable, "-m", "pipeline.train", "--variant", "siamfc_alexnet", "--set",
                            "train.runs=whole"], cwd=project, env=env, capture_output=True, text=True)
    assert whole.returncode == 0, whole.stderr[-2000:]
    _, expected = weights(project / "whole" / "siamfc_alexnet" / "checkpoint.pt")

    runs = project / "runs"
    assert kill_after_first_epoch([str(BIN / "dvc"), "repro"], runs, env, cwd=project) == -signal.SIGKILL
    interrupted, _ = weights(runs / "siamfc_alexnet" / "checkpoint-e001.pt")
    assert not (runs / "siamfc_alexnet" / f"checkpoint-e{EPOCHS:03d}.pt").exists(), "the run ended before the kill"
    again = subprocess.run([str(BIN / "dvc"), "repro"], cwd=project, env=env, capture_output=True, text=True)
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    assert "train: siamfc_alexnet: resuming after epoch" in again.stdout
    resumed, actual = weights(runs / "siamfc_alexnet" / "checkpoint.pt")
    assert resumed["epoch"] == EPOCHS
    assert all(torch.equal(expected[k], actual[k]) for k in expected)
    status = subprocess.run([str(BIN / "dvc"), "status"], cwd=project, env=env, capture_output=True, text=True)
    assert "Data and pipelines are up to date" in status.stdout

    # Other params: the stage reruns and trains from the start instead of mixing two runs.
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["train"]["seed"] = 1
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    fresh = subprocess.run([str(BIN / "dvc"), "repro"], cwd=project, env=env, capture_output=True, text=True)
    assert fresh.returncode == 0, fresh.stderr[-2000:]
    assert "is of other params, data or code: training from the start" in fresh.stdout
    assert "resuming" not in fresh.stdout
