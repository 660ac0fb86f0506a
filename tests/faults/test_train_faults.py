"""Training killed with SIGKILL, alone and under torchrun with 2 ranks: `--resume` continues from the last
checkpoint to the weights of an uninterrupted run, and the MLflow run holds each step once."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import psutil
import torch
from mlflow.tracking import MlflowClient

from models.checkpoint import load_checkpoint
from pipeline.training import run_folder
from tests.conftest import REPO, run_module
from tests.pipeline.test_train import sets, train_args


def weights(path):
    model, checkpoint = load_checkpoint(path)
    return checkpoint, {k: v.clone() for k, v in model.state_dict().items()}


def test_a_killed_run_resumes_to_the_weights_of_an_uninterrupted_one(tiny_shards, tmp_path):
    # Both runs as commands: bit-exactness holds for the same torch thread count (reductions split by thread).
    args = train_args(tiny_shards, tmp_path / "whole", "train_profiles.demo.siamfc.epochs=4")
    assert run_module("pipeline.train", "--variant", "siamfc_alexnet", *sets(args)).returncode == 0
    whole, expected = weights(tmp_path / "whole" / "siamfc_alexnet" / "checkpoint.pt")
    assert whole["epoch"] == 4 and whole["optimizer"]["state"]

    runs, uri = tmp_path / "killed", f"sqlite:///{tmp_path}/mlflow.db"
    args = train_args(tiny_shards, runs, "train_profiles.demo.siamfc.epochs=4", f"mlflow.tracking_uri={uri}")
    command = [sys.executable, "-m", "pipeline.train", "--variant", "siamfc_alexnet", *sets(args)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    assert kill_after_first_epoch(command, runs, env) == -signal.SIGKILL
    interrupted, _ = weights(run_folder.last_checkpoint(runs / "siamfc_alexnet"))
    assert interrupted["epoch"] < 4, "the run ended before the kill"
    done = run_module("pipeline.train", "--variant", "siamfc_alexnet", "--resume", *sets(args))
    assert done.returncode == 0, done.stderr
    assert f"resuming after epoch {interrupted['epoch']}" in done.stdout
    resumed, actual = weights(runs / "siamfc_alexnet" / "checkpoint.pt")
    assert resumed["epoch"] == 4 and resumed["step"] == whole["step"]
    assert all(torch.equal(expected[k], actual[k]) for k in expected)
    steps = [json.loads(line)["step"] for line in (runs / "siamfc_alexnet" / "steps.jsonl").read_text().splitlines()]
    assert steps == list(range(1, whole["step"] + 1))  # no step lost or logged twice
    client = MlflowClient(uri)
    (run,) = client.search_runs([client.get_experiment_by_name("siamflow").experiment_id])  # the same run goes on
    assert run.info.status == "FINISHED"
    assert sorted(m.step for m in client.get_metric_history(run.info.run_id, "total")) == steps

    # Other params: resuming would mix two runs.
    failed = run_module("pipeline.train", "--variant", "siamfc_alexnet", "--resume",
                        *sets([*args, "train.seed=1"]))
    assert failed.returncode == 2 and "written with other params" in failed.stderr


def kill_after_first_epoch(command, runs, env, cwd=REPO):
    """Starts `command`, kills it and every process under it once the first epoch's checkpoint is written."""
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first, deadline = runs / "siamfc_alexnet" / "checkpoint-e001.pt", time.time() + 180
    while not first.exists() and time.time() < deadline and process.poll() is None:
        time.sleep(0.05)
    for each in [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]:
        each.kill()  # torchrun's ranks run in sessions of their own: every process of the tree, at once
    process.wait()
    return process.returncode


def test_a_killed_two_rank_torchrun_resumes_to_the_weights_of_an_uninterrupted_one(tiny_shards, tmp_path):
    torchrun = shutil.which("torchrun", path=os.path.dirname(sys.executable))
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}

    def command(runs, *extra):
        return [torchrun, "--standalone", "--nproc_per_node=2", "-m", "pipeline.train", "--variant",
                "siamfc_alexnet", *extra, *sets(train_args(tiny_shards, runs, "train_profiles.demo.siamfc.epochs=3"))]

    whole = subprocess.run(command(tmp_path / "whole"), cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert whole.returncode == 0, whole.stderr[-3000:]
    _, expected = weights(tmp_path / "whole" / "siamfc_alexnet" / "checkpoint.pt")

    runs = tmp_path / "killed"
    assert kill_after_first_epoch(command(runs), runs, env) == -signal.SIGKILL
    interrupted, _ = weights(run_folder.last_checkpoint(runs / "siamfc_alexnet"))
    assert interrupted["epoch"] < 3, "the run ended before the kill"
    done = subprocess.run(command(runs, "--resume"), cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"resuming after epoch {interrupted['epoch']}" in done.stdout
    resumed, actual = weights(runs / "siamfc_alexnet" / "checkpoint.pt")
    assert resumed["epoch"] == 3 and json.loads((runs / "siamfc_alexnet" / "train.json").read_text())["ranks"] == 2
    assert all(torch.equal(expected[k], actual[k]) for k in expected)
