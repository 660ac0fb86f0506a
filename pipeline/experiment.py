"""MLflow for the stages (the only module that imports mlflow): each stage command logs one run.

The store: `mlflow.tracking_uri` in params.yaml, else MLFLOW_TRACKING_URI, else SQLite at the project root
(mlflow.db, artifacts in mlruns/ beside it). The project root is DVC_ROOT when DVC runs the stage (a queued
`dvc exp run` works in a temporary copy, and DVC points DVC_ROOT at the original repository), else the
working directory. `off` (in either place) logs nothing and does not import mlflow.

Every run is tagged with its lineage: the git commit and a dirty flag, a hash of the run's params, the DVC
stage, experiment name and baseline revision, and a pipeline id shared by the runs of one `dvc repro` or
`snakemake` invocation. A stage command's `--tag KEY=VALUE` adds tags and `--parent FILE` (written by
`sweep`) makes its run a child of a sweep run. The report stage adds each run's dvc.lock entry hash once
DVC has written it (`tag_lock_entries`).

A store that cannot be reached never stops a stage: the first failure is said once on stderr, logging stops,
and the stage's own files keep everything.

python -m pipeline.experiment sweep --grid NAME --out FILE: start a grid's sweep run (Snakemake does this).
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from pipeline.files import json_digest, write_atomic
from pipeline.params import MlflowParams

OFF = "off"
PIPELINE_ID = "SIAMFLOW_PIPELINE_ID"  # set by the Snakefile; under dvc, found from the dvc process
# An unreachable server fails in seconds rather than after MLflow's default 7 retries with a 120 s timeout;
# the environment variables still override these.
_HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
                  "MLFLOW_HTTP_REQUEST_TIMEOUT": "20"}
_BATCH = 1000  # MLflow's limit of metrics per log_batch call (params: 100)
# Tags from the stage command line (--tag, --parent), for every run this process logs.
command_tags: dict[str, str] = {}


def project_root() -> Path:
    return Path(os.environ.get("DVC_ROOT", ".")).resolve()


def tracking_uri(params: MlflowParams) -> str:
    uri = params.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI", "")
    if uri == OFF:
        return ""
    return uri or f"sqlite:///{project_root() / 'mlflow.db'}"


def _artifact_location(uri: str) -> str | None:
    """Artifacts of a SQLite store go beside the database (MLflow would put them under the working
    directory); a server decides its own."""
    if uri.startswith("sqlite:///"):
        return (Path(uri.removeprefix("sqlite:///")).parent / "mlruns").as_uri()
    return None


def add_command_tags(tags: list[str], parent: str | None) -> None:
    """The stage command's --tag KEY=VALUE options and --parent sweep file."""
    for tag in tags:
        key, sep, value = tag.partition("=")
        if not sep or not key:
            raise ValueError(f"--tag {tag!r}: expected KEY=VALUE")
        command_tags[key] = value
    if parent:
        try:
            sweep = json.loads(Path(parent).read_text())
        except (OSError, ValueError) as err:
            raise ValueError(f"{parent}: not a sweep file ({type(err).__name__})") from None
        if sweep.get("run_id"):
            command_tags["mlflow.parentRunId"] = sweep["run_id"]


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


def lineage_tags(run_params: dict) -> dict:
    commit, dirty = git_state()
    tags = {"git_commit": commit, "git_dirty": str(dirty).lower(), "params_hash": params_hash(run_params),
            "pipeline_id": pipeline_id(), "dvc_stage": os.environ.get("DVC_STAGE", ""),
            "dvc_exp_name": os.environ.get("DVC_EXP_NAME", ""),
            "dvc_exp_baseline_rev": os.environ.get("DVC_EXP_BASELINE_REV", "")}
    return {k: v for k, v in tags.items() if v} | command_tags


def _flatten(values: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat |= _flatten(value, f"{name}.")
        else:
            flat[name] = value
    return flat


def _numeric(metrics: dict) -> dict:
    return {k.replace(":", "_"): float(v) for k, v in _flatten(metrics).items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)}


def _client(uri: str):
    for name, value in _HTTP_DEFAULTS.items():
        os.environ.setdefault(name, value)
    from mlflow.tracking import MlflowClient
    return MlflowClient(uri)


def _experiment_id(client, name: str, uri: str) -> str:
    from mlflow.exceptions import MlflowException
    found = client.get_experiment_by_name(name)
    if found:
        return found.experiment_id
    try:
        return client.create_experiment(name, artifact_location=_artifact_location(uri))
    except MlflowException:  # a parallel stage created it first
        return client.get_experiment_by_name(name).experiment_id


class RunLog:
    """One MLflow run that a stage logs into as it goes (a no-op when logging is off). Run names are
    <stage>-<subject> (train-siamfc_alexnet); the stage becomes the `stage` tag.

    `run_id` names an earlier run to continue (a resumed training); if the store does not know it, a new
    run starts. Any failure to reach the store is reported once and ends the logging for this run."""

    def __init__(self, params: MlflowParams, run_name: str, run_params: dict, tags: dict | None = None,
                 run_id: str | None = None):
        self.uri, self.run_id, self._client = tracking_uri(params), None, None
        if self.uri:
            self._guard(self._start, params.experiment, run_name, run_params, tags or {}, run_id)

    @property
    def active(self) -> bool:
        return self._client is not None

    def _start(self, experiment: str, run_name: str, run_params: dict, tags: dict, run_id: str | None) -> None:
        from mlflow.entities import Param
        from mlflow.exceptions import MlflowException
        client = _client(self.uri)
        if run_id:
            try:
                client.update_run(run_id, status="RUNNING")
                self.run_id = run_id
            except MlflowException:
                run_id = None
        if not run_id:
            all_tags = ({"stage": run_name.split("-", 1)[0]} | lineage_tags(run_params)
                        | {k: str(v) for k, v in tags.items()})
            self.run_id = client.create_run(_experiment_id(client, experiment, self.uri), run_name=run_name,
                                            tags=all_tags).info.run_id
            flat = [Param(k, str(v)) for k, v in _flatten(run_params).items()]
            for i in range(0, len(flat), 100):
                client.log_batch(self.run_id, params=flat[i:i + 100])
        self._client = client

    def _guard(self, action, *args) -> None:
        try:
            action(*args)
        except Exception as err:  # noqa: BLE001 - whatever the store raises, the stage goes on
            self._client = None
            reason = str(err).splitlines()[0][:200] if str(err) else type(err).__name__
            print(f"mlflow: cannot log to {self.uri} ({reason}); logging stops for this run, the stage goes on "
                  "and its local files keep its results", file=sys.stderr)

    def metrics(self, values: dict, step: int = 0) -> None:
        """Numeric values (nested keys joined with '.') at `step`."""
        self.history([(step, values)])

    def history(self, rows: list[tuple[int, dict]]) -> None:
        """Several steps' metrics in as few calls as MLflow allows."""
        if not self.active:
            return
        from mlflow.entities import Metric
        now = int(time.time() * 1000)
        metrics = [Metric(k, v, now, step) for step, values in rows for k, v in _numeric(values).items()]
        for i in range(0, len(metrics), _BATCH):
            if self.active:
                self._guard(lambda part: self._client.log_batch(self.run_id, metrics=part), metrics[i:i + _BATCH])

    def artifact(self, path: Path, folder: str | None = None) -> None:
        """A file, or a folder's files, under `folder` of the run's artifacts."""
        if self.active:
            log = self._client.log_artifacts if Path(path).is_dir() else self._client.log_artifact
            self._guard(lambda: log(self.run_id, str(path), folder))

    def finish(self, status: str = "FINISHED") -> None:
        if self.active:
            self._guard(lambda: self._client.set_terminated(self.run_id, status))

    def __enter__(self) -> "RunLog":
        return self

    def __exit__(self, kind, error, traceback) -> None:
        """The run ends FINISHED, or KILLED on Ctrl-C, or FAILED on any other error."""
        self.finish("FINISHED" if kind is None else "KILLED" if issubclass(kind, KeyboardInterrupt) else "FAILED")


def log_stage(params: MlflowParams, run_name: str, run_params: dict, metrics: dict,
              artifacts: list[Path], tags: dict | None = None) -> str | None:
    """One finished MLflow run for a stage: its params, its numeric metrics and its artifacts. Returns the
    run id, or None when nothing was logged."""
    run = RunLog(params, run_name, run_params, tags)
    run.metrics(metrics)
    for path in artifacts:
        run.artifact(path)
    run.finish()
    return run.run_id if run.active else None


def search(params: MlflowParams, tags: dict[str, str]) -> list[dict]:
    """The finished runs whose tags include `tags`, newest first, as plain dicts (run_id, start_time,
    tags, params, metrics). Raises OSError when the store cannot be read."""
    uri = tracking_uri(params)
    if not uri:
        raise OSError("MLflow logging is off (mlflow.tracking_uri / MLFLOW_TRACKING_URI is 'off')")
    try:
        client = _client(uri)
        found = client.get_experiment_by_name(params.experiment)
        if found is None:
            return []
        where = " and ".join([f"attributes.status = 'FINISHED'",
                              *(f"tags.`{k}` = '{v}'" for k, v in tags.items())])
        runs = client.search_runs([found.experiment_id], where, max_results=50000, order_by=["start_time DESC"])
    except Exception as err:  # noqa: BLE001 - the store's own exception types
        raise OSError(f"cannot read MLflow store {uri} ({str(err).splitlines()[0][:200]})") from None
    return [{"run_id": r.info.run_id, "start_time": r.info.start_time, "tags": dict(r.data.tags),
             "params": dict(r.data.params), "metrics": dict(r.data.metrics)} for r in runs]


def tag_lock_entries(params: MlflowParams, lock_path: Path, runs: list[dict]) -> int:
    """Tags each run that a DVC stage logged with the sha256 of that stage's dvc.lock entry (DVC writes the
    entry after the stage's command ends, so the stages after it do this). Returns how many were tagged."""
    import yaml
    if not lock_path.exists():
        return 0
    stages = (yaml.safe_load(lock_path.read_text()) or {}).get("stages", {})
    client, tagged = _client(tracking_uri(params)), 0
    for run in runs:
        entry = stages.get(run["tags"].get("dvc_stage", ""))
        if entry is not None and "dvc_lock_hash" not in run["tags"]:
            client.set_tag(run["run_id"], "dvc_lock_hash", params_hash(entry))
            tagged += 1
    return tagged


def start_sweep(params: MlflowParams, grid: str, cells: list[str], out: Path) -> None:
    """A grid's parent run, its id written to `out` for the cells' --parent. It stays RUNNING until the
    grid's report ends it."""
    run = RunLog(params, f"sweep-{grid}", {"grid": grid, "cells": ",".join(cells)}, {"sweep_parent": grid})
    write_atomic(out, (json.dumps({"grid": grid, "run_id": run.run_id}) + "\n").encode())
    print(f"experiment: sweep {grid} ({len(cells)} cells): MLflow run {run.run_id or '(logging off)'} -> {out}")


def main() -> None:
    from pipeline import cli
    parser = cli.stage_parser("pipeline.experiment", __doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["sweep"],
                        help="sweep: start a grid's sweep run and write its id for the cells' --parent")
    parser.add_argument("--grid", required=True, help="a grid of the ablation section (fraction, layers)")
    parser.add_argument("--cells", default="", help="the grid's cell names, comma-separated (a param of the run)")
    parser.add_argument("--out", required=True, help="the sweep file to write")
    args = parser.parse_args()
    params = cli.params_from_args(args)
    start_sweep(params.mlflow, args.grid, [c for c in args.cells.split(",") if c], Path(args.out))


if __name__ == "__main__":
    from pipeline import cli
    cli.run(main, "experiment")
