"""MLflow logging for the stages: off unless a tracking URI is configured.

The URI comes from `mlflow.tracking_uri` in params.yaml, or else from the MLFLOW_TRACKING_URI environment
variable; with neither, nothing is imported or logged. A tracking store that cannot be reached never stops
a stage: the first failure is said once on stderr, logging stops, and the stage's own files keep everything.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from pipeline.params import MlflowParams

# An unreachable server fails in seconds rather than after MLflow's default 7 retries with a 120 s timeout;
# the environment variables still override these.
_HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
                  "MLFLOW_HTTP_REQUEST_TIMEOUT": "20"}
_BATCH = 1000  # MLflow's limit of metrics per log_batch call (params: 100)


def tracking_uri(params: MlflowParams) -> str:
    return params.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI", "")


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


class RunLog:
    """One MLflow run that a stage logs into as it goes (a no-op without a tracking URI).

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
        for name, value in _HTTP_DEFAULTS.items():
            os.environ.setdefault(name, value)
        from mlflow.entities import Param
        from mlflow.exceptions import MlflowException
        from mlflow.tracking import MlflowClient
        client = MlflowClient(self.uri)
        if run_id:
            try:
                client.update_run(run_id, status="RUNNING")
                self.run_id = run_id
            except MlflowException:
                run_id = None
        if not run_id:
            found = client.get_experiment_by_name(experiment)
            experiment_id = found.experiment_id if found else client.create_experiment(experiment)
            self.run_id = client.create_run(experiment_id, run_name=run_name,
                                            tags={k: str(v) for k, v in tags.items()}).info.run_id
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
        if self.active:
            self._guard(lambda: self._client.log_artifact(self.run_id, str(path), folder))

    def finish(self, status: str = "FINISHED") -> None:
        if self.active:
            self._guard(lambda: self._client.set_terminated(self.run_id, status))

    def __enter__(self) -> "RunLog":
        return self

    def __exit__(self, kind, error, traceback) -> None:
        """The run ends FINISHED, or KILLED on Ctrl-C, or FAILED on any other error."""
        self.finish("FINISHED" if kind is None else "KILLED" if issubclass(kind, KeyboardInterrupt) else "FAILED")


def log_stage(params: MlflowParams, run_name: str, run_params: dict, metrics: dict,
              artifacts: list[Path]) -> str | None:
    """One finished MLflow run for a stage: its params, its numeric metrics and its artifacts. Returns the
    run id, or None when nothing was logged."""
    run = RunLog(params, run_name, run_params)
    run.metrics(metrics)
    for path in artifacts:
        run.artifact(path)
    run.finish()
    return run.run_id if run.active else None
