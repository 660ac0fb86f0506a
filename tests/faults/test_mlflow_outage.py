"""The tracking server goes away in the middle of a training run: the run completes with all its local
outputs, the rest of its MLflow run waits in the outbox, and `python -m pipeline.experiment sync` sends it
once the server is back, each metric once."""
import json
import os
import signal
import subprocess
import sys
import time
from urllib.parse import urlparse

from mlflow.tracking import MlflowClient

from tests.conftest import REPO, run_module, start_mlflow_server, stop_mlflow_server
from tests.pipeline.test_train import sets, train_args

EPOCHS = 4


def test_a_server_stopped_mid_run_loses_nothing_and_sync_sends_the_rest_once(tiny_shards, tmp_path):
    server, uri = start_mlflow_server(tmp_path)
    outbox, runs = tmp_path / "outbox", tmp_path / "runs"
    args = train_args(tiny_shards, runs, f"train_profiles.demo.siamfc.epochs={EPOCHS}",
                      "train_profiles.demo.siamfc.pairs_per_epoch=64", f"mlflow.tracking_uri={uri}",
                      f"mlflow.outbox={outbox}")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    training = subprocess.Popen([sys.executable, "-m", "pipeline.train", "--variant", "siamfc_alexnet", *sets(args)],
                                cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    client = MlflowClient(uri)
    deadline = time.time() + 180
    logged = []
    while not logged and time.time() < deadline and training.poll() is None:  # the first epoch reached the server
        time.sleep(0.1)
        experiment = client.get_experiment_by_name("siamflow")
        found = experiment and client.search_runs([experiment.experiment_id])
        logged = found and client.get_metric_history(found[0].info.run_id, "epoch")
    stop_mlflow_server(server, signal.SIGKILL)
    assert training.poll() is None, "training ended before the server was stopped"
    out, err = training.communicate(timeout=300)
    assert training.returncode == 0, err[-2000:]
    assert err.count(f"mlflow: cannot log to {uri}") == 1

    folder = runs / "siamfc_alexnet"  # the local outputs are whole
    summary = json.loads((folder / "train.json").read_text())
    steps = [json.loads(line)["step"] for line in (folder / "steps.jsonl").read_text().splitlines()]
    assert [e["epoch"] for e in summary["epochs"]] == list(range(1, EPOCHS + 1)) and steps == list(range(1, 65))
    assert (folder / f"checkpoint-e{EPOCHS:03d}.pt").exists()
    (journal,) = outbox.glob("*.jsonl")
    assert journal.stem == summary["mlflow_run_id"]  # the run that the server already knew goes on

    server, uri = start_mlflow_server(tmp_path, urlparse(uri).port)  # back, on the same store
    try:
        done = run_module("pipeline.experiment", "sync", "--set", f"mlflow.outbox={outbox}")
        assert done.returncode == 0 and "1 run(s) sent, 0 left" in done.stdout, done.stdout + done.stderr
        (run,) = client.search_runs([client.get_experiment_by_name("siamflow").experiment_id])
        assert run.info.status == "FINISHED" and run.info.run_id == summary["mlflow_run_id"]
        history = sorted(m.step for m in client.get_metric_history(run.info.run_id, "total"))
        assert history == steps  # each step once: those sent before the outage and those sent by sync
        assert len(client.get_metric_history(run.info.run_id, "epoch")) == EPOCHS
        checkpoints = {a.path for a in client.list_artifacts(run.info.run_id, "checkpoints")}
        assert checkpoints == {f"checkpoints/checkpoint-e{e:03d}.pt" for e in range(1, EPOCHS + 1)}
        assert not list(outbox.glob("*.jsonl")) and not list(outbox.glob("*.files"))

        again = run_module("pipeline.experiment", "sync", "--set", f"mlflow.outbox={outbox}")
        assert again.returncode == 0 and "0 run(s) sent, 0 left" in again.stdout
        assert len(client.get_metric_history(run.info.run_id, "total")) == len(steps)
    finally:
        stop_mlflow_server(server)
