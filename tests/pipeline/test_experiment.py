"""MLflow logging of a stage into a real MLflow store (SQLite), and nothing at all without a tracking URI."""
import sys

from mlflow.tracking import MlflowClient

from pipeline import curate
from pipeline.params import MlflowParams
from tests.conftest import dataset_specs, tiny_params


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
    assert sorted(a.path for a in client.list_artifacts(run.info.run_id)) == ["det.json", "det.png"]


def test_without_a_tracking_uri_mlflow_is_not_even_imported(tiny_world, tiny_index, tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delitem(sys.modules, "mlflow")
    params = tiny_params(f"curate.out={tmp_path}/shards", f"curate.metrics={tmp_path}/metrics", "curate.backend=serial")
    curate.run("det", dataset_specs(tiny_world)["det"], tiny_index, params.curate, MlflowParams("", "siamflow"))
    assert "mlflow" not in sys.modules
