"""The README's set-up on a fresh clone: `make repro` curates the synthetic world, trains the demo SiamFC,
SiamRPN, SiamRPN++ and SiamMask, evaluates them against their untrained weights and the identity tracker,
prints the main table, and a second run does nothing.

The clone reuses this checkout's .venv (VENV=...) so that the test does not reinstall every package;
CI itself starts from a fresh clone, so the install path is exercised there on every run.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from mlflow.tracking import MlflowClient

from pipeline.tracking import params_hash

from tests.conftest import REPO


def make(target, cwd, venv):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS")) and k != "MLFLOW_TRACKING_URI"}
    return subprocess.run(["make", target, f"VENV={venv}"], cwd=cwd, capture_output=True, text=True, env=env)


@pytest.mark.skipif(not (REPO / ".git").exists(), reason="needs the git checkout to clone from")
def test_make_repro_on_a_fresh_clone_then_nothing_reruns(tmp_path):
    venv = Path(sys.executable).parent.parent
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    first = make("repro", clone, venv)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert "matches requirements.lock, nothing to install" in first.stdout
    for stage in ("synth", *(f"{s}@{d}" for s in ("index", "curate") for d in ("vid", "det", "coco", "ytbb", "ytvos"))):
        assert f"Running stage '{stage}'" in first.stdout
    for header in ("| dataset | videos |", "| dataset | shards |"):  # the index and curation summaries
        table = first.stdout[first.stdout.index(header):].splitlines()
        assert sorted(line.split("|")[1].strip() for line in table[2:7]) == ["coco", "det", "vid", "ytbb", "ytvos"]
    assert not list((clone / "data").rglob("*lock.mdb"))
    for stage in ("train@siammask_r50", "evaluate-untrained@siamrpnpp_r18-synth-otb", "score-identity@synth-vot",
                  "evaluate@siammask_r50-synth-davis"):
        assert f"Running stage '{stage}'" in first.stdout
    # Training learned something: on the held-out synthetic OTB each family's trained network beats its own
    # initial weights and the identity tracker by 0.15 AUC or more (the aim of the training issues), and
    # SiamMask's masks beat the identity tracker's first box on synth-davis.
    table = first.stdout[first.stdout.index("| tracker |"):].splitlines()
    header = [cell.strip() for cell in table[0].split("|")]
    rows = {row.split("|")[1].strip(): [cell.strip() for cell in row.split("|")] for row in table[2:11]}
    auc = {tracker: float(row[header.index("synth-otb AUC")]) for tracker, row in rows.items()}
    variants = ("siamfc_alexnet", "siamrpn_alexnet_dw", "siamrpnpp_r18", "siammask_r50")
    assert set(rows) == {*variants, *(f"{v}-untrained" for v in variants), "identity"}
    for variant in variants:
        assert auc[variant] >= max(auc[f"{variant}-untrained"], auc["identity"]) + 0.15, auc
    jf = {tracker: row[header.index("synth-davis J&F")] for tracker, row in rows.items()}
    assert float(jf["siammask_r50"]) >= float(jf["identity"]) + 0.1 and jf["siammask_r50-untrained"] == "-", jf

    # The MLflow store at the clone's root: one run per stage, all of this one pipeline, with lineage tags.
    lock = yaml.safe_load((clone / "dvc.lock").read_text())["stages"]
    client = MlflowClient(f"sqlite:///{clone}/mlflow.db")
    runs = client.search_runs([client.get_experiment_by_name("siamflow").experiment_id], max_results=1000)
    assert sorted(r.data.tags["dvc_stage"] for r in runs) == sorted(lock)
    assert len({r.data.tags["pipeline_id"] for r in runs}) == 1 and all(r.info.status == "FINISHED" for r in runs)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=clone, capture_output=True, text=True).stdout.strip()
    assert {(r.data.tags["git_commit"], r.data.tags["git_dirty"]) for r in runs} == {(head, "false")}
    for run in runs:  # the report stage tags the runs before it with their dvc.lock entry's hash
        if run.data.tags["stage"] != "report":
            assert run.data.tags["dvc_lock_hash"] == params_hash(lock[run.data.tags["dvc_stage"]]), run.info.run_name
    assert list((clone / "mlruns").rglob("checkpoint.pt")) and "| siamfc_alexnet | 0." in (
        clone / "reports/results.md").read_text()

    second = make("repro", clone, venv)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "Running stage" not in second.stdout and "nothing to install" in second.stdout
    status = subprocess.run([str(venv / "bin/dvc"), "status"], cwd=clone, capture_output=True, text=True)
    assert "Data and pipelines are up to date" in status.stdout
    # The committed dvc.lock is what a fresh run produces: the same code, data and params hashes everywhere
    # (not those of runs/, results/ and the metrics scored from them: timings and commits), and the data
    # stages' outputs.
    changed = subprocess.run(["git", "status", "--porcelain"], cwd=clone, capture_output=True, text=True).stdout
    assert changed in ("", " M dvc.lock\n"), changed
    committed = yaml.safe_load((REPO / "dvc.lock").read_text())["stages"]
    produced = yaml.safe_load((clone / "dvc.lock").read_text())["stages"]
    assert committed.keys() == produced.keys()
    def fixed(deps):
        return [d for d in deps or [] if not d["path"].startswith(("runs", "results", "metrics"))]

    for stage, entry in produced.items():
        assert fixed(entry.get("deps")) == fixed(committed[stage].get("deps")), stage
        assert entry.get("params") == committed[stage].get("params"), stage
        if stage.startswith(("synth", "index@", "curate@")):
            assert entry["outs"] == committed[stage]["outs"], stage
