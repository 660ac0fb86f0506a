"""Where the runs go and what they are tagged with.

The store: `mlflow.tracking_uri` in params.yaml, else MLFLOW_TRACKING_URI, else SQLite at the project root
(mlflow.db, artifacts in mlruns/ beside it). The project root is DVC_ROOT when DVC runs the stage (a queued
`dvc exp run` works in a temporary copy, and DVC points DVC_ROOT at the original repository), else the
working directory. `off` (in either place) logs nothing and does not import mlflow.

Every run is tagged with its lineage: the git commit and a dirty flag, a hash of the run's params, the DVC
stage, experiment name and baseline revision, and a pipeline id shared by the runs of one `dvc repro` or
`snakemake` invocation. A stage command's `--tag KEY=VALUE` adds tags and `--parent FILE` (written by
`sweep`) makes its run a child of a sweep run (both come in its RunContext).
"""
from __future__ import annotations

import functools
import hashlib
import os
import socket
import subprocess
from pathlib import Path

from pipeline.common.files import json_digest
from pipeline.config.schema import MlflowParams
from pipeline.tracking.context import RunContext

OFF = "off"
PIPELINE_ID = "SIAMFLOW_PIPELINE_ID"  # set by the Snakefile; under dvc, found from the dvc process


def project_root() -> Path:
    return Path(os.environ.get("DVC_ROOT", ".")).resolve()


def tracking_uri(params: MlflowParams) -> str:
    uri = params.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI", "")
    if uri == OFF:
        return ""
    return uri or f"sqlite:///{project_root() / 'mlflow.db'}"


def artifact_location(uri: str) -> str | None:
    """Artifacts of a SQLite store go beside the database (MLflow would put them under the working
    directory); a server decides its own."""
    if uri.startswith("sqlite:///"):
        return (Path(uri.removeprefix("sqlite:///")).parent / "mlruns").as_uri()
    return None


def git_state() -> tuple[str, bool]:
    """(commit, dirty): HEAD of the project and whether tracked files differ from it (dvc.lock aside: DVC
    rewrites it as stages finish)."""
    return _git_state(project_root())


@functools.cache
def _git_state(root: Path) -> tuple[str, bool]:
    def git(*args):
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30)
        return done.stdout.strip() if done.returncode == 0 else None
    try:
        commit = git("rev-parse", "HEAD")
        changes = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)dvc.lock")
    except (OSError, subprocess.TimeoutExpired):
        return "", False
    return commit or "", bool(changes)


def pipeline_id() -> str:
    """The id shared by the runs of one invocation: SIAMFLOW_PIPELINE_ID, or else the nearest dvc or
    snakemake process above this one (its host, pid and start time); '' when run by hand."""
    if os.environ.get(PIPELINE_ID):
        return os.environ[PIPELINE_ID]
    import psutil
    try:
        for process in psutil.Process().parents():
            if any(Path(arg).name in ("dvc", "snakemake") for arg in process.cmdline()[:2]):
                return hashlib.sha256(f"{socket.gethostname()} {process.pid} {process.create_time()}".encode()
                                      ).hexdigest()[:16]
    except psutil.Error:
        pass
    return ""


def params_hash(values: dict) -> str:
    return json_digest(values)[:16]


def lineage_tags(run_params: dict, context: RunContext) -> dict:
    commit, dirty = git_state()
    tags = {"git_commit": commit, "git_dirty": str(dirty).lower(), "params_hash": params_hash(run_params),
            "pipeline_id": pipeline_id(), "dvc_stage": os.environ.get("DVC_STAGE", ""),
            "dvc_exp_name": os.environ.get("DVC_EXP_NAME", ""),
            "dvc_exp_baseline_rev": os.environ.get("DVC_EXP_BASELINE_REV", "")}
    return {k: v for k, v in tags.items() if v} | context.tags
