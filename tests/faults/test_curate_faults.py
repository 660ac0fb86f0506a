"""Curation killed and starved of space: a rerun resumes to the bytes of an uninterrupted run, and a full
disk stops it with one line and no partial shard."""
import os
import resource
import signal
import subprocess
import sys
import time

import lmdb
import pytest

from pipeline.data import shards
from tests.conftest import REPO, run_module, tree_hash
from tests.pipeline.test_curate import cli_args, run_curate


def test_killed_run_resumes_to_the_same_bytes(tiny_world, tiny_index, tmp_path):
    # Large crops make each shard take long enough to be killed in the middle of the run.
    slow = ["curate.search_size=1535", "curate.shard_frames=8"]
    run_curate(tiny_world, tiny_index, tmp_path / "whole", "vid", *slow)
    out = tmp_path / "killed"
    process = subprocess.Popen([sys.executable, "-m", "pipeline.curate", *cli_args(tiny_world, tiny_index, out,
                               "vid", *slow)], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    records = out / "shards/vid"
    deadline = time.monotonic() + 60
    while not list(records.glob("shard-*.json")) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.killpg(process.pid, signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL
    assert not (records / "manifest.json").exists()  # it was stopped before the end
    result = run_module("pipeline.curate", *cli_args(tiny_world, tiny_index, out, "vid", *slow))
    assert result.returncode == 0, result.stderr
    assert " reused)" in result.stdout and "(0 written" not in result.stdout
    assert tree_hash(out / "shards") == tree_hash(tmp_path / "whole/shards")


def test_a_file_size_limit_stops_the_run_with_one_line_and_leaves_no_partial_shard(tiny_world, tiny_index, tmp_path):
    """A disk that fills up, simulated with a file size limit (Python ignores SIGXFSZ, so writes fail): runs
    on any machine, where the tmpfs test below needs mount rights."""
    args = cli_args(tiny_world, tiny_index, tmp_path, "vid", "curate.shard_frames=1000")
    limit = lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, resource.RLIM_INFINITY))  # noqa: E731
    result = subprocess.run([sys.executable, "-m", "pipeline.curate", *args], cwd=REPO, capture_output=True,
                            text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, preexec_fn=limit)
    out = tmp_path / "shards/vid"
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith(f"curate: error: curate vid: {out.resolve()}/shard-00000.lmdb: ")
    assert lines[-1].endswith("(rerun to resume)") and "mdb_txn_commit" in lines[-1]  # LMDB reports EIO
    assert sorted(p.name for p in out.iterdir()) == []
    assert run_module("pipeline.curate", *args).returncode == 0
    assert (out / "manifest.json").exists()


@pytest.fixture
def small_disk(tmp_path):
    """A real file system of 2 MiB (tmpfs), where this machine lets the tests mount one."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({done.stderr.strip()[:100]}); the RLIMIT_FSIZE test covers it")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def test_a_full_disk_stops_with_one_line_and_no_partial_shard(tiny_world, tiny_index, tmp_path, small_disk):
    args = cli_args(tiny_world, tiny_index, small_disk, "vid", "curate.shard_frames=8", "curate.search_size=767")
    result = run_module("pipeline.curate", *args)
    assert result.returncode == 2, result.stderr[-2000:]
    (line,) = [x for x in result.stderr.splitlines() if "error" in x]
    assert line.startswith(f"curate: error: curate vid: {small_disk}/shards/vid/shard-") and " MiB free on its" in line
    assert float(line.split("(")[-2].split()[0]) < 0.5  # LMDB's own words are EIO; the free space says why
    leftovers = [p.name for p in (small_disk / "shards/vid").iterdir()] if (small_disk / "shards/vid").exists() else []
    assert not [n for n in leftovers if n.endswith(".partial") or n == "manifest.json"]
    for name in leftovers:  # every shard left behind is whole: it has its record and its checksum matches
        if name.endswith(".lmdb"):
            assert name.replace(".lmdb", ".json") in leftovers


def test_lmdb_map_full_grows_the_map(tmp_path):
    path = tmp_path / "small.lmdb"
    writer = shards.ShardWriter(path, map_size=1 << 16)  # 64 KiB, for 2 MiB of values
    for batch in range(8):
        writer.write([(f"{batch:04d}/{i:04d}".encode(), os.urandom(4096)) for i in range(64)])
    writer.close()
    with lmdb.open(str(path), subdir=False, readonly=True, lock=False) as env, env.begin() as txn:
        assert env.stat()["entries"] == 8 * 64 and len(txn.get(b"0007/0063")) == 4096
        assert env.info()["map_size"] >= 2 << 20
