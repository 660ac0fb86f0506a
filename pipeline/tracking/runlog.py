"""The run a stage command logs: RunLog as it goes, log_stage once it is done, start_sweep for a grid.

A store that cannot be reached never stops a stage: the first failure is said once on stderr and the run
goes on in the outbox (`mlflow.outbox`, beside the store by default) until `sync` sends it.
"""
from __future__ import annotations

import json
import sys
import time
import uuid
from pathlib import Path

from pipeline.common.files import write_atomic
from pipeline.config.schema import MlflowParams
from pipeline.tracking.context import RunContext
from pipeline.tracking.lineage import lineage_tags, tracking_uri
from pipeline.tracking.outbox import (append, apply, apply_start, failure, keep, outbox_folder, read_journal,
                                      sync_journal, synced_id, writer)
from pipeline.tracking.store import connect, mlflow_error

LOCAL = "local-"  # the id of a run that waits in the outbox (its store could not be reached)
_BATCH = 1000  # MLflow's limit of metrics per log_batch call (params: 100)


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
    """One MLflow run that a stage logs into as it goes (a no-op when logging is off). Run names are
    <stage>-<subject> (train-siamfc_alexnet); the stage becomes the `stage` tag.

    `run_id` names an earlier run to continue (a resumed training); if the store does not know it, a new
    run starts. A store that cannot be reached never stops the stage: the first failure is said once and the
    rest of the run goes to the outbox (`mlflow.outbox`): one JSON line per call with its timestamps,
    artifacts linked beside it. `finish` tries to send it; else `python -m pipeline.experiment sync` does."""

    def __init__(self, params: MlflowParams, run_name: str, run_params: dict, tags: dict | None = None,
                 run_id: str | None = None, context: RunContext | None = None):
        self.uri, self.run_id, self._client, self._journal = tracking_uri(params), None, None, None
        if not self.uri:
            return
        self._outbox = outbox_folder(params)
        start = {"op": "start", "uri": self.uri, "experiment": params.experiment, "run_name": run_name,
                 "tags": {"stage": run_name.split("-", 1)[0]} | lineage_tags(run_params, context or RunContext())
                 | {k: str(v) for k, v in (tags or {}).items()},
                 "params": {k: str(v) for k, v in _flatten(run_params).items()}}
        try:
            self._open(start, run_id)
        except Exception as err:  # noqa: BLE001 - whatever the store raises, the stage goes on
            self._go_offline(err, start)

    @property
    def active(self) -> bool:
        return bool(self.uri)

    @property
    def offline(self) -> bool:
        return self._journal is not None

    def _open(self, start: dict, run_id: str | None) -> None:
        if run_id:
            run_id = synced_id(self._outbox, run_id)
            if (self._outbox / f"{run_id}.jsonl").exists():  # an earlier process left it offline: send that first
                self.run_id = run_id
                run_id = sync_journal(self._outbox / f"{run_id}.jsonl", self._outbox)
        client = connect(self.uri)
        self.run_id = None
        if run_id and not run_id.startswith(LOCAL):
            try:
                client.update_run(run_id, status="RUNNING")
                self.run_id = run_id
            except mlflow_error() as err:
                if err.error_code != "RESOURCE_DOES_NOT_EXIST":
                    raise
                # the store does not know it: a new run
        self.run_id = self.run_id or apply_start(client, start, self._outbox)
        self._client = client

    def _go_offline(self, err: Exception, start: dict) -> None:
        self._client = None
        if self.run_id is None:
            self.run_id = f"{LOCAL}{uuid.uuid4().hex}"
        else:
            start = {"op": "start", "uri": self.uri, "run_id": self.run_id}
        self._journal = self._outbox / f"{self.run_id}.jsonl"
        if not self._journal.exists():
            append(self._journal, start)
        append(self._journal, {"op": "writer", **writer()})
        print(f"mlflow: cannot log to {self.uri} ({failure(err)}); the stage goes on and its run is kept in "
              f"{self._journal}", file=sys.stderr)

    def _send(self, record: dict) -> None:
        if not self.offline:
            try:
                apply(self._client, self.run_id, record)
                return
            except Exception as err:  # noqa: BLE001 - whatever the store raises, the stage goes on
                self._go_offline(err, {})
        if record["op"] == "artifact":  # the file as it is now: a later epoch may replace it
            record = record | {"path": str(keep(Path(record["path"]), self._journal))}
        append(self._journal, record)

    def metrics(self, values: dict, step: int = 0) -> None:
        """Numeric values (nested keys joined with '.') at `step`."""
        self.history([(step, values)])

    def history(self, rows: list[tuple]) -> None:
        """Several steps' metrics in as few calls as MLflow allows: rows of (step, values) or (step, values,
        time in ms); a row sent again with its time is stored once."""
        if not self.active:
            return
        now = int(time.time() * 1000)
        metrics = [[k, v, row[2] if len(row) > 2 else now, row[0]] for row in rows
                   for k, v in _numeric(row[1]).items()]
        for i in range(0, len(metrics), _BATCH):
            self._send({"op": "metrics", "rows": metrics[i:i + _BATCH]})

    def logged_steps(self, key: str) -> set[int]:
        """The steps at which `key` is logged, in the store or in the outbox."""
        if not self.active:
            return set()
        if self.offline:
            return {row[3] for record in read_journal(self._journal) if record["op"] == "metrics"
                    for row in record["rows"] if row[0] == key}
        try:
            return {m.step for m in self._client.get_metric_history(self.run_id, key)}
        except Exception as err:  # noqa: BLE001
            self._go_offline(err, {})
            return self.logged_steps(key)

    def artifact(self, path: Path, folder: str | None = None) -> None:
        """A file, or a folder's files, under `folder` of the run's artifacts."""
        if self.active:
            self._send({"op": "artifact", "path": str(Path(path).resolve()), "folder": folder})

    def finish(self, status: str = "FINISHED") -> None:
        if not self.active:
            return
        self._send({"op": "finish", "status": status})
        if self.offline:
            try:
                self.run_id = sync_journal(self._journal, self._outbox)
                self._journal = None
                print(f"mlflow: {self.uri} answers again; the run was sent from the outbox", file=sys.stderr)
            except Exception:  # noqa: BLE001 - still unreachable: the outbox keeps it
                print(f"mlflow: run {self.run_id} waits in {self._journal}; `python -m pipeline.experiment "
                      "sync` sends it once the store answers", file=sys.stderr)

    def __enter__(self) -> "RunLog":
        return self

    def __exit__(self, kind, error, traceback) -> None:
        """The run ends FINISHED, or KILLED on Ctrl-C, or FAILED on any other error."""
        self.finish("FINISHED" if kind is None else "KILLED" if issubclass(kind, KeyboardInterrupt) else "FAILED")


def log_stage(params: MlflowParams, run_name: str, run_params: dict, metrics: dict,
              artifacts: list[Path], tags: dict | None = None, context: RunContext | None = None) -> str | None:
    """One finished MLflow run for a stage: its params, its numeric metrics and its artifacts. Returns the
    run id (local-... while it waits in the outbox), or None when logging is off."""
    run = RunLog(params, run_name, run_params, tags, context=context)
    run.metrics(metrics)
    for path in artifacts:
        run.artifact(path)
    run.finish()
    return run.run_id


def start_sweep(params: MlflowParams, grid: str, cells: list[str], out: Path,
                context: RunContext | None = None) -> None:
    """A grid's parent run, its id written to `out` for the cells' --parent. It stays RUNNING until the
    grid's report ends it."""
    run = RunLog(params, f"sweep-{grid}", {"grid": grid, "cells": ",".join(cells)}, {"sweep_parent": grid}, context=context)
    write_atomic(out, (json.dumps({"grid": grid, "run_id": run.run_id}) + "\n").encode())
    print(f"experiment: sweep {grid} ({len(cells)} cells): MLflow run {run.run_id or '(logging off)'} -> {out}")
