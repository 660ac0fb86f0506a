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

A store that cannot be reached never stops a stage: the first failure is said once on stderr and the run
goes on in the outbox (`mlflow.outbox`, beside the store by default) until `sync` sends it.

python -m pipeline.experiment sweep --grid NAME --out FILE: start a grid's sweep run (Snakemake does this).
python -m pipeline.experiment sync: send the runs that wait in the outbox to their store.
"""
from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

from tqdm import tqdm

from pipeline.files import json_digest, write_atomic
from pipeline.params import MlflowParams

OFF = "off"
LOCAL = "local-"  # the id of a run that waits in the outbox (its store could not be reached)
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
    run starts. A store that cannot be reached never stops the stage: the first failure is said once and the
    rest of the run goes to the outbox (`mlflow.outbox`): one JSON line per call with its timestamps,
    artifacts linked beside it. `finish` tries to send it; else `python -m pipeline.experiment sync` does."""

    def __init__(self, params: MlflowParams, run_name: str, run_params: dict, tags: dict | None = None,
                 run_id: str | None = None):
        self.uri, self.run_id, self._client, self._journal = tracking_uri(params), None, None, None
        if not self.uri:
            return
        self._outbox = outbox_folder(params)
        start = {"op": "start", "uri": self.uri, "experiment": params.experiment, "run_name": run_name,
                 "tags": {"stage": run_name.split("-", 1)[0]} | lineage_tags(run_params)
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
            run_id = _synced_id(self._outbox, run_id)
            if (self._outbox / f"{run_id}.jsonl").exists():  # an earlier process left it offline: send that first
                self.run_id = run_id
                run_id = _sync_journal(self._outbox / f"{run_id}.jsonl", self._outbox)
        client = _client(self.uri)
        self.run_id = None
        if run_id and not run_id.startswith(LOCAL):
            try:
                client.update_run(run_id, status="RUNNING")
                self.run_id = run_id
            except _mlflow_error() as err:
                if err.error_code != "RESOURCE_DOES_NOT_EXIST":
                    raise
                # the store does not know it: a new run
        self.run_id = self.run_id or _apply_start(client, start, self._outbox)
        self._client = client

    def _go_offline(self, err: Exception, start: dict) -> None:
        self._client = None
        if self.run_id is None:
            self.run_id = f"{LOCAL}{uuid.uuid4().hex}"
        else:
            start = {"op": "start", "uri": self.uri, "run_id": self.run_id}
        self._journal = self._outbox / f"{self.run_id}.jsonl"
        if not self._journal.exists():
            _append(self._journal, start)
        _append(self._journal, {"op": "writer", **_writer()})
        reason = str(err).splitlines()[0][:200] if str(err) else type(err).__name__
        print(f"mlflow: cannot log to {self.uri} ({reason}); the stage goes on and its run is kept in "
              f"{self._journal}", file=sys.stderr)

    def _send(self, record: dict) -> None:
        if not self.offline:
            try:
                _apply(self._client, self.run_id, record)
                return
            except Exception as err:  # noqa: BLE001 - whatever the store raises, the stage goes on
                self._go_offline(err, {})
        if record["op"] == "artifact":  # the file as it is now: a later epoch may replace it
            record = record | {"path": str(_keep(Path(record["path"]), self._journal))}
        _append(self._journal, record)

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
            return {row[3] for record in _read_journal(self._journal) if record["op"] == "metrics"
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
                self.run_id = _sync_journal(self._journal, self._outbox)
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
              artifacts: list[Path], tags: dict | None = None) -> str | None:
    """One finished MLflow run for a stage: its params, its numeric metrics and its artifacts. Returns the
    run id (local-... while it waits in the outbox), or None when logging is off."""
    run = RunLog(params, run_name, run_params, tags)
    run.metrics(metrics)
    for path in artifacts:
        run.artifact(path)
    run.finish()
    return run.run_id


# The outbox: <mlflow.outbox>/<run id>.jsonl, a start line (the run to create, or the id of one that exists)
# then one line per call; `writer` lines name the process writing it. Replaying is idempotent: metrics keep
# their timestamps (the store drops exact repeats), params and tags repeat their values, artifacts overwrite.

def outbox_folder(params: MlflowParams) -> Path:
    return project_root() / params.outbox


def _mlflow_error():
    from mlflow.exceptions import MlflowException
    return MlflowException


def _writer() -> dict:
    import psutil
    return {"host": socket.gethostname(), "pid": os.getpid(), "started": psutil.Process().create_time()}


def _append(journal: Path, record: dict) -> None:
    journal.parent.mkdir(parents=True, exist_ok=True)
    with open(journal, "a") as f:
        f.write(json.dumps(record) + "\n")
        f.flush()
        os.fsync(f.fileno())


def _read_journal(journal: Path) -> list[dict]:
    """The journal's records; a last line cut short by a kill is left out."""
    records = []
    for line in journal.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            break
    return records


def _keep(path: Path, journal: Path) -> Path:
    """A hard link (or copy) of a file or folder beside the journal, as the artifact is now."""
    folder = journal.with_suffix(".files")
    kept = folder / str(len(list(folder.glob("*"))) if folder.exists() else 0) / path.name
    kept.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir():
        shutil.copytree(path, kept, copy_function=_link_or_copy)
    else:
        _link_or_copy(path, kept)
    return kept


def _link_or_copy(source, target) -> None:
    try:
        os.link(source, target)
    except OSError:  # another file system
        shutil.copy2(source, target)


def _synced_id(outbox: Path, run_id: str) -> str:
    """The store's id of a run that waited in the outbox as `run_id` (the id itself if none)."""
    sent = outbox / "synced" / f"{run_id}.json"
    return json.loads(sent.read_text())["run_id"] if sent.exists() else run_id


def _apply_start(client, start: dict, outbox: Path) -> str:
    from mlflow.entities import Param
    tags = dict(start["tags"])
    if "mlflow.parentRunId" in tags:  # a sweep run that waited in the outbox too
        tags["mlflow.parentRunId"] = _synced_id(outbox, tags["mlflow.parentRunId"])
    run_id = client.create_run(_experiment_id(client, start["experiment"], start["uri"]),
                               run_name=start["run_name"], tags=tags).info.run_id
    flat = [Param(k, v) for k, v in start["params"].items()]
    for i in range(0, len(flat), 100):
        client.log_batch(run_id, params=flat[i:i + 100])
    return run_id


def _apply(client, run_id: str, record: dict) -> None:
    if record["op"] == "metrics":
        from mlflow.entities import Metric
        client.log_batch(run_id, metrics=[Metric(k, v, ts, step) for k, v, ts, step in record["rows"]])
    elif record["op"] == "artifact":
        log = client.log_artifacts if Path(record["path"]).is_dir() else client.log_artifact
        log(run_id, record["path"], record["folder"])
    elif record["op"] == "finish":
        client.set_terminated(run_id, record["status"])


def _sync_journal(journal: Path, outbox: Path) -> str:
    """Sends one journal to its store and removes it; returns the store's run id. A failure leaves the
    journal for the next try (what was sent is sent again without duplicates)."""
    with open(journal, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OSError("another sync is sending it") from None
        return _send_journal(journal, outbox)


def _send_journal(journal: Path, outbox: Path) -> str:
    records = _read_journal(journal)
    start = records[0]
    client = _client(start["uri"])
    created = journal.with_suffix(".run")  # a run created by an earlier, interrupted sync
    run_id = start.get("run_id") or (created.read_text().strip() if created.exists() else None)
    if run_id is None:
        run_id = _apply_start(client, start, outbox)
        write_atomic(created, run_id.encode())
    for record in records[1:]:
        _apply(client, run_id, record)
    write_atomic(outbox / "synced" / f"{journal.stem}.json",
                 (json.dumps({"run_id": run_id, "records": len(records)}) + "\n").encode())
    journal.unlink()
    created.unlink(missing_ok=True)
    shutil.rmtree(journal.with_suffix(".files"), ignore_errors=True)
    return run_id


def _writer_alive(records: list[dict]) -> int | None:
    """The pid of the live process still writing a journal, if any (on this host)."""
    import psutil
    writers = [r for r in records if r["op"] == "writer"]
    if not writers or writers[-1]["host"] != socket.gethostname():
        return None
    try:
        return writers[-1]["pid"] if psutil.Process(writers[-1]["pid"]).create_time() == writers[-1]["started"] else None
    except psutil.Error:
        return None


def sync(params: MlflowParams) -> tuple[int, int]:
    """Sends every journal of the outbox whose writer has ended, runs without a parent first (a sweep run
    before its cells). Returns (sent, left)."""
    outbox = outbox_folder(params)
    starts = {p: (_read_journal(p)[:1] or [{}])[0] for p in outbox.glob("*.jsonl")}
    journals = sorted(starts, key=lambda p: ("mlflow.parentRunId" in starts[p].get("tags", {}), p.stat().st_mtime))
    sent = 0
    for journal in tqdm(journals, desc="mlflow sync", unit="run", disable=len(journals) < 2):
        records = _read_journal(journal)
        if not records:  # killed while writing its first line: it holds nothing
            print(f"experiment: {journal}: empty, removed")
            journal.unlink()
            sent += 1
            continue
        pid = _writer_alive(records)
        if pid is not None:
            print(f"experiment: {journal}: still being written by process {pid}; left for later")
            continue
        try:
            run_id = _sync_journal(journal, outbox)
        except Exception as err:  # noqa: BLE001 - the store's own exception types
            reason = str(err).splitlines()[0][:200] if str(err) else type(err).__name__
            print(f"experiment: {journal}: cannot send to {records[0]['uri']} ({reason}); left for later")
            continue
        print(f"experiment: {journal.name}: {len(records) - 1} records sent to run {run_id}")
        sent += 1
    return sent, len(journals) - sent


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
    parser.add_argument("command", choices=["sweep", "sync"],
                        help="sweep: start a grid's sweep run and write its id for the cells' --parent; "
                             "sync: send the runs of the outbox to their store")
    parser.add_argument("--grid", help="sweep: a grid of the ablation section (fraction, layers)")
    parser.add_argument("--cells", default="", help="sweep: the grid's cell names, comma-separated")
    parser.add_argument("--out", help="sweep: the sweep file to write")
    args = parser.parse_args()
    params = cli.params_from_args(args)
    if args.command == "sync":
        sent, left = sync(params.mlflow)
        print(f"experiment: sync: {sent} run(s) sent, {left} left in {outbox_folder(params.mlflow)}")
        sys.exit(1 if left else 0)
    if not args.grid or not args.out:
        parser.error("sweep needs --grid and --out")
    start_sweep(params.mlflow, args.grid, [c for c in args.cells.split(",") if c], Path(args.out))


if __name__ == "__main__":
    from pipeline import cli
    cli.run(main, "experiment")
