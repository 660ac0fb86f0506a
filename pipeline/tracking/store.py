"""The MLflow store itself: a client for it, the experiment runs go into, search of its runs, and the
dvc.lock entry hashes that the report stage adds to them once DVC has written them (`tag_lock_entries`).
mlflow is imported only here, in the outbox and in the run log, inside the functions, so that `off` never imports it."""
from __future__ import annotations

import os
from pathlib import Path

from pipeline.config.schema import MlflowParams
from pipeline.tracking.lineage import artifact_location, params_hash, tracking_uri

# An unreachable server fails in seconds rather than after MLflow's default 7 retries with a 120 s timeout;
# the environment variables still override these.
_HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
                  "MLFLOW_HTTP_REQUEST_TIMEOUT": "20"}


def connect(uri: str):
    """An MlflowClient of the store at `uri`, failing fast when it cannot be reached."""
    for name, value in _HTTP_DEFAULTS.items():
        os.environ.setdefault(name, value)
    from mlflow.tracking import MlflowClient
    return MlflowClient(uri)


def mlflow_error():
    from mlflow.exceptions import MlflowException
    return MlflowException


def experiment_id(client, name: str, uri: str) -> str:
    found = client.get_experiment_by_name(name)
    if found:
        return found.experiment_id
    try:
        return client.create_experiment(name, artifact_location=artifact_location(uri))
    except mlflow_error():  # a parallel stage created it first
        return client.get_experiment_by_name(name).experiment_id


def search(params: MlflowParams, tags: dict[str, str]) -> list[dict]:
    """The finished runs whose tags include `tags`, newest first, as plain dicts (run_id, start_time,
    tags, params, metrics). Raises OSError when the store cannot be read."""
    uri = tracking_uri(params)
    if not uri:
        raise OSError("MLflow logging is off (mlflow.tracking_uri / MLFLOW_TRACKING_URI is 'off')")
    try:
        client = connect(uri)
        found = client.get_experiment_by_name(params.experiment)
        if found is None:
            return []
        where = " and ".join(["attributes.status = 'FINISHED'",
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
    client, tagged = connect(tracking_uri(params)), 0
    for run in runs:
        entry = stages.get(run["tags"].get("dvc_stage", ""))
        if entry is not None and "dvc_lock_hash" not in run["tags"]:
            client.set_tag(run["run_id"], "dvc_lock_hash", params_hash(entry))
            tagged += 1
    return tagged
