"""The outbox: the runs whose store could not be reached wait here until `sync` sends them.

<mlflow.outbox>/<run id>.jsonl, a start line (the run to create, or the id of one that exists) then one
line per call; `writer` lines name the process writing it. Replaying is idempotent: metrics keep their
timestamps (the store drops exact repeats), params and tags repeat their values, artifacts overwrite.
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
from pathlib import Path

from tqdm import tqdm

from pipeline.common.files import write_atomic
from pipeline.config.schema import MlflowParams
from pipeline.tracking.lineage import project_root
from pipeline.tracking.store import connect, experiment_id


def outbox_folder(params: MlflowParams) -> Path:
    return project_root() / params.outbox


def writer() -> dict:
    """The `writer` record of this process."""
    import psutil
    return {"host": socket.gethostname(), "pid": os.getpid(), "started": psutil.Process().create_time()}


def append(journal: Path, record: dict) -> None:
    journal.parent.mkdir(parents=True, exist_ok=True)
    with open(journal, "a") as f:
        f.write(json.dumps(record) + "\n")
        f.flush()
        os.fsync(f.fileno())


def read_journal(journal: Path) -> list[dict]:
    """The journal's records; a last line cut short by a kill is left out."""
    records = []
    for line in journal.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            break
    return records


def keep(path: Path, journal: Path) -> Path:
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


def synced_id(outbox: Path, run_id: str) -> str:
    """The store's id of a run that waited in the outbox as `run_id` (the id itself if none)."""
    sent = outbox / "synced" / f"{run_id}.json"
    return json.loads(sent.read_text())["run_id"] if sent.exists() else run_id


def apply_start(client, start: dict, outbox: Path) -> str:
    """Creates the run of a start record, with its tags and params; returns its id."""
    from mlflow.entities import Param
    tags = dict(start["tags"])
    if "mlflow.parentRunId" in tags:  # a sweep run that waited in the outbox too
        tags["mlflow.parentRunId"] = synced_id(outbox, tags["mlflow.parentRunId"])
    run_id = client.create_run(experiment_id(client, start["experiment"], start["uri"]),
                               run_name=start["run_name"], tags=tags).info.run_id
    flat = [Param(k, v) for k, v in start["params"].items()]
    for i in range(0, len(flat), 100):
        client.log_batch(run_id, params=flat[i:i + 100])
    return run_id


def apply(client, run_id: str, record: dict) -> None:
    """Sends one record (metrics, artifact or finish) to the run."""
    if record["op"] == "metrics":
        from mlflow.entities import Metric
        client.log_batch(run_id, metrics=[Metric(k, v, ts, step) for k, v, ts, step in record["rows"]])
    elif record["op"] == "artifact":
        log = client.log_artifacts if Path(record["path"]).is_dir() else client.log_artifact
        log(run_id, record["path"], record["folder"])
    elif record["op"] == "finish":
        client.set_terminated(run_id, record["status"])


def sync_journal(journal: Path, outbox: Path) -> str:
    """Sends one journal to its store and removes it; returns the store's run id. A failure leaves the
    journal for the next try (what was sent is sent again without duplicates)."""
    with open(journal, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OSError("another sync is sending it") from None
        return _send_journal(journal, outbox)


def _send_journal(journal: Path, outbox: Path) -> str:
    records = read_journal(journal)
    start = records[0]
    client = connect(start["uri"])
    created = journal.with_suffix(".run")  # a run created by an earlier, interrupted sync
    run_id = start.get("run_id") or (created.read_text().strip() if created.exists() else None)
    if run_id is None:
        run_id = apply_start(client, start, outbox)
        write_atomic(created, run_id.encode())
    for record in records[1:]:
        apply(client, run_id, record)
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


def failure(err: Exception) -> str:
    """The first line of an error (at most 200 characters), or its type when it says nothing."""
    return str(err).splitlines()[0][:200] if str(err) else type(err).__name__


def sync(params: MlflowParams) -> tuple[int, int]:
    """Sends every journal of the outbox whose writer has ended, runs without a parent first (a sweep run
    before its cells). Returns (sent, left)."""
    outbox = outbox_folder(params)
    starts = {p: (read_journal(p)[:1] or [{}])[0] for p in outbox.glob("*.jsonl")}
    journals = sorted(starts, key=lambda p: ("mlflow.parentRunId" in starts[p].get("tags", {}), p.stat().st_mtime))
    sent = 0
    for journal in tqdm(journals, desc="mlflow sync", unit="run", disable=len(journals) < 2):
        records = read_journal(journal)
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
            run_id = sync_journal(journal, outbox)
        except Exception as err:  # noqa: BLE001 - the store's own exception types
            print(f"experiment: {journal}: cannot send to {records[0]['uri']} ({failure(err)}); left for later")
            continue
        print(f"experiment: {journal.name}: {len(records) - 1} records sent to run {run_id}")
        sent += 1
    return sent, len(journals) - sent
