"""MLflow lineage across processes: the stages log to a real `mlflow server` on 127.0.0.1 and the report reads
the runs back from it; a queued `dvc exp run` (a temporary copy of the repository) logs into the store at
the repository's root, tagged with its experiment name and baseline revision."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from mlflow.tracking import MlflowClient

from tests.conftest import REPO, TINY_WORLD, start_mlflow_server, stop_mlflow_server

BIN = Path(sys.executable).parent


@pytest.fixture
def mlflow_server(tmp_path):
    server, uri = start_mlflow_server(tmp_path)
    yield uri
    stop_mlflow_server(server)


def stage(module, *args, uri, cwd=REPO):
    env = {**os.environ, "PYTHONPATH": str(REPO), "MLFLOW_TRACKING_URI": uri, "SIAMFLOW_PIPELINE_ID": "test-pipeline"}
    done = subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def test_stages_log_to_a_real_mlflow_server_and_the_report_reads_them_back(tiny_world, mlflow_server, tmp_path):
    sets = [f"benchmarks.synth-otb.root={tiny_world}/benchmarks/synth-otb", f"evaluate.results={tmp_path}/results",
            f"score.out={tmp_path}/metrics", f"report.out={tmp_path}/reports", "evaluate.backend=serial",
            "repro.train=[]", "repro.benchmarks=[synth-otb]"]
    options = [a for s in sets for a in ("--set", s)]
    stage("pipeline.evaluate", "--variant", "identity", "--benchmark", "synth-otb", *options, uri=mlflow_server)
    stage("pipeline.score", "--variant", "identity", "--benchmark", "synth-otb", *options, uri=mlflow_server)
    stage("pipeline.report", "--table", "results", *options, uri=mlflow_server)

    scored = json.loads((tmp_path / "metrics/identity/synth-otb.json").read_text())["overall"]
    table = (tmp_path / "reports/results.md").read_text()
    assert f"| identity | {scored['success_auc']:.3f} | {scored['precision_20']:.3f} |" in table
    client = MlflowClient(mlflow_server)
    runs = client.search_runs([client.get_experiment_by_name("siamflow").experiment_id])
    by_stage = {r.data.tags["stage"]: r for r in runs}
    assert set(by_stage) == {"evaluate", "score", "report"} and len(runs) == 3
    assert {r.data.tags["pipeline_id"] for r in runs} == {"test-pipeline"}
    assert {r.data.tags["git_commit"] for r in runs} == {subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()}
    score = by_stage["score"]
    assert score.data.metrics["success_auc"] == pytest.approx(scored["success_auc"])
    assert score.data.tags["tracker"] == "identity" and score.data.params["benchmark"] == "synth-otb"
    # Artifacts go through the server to its artifact store.
    local = client.download_artifacts(score.info.run_id, "synth-otb.json", str(tmp_path / "back"))
    assert Path(local).read_bytes() == (tmp_path / "metrics/identity/synth-otb.json").read_bytes()
    assert list((tmp_path / "served").rglob("results.md"))
    evaluated = {a.path for a in client.list_artifacts(by_stage["evaluate"].info.run_id)}
    assert "speed.json" in evaluated and sum(p.endswith(".txt") for p in evaluated) == 2  # the tiny world's 2


def test_a_queued_dvc_experiment_logs_to_the_repository_store_with_its_name_and_baseline(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in ("pipeline", "models"):
        shutil.copytree(REPO / name, repo / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("dvc.yaml", ".gitignore"):
        shutil.copy(REPO / name, repo / name)
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    for setting in TINY_WORLD:
        key, value = setting.removeprefix("synth.").split("=")
        params["synth"][key] = int(value)
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    env = {**os.environ, "PYTHONPATH": str(repo), "DVC_NO_ANALYTICS": "1"}
    env.pop("MLFLOW_TRACKING_URI")

    def run(*command):
        done = subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True)
        assert done.returncode == 0, f"{command}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
        return done.stdout

    run("git", "init", "-q")
    run("git", "config", "user.email", "test@example.org")
    run("git", "config", "user.name", "test")
    run(str(BIN / "dvc"), "init", "-q")
    run("git", "add", "-A")
    run("git", "commit", "-qm", "baseline")
    baseline = run("git", "rev-parse", "HEAD").strip()
    run(str(BIN / "dvc"), "exp", "run", "--queue", "-S", "synth.seed=1", "-n", "seed-one", "synth")
    run(str(BIN / "dvc"), "exp", "run", "--run-all")

    client = MlflowClient(f"sqlite:///{repo}/mlflow.db")
    (synth,) = client.search_runs([client.get_experiment_by_name("siamflow").experiment_id])
    assert synth.info.status == "FINISHED" and synth.data.params["seed"] == "1"
    assert synth.data.tags["dvc_exp_name"] == "seed-one" and synth.data.tags["dvc_exp_baseline_rev"] == baseline
    assert synth.data.tags["dvc_stage"] == "synth" and synth.data.tags["stage"] == "synth"
    assert not list((repo / ".dvc/tmp/exps").rglob("mlflow.db"))  # not in the temporary copy
