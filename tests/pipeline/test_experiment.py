"""MLflow logging of the stages into a real MLflow store (SQLite), nothing at all without a tracking URI,
and a training that goes on when the tracking server cannot be reached."""
import json
import socket
import sys

import torch
from mlflow.tracking import MlflowClient

from models.checkpoint import load_checkpoint
from pipeline import curate, tracking, train
from pipeline.tracking import RunLog
from pipeline.config.schema import MlflowParams
from tests.conftest import dataset_specs, tiny_params
from tests.pipeline.test_train import train_args


def test_curate_logs_its_stats_and_preview_to_mlflow(tiny_world, tiny_index, tmp_path):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    params = tiny_params(f"curate.out={tmp_path}/shards", f"curate.metrics={tmp_path}/metrics",
                         "curate.backend=serial", f"mlflow.tracking_uri={uri}")
    stats = curate.run("det", dataset_specs(tiny_world)["det"], tiny_index, params.curate, params.mlflow)
    client = MlflowClient(uri)
    (run,) = client.search_runs([client.get_experiment_by_name("siamflow").experiment_id])
    assert run.info.run_name == "curate-det" and run.info.status == "FINISHED"
    assert run.data.metrics["crops"] == stats["crops"] > 0
    assert run.data.metrics["skipped.image_missing"] == 0
    assert run.data.params["search_size"] == "511" and run.data.params["dataset"] == "det"
    assert sorted(a.path for a in client.list_artifacts(run.info.run_id)) == ["det.json", "det.png", "manifest.json"]
    assert run.data.tags["stage"] == "curate" and run.data.tags["dataset"] == "det"
    assert len(run.data.tags["git_commit"]) == 40 and run.data.tags["git_dirty"] in ("true", "false")


def test_with_logging_off_mlflow_is_not_even_imported(tiny_world, tiny_index, tmp_path, monkeypatch):
    monkeypatch.delitem(sys.modules, "mlflow")
    params = tiny_params(f"curate.out={tmp_path}/shards", f"curate.metrics={tmp_path}/metrics", "curate.backend=serial")
    curate.run("det", dataset_specs(tiny_world)["det"], tiny_index, params.curate, MlflowParams("off", "siamflow", "outbox"))
    assert "mlflow" not in sys.modules


def test_the_default_store_is_sqlite_at_dvc_root_with_artifacts_beside_it(tmp_path, monkeypatch):
    """A queued `dvc exp run` works in a temporary copy: DVC_ROOT names the repository the store belongs to."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    monkeypatch.setenv("DVC_ROOT", str(tmp_path))
    monkeypatch.setenv("DVC_EXP_NAME", "sunny-jays")
    monkeypatch.setenv("DVC_EXP_BASELINE_REV", "f" * 40)
    monkeypatch.chdir(tmp_path.parent)
    params = MlflowParams("", "siamflow", "outbox")
    assert tracking.tracking_uri(params) == f"sqlite:///{tmp_path}/mlflow.db"
    (tmp_path / "note.txt").write_text("x")
    run_id = tracking.log_stage(params, "synth", {"seed": 3}, {"videos": 2}, [tmp_path / "note.txt"])
    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    run = client.get_run(run_id)
    assert run.data.tags["dvc_exp_name"] == "sunny-jays" and run.data.tags["dvc_exp_baseline_rev"] == "f" * 40
    assert run.data.tags["params_hash"] == tracking.params_hash({"seed": 3}) and run.data.metrics["videos"] == 2
    assert list((tmp_path / "mlruns").rglob("note.txt"))


def test_a_short_training_logs_params_step_metrics_and_checkpoints(tiny_shards, tmp_path):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    params = tiny_params(*train_args(tiny_shards, tmp_path / "runs"), f"mlflow.tracking_uri={uri}")
    train.run("siamfc_alexnet", params)
    client = MlflowClient(uri)
    (run,) = client.search_runs([client.get_experiment_by_name("siamflow").experiment_id])
    summary = json.loads((tmp_path / "runs/siamfc_alexnet/train.json").read_text())
    assert run.info.run_name == "train-siamfc_alexnet" and run.info.status == "FINISHED"
    assert summary["mlflow_run_id"] == run.info.run_id
    assert run.data.params["recipe.epochs"] == "2" and run.data.params["model.width"] == "0.25"
    assert float(run.data.params["train.template.shift"]) == 4 and run.data.tags["params_hash"] == summary["params_hash"]
    steps = [json.loads(line) for line in (tmp_path / "runs/siamfc_alexnet/steps.jsonl").read_text().splitlines()]
    logged = client.get_metric_history(run.info.run_id, "total")
    assert [(m.step, m.value) for m in logged] == [(s["step"], s["total"]) for s in steps] and len(steps) == 16
    assert len(client.get_metric_history(run.info.run_id, "lr")) == 16
    epochs = client.get_metric_history(run.info.run_id, "samples_per_second")
    assert [m.value for m in epochs] == [e["samples_per_second"] for e in summary["epochs"]]
    assert len(client.get_metric_history(run.info.run_id, "epoch_seconds")) == 2
    assert run.data.metrics["system/process_memory_rss_megabytes"] > 0
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert artifacts == {"checkpoints", "model", "train.json", "steps.jsonl"}
    assert {a.path for a in client.list_artifacts(run.info.run_id, "checkpoints")} == {
        "checkpoints/checkpoint-e001.pt", "checkpoints/checkpoint-e002.pt"}
    logged_model = client.download_artifacts(run.info.run_id, "model/checkpoint.pt", str(tmp_path))
    final = load_checkpoint(tmp_path / "runs/siamfc_alexnet/checkpoint.pt")[0].state_dict()
    assert all(torch.equal(v, final[k]) for k, v in load_checkpoint(logged_model)[0].state_dict().items())


def test_an_unreachable_tracking_server_is_said_once_and_training_completes_into_the_outbox(tiny_shards, tmp_path, capfd):
    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    params = tiny_params(*train_args(tiny_shards, tmp_path / "runs"), f"mlflow.tracking_uri=http://127.0.0.1:{port}",
                         f"mlflow.outbox={tmp_path / 'outbox'}")
    result = train.run("siamfc_alexnet", params)
    err = capfd.readouterr().err
    assert err.count(f"mlflow: cannot log to http://127.0.0.1:{port}") == 1
    assert [e["epoch"] for e in result["epochs"]] == [1, 2]
    folder = tmp_path / "runs/siamfc_alexnet"
    assert len((folder / "steps.jsonl").read_text().splitlines()) == 16 and (folder / "checkpoint-e002.pt").exists()
    run_id = json.loads((folder / "train.json").read_text())["mlflow_run_id"]
    assert run_id.startswith("local-") and f"mlflow: run {run_id} waits in" in err
    records = [json.loads(line) for line in (tmp_path / "outbox" / f"{run_id}.jsonl").read_text().splitlines()]
    assert records[0]["run_name"] == "train-siamfc_alexnet" and records[-1] == {"op": "finish", "status": "FINISHED"}
    assert sorted(row[3] for r in records if r["op"] == "metrics" for row in r["rows"] if row[0] == "total") == list(
        range(1, 17))


def test_a_stage_that_fails_leaves_its_run_failed_and_ctrl_c_killed(tmp_path):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    for error, status in ((ValueError, "FAILED"), (KeyboardInterrupt, "KILLED")):
        try:
            with RunLog(MlflowParams(uri, "siamflow", str(tmp_path / "outbox")), f"stage-{status}", {"a": {"b": 1}}) as run:
                run.metrics({"loss": 0.5}, step=3)
                raise error
        except error:
            pass
        logged = MlflowClient(uri).get_run(run.run_id)
        assert logged.info.status == status and logged.data.params == {"a.b": "1"}
        assert logged.data.metrics == {"loss": 0.5}
