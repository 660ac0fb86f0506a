"""MLflow logging for the stages: off unless a tracking URI is configured.

The URI comes from `mlflow.tracking_uri` in params.yaml, or else from the MLFLOW_TRACKING_URI environment
variable; with neither, nothing is imported or logged.
"""
from __future__ import annotations

import os
from pathlib import Path

from pipeline.params import MlflowParams


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


def log_stage(params: MlflowParams, run_name: str, run_params: dict, metrics: dict,
              artifacts: list[Path]) -> str | None:
    """One MLflow run for a stage: its params, its numeric metrics (nested keys joined with '.'), and
    its artifacts. Returns the run id, or None when no tracking URI is configured."""
    uri = tracking_uri(params)
    if not uri:
        return None
    import mlflow
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment(params.experiment)
    numeric = {k.replace(":", "_"): float(v) for k, v in _flatten(metrics).items()
               if isinstance(v, (int, float)) and not isinstance(v, bool)}
    with mlflow.start_run(run_name=run_name) as run:
        mlflow.log_params(_flatten(run_params))
        mlflow.log_metrics(numeric)
        for path in artifacts:
            mlflow.log_artifact(str(path))
    return run.info.run_id
