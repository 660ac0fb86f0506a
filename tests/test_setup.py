"""The README's set-up on a fresh clone: `make repro` runs synth, index and curate, and a second run does nothing.

The clone reuses this checkout's .venv (VENV=...) so that the test does not reinstall every package;
CI itself starts from a fresh clone, so the install path is exercised there on every run.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO


def make(target, cwd, venv):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS"))}
    return subprocess.run(["make", target, f"VENV={venv}"], cwd=cwd, capture_output=True, text=True, env=env)


@pytest.mark.skipif(not (REPO / ".git").exists(), reason="needs the git checkout to clone from")
def test_make_repro_on_a_fresh_clone_then_nothing_reruns(tmp_path):
    venv = Path(sys.executable).parent.parent
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    first = make("repro", clone, venv)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert "matches requirements.lock, nothing to install" in first.stdout
    for stage in ("synth", *(f"{s}@{d}" for s in ("index", "curate") for d in ("vid", "det", "coco", "ytbb"))):
        assert f"Running stage '{stage}'" in first.stdout
    for header in ("| dataset | videos |", "| dataset | shards |"):  # the index and curation summaries
        table = first.stdout[first.stdout.index(header):].splitlines()
        assert sorted(line.split("|")[1].strip() for line in table[2:6]) == ["coco", "det", "vid", "ytbb"]
    assert not list((clone / "data").rglob("*lock.mdb"))

    second = make("repro", clone, venv)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "Running stage" not in second.stdout and "nothing to install" in second.stdout
    status = subprocess.run([str(venv / "bin/dvc"), "status"], cwd=clone, capture_output=True, text=True)
    assert "Data and pipelines are up to date" in status.stdout
    # The committed dvc.lock is what a fresh run produces: same code hashes, same output hashes.
    changed = subprocess.run(["git", "status", "--porcelain"], cwd=clone, capture_output=True, text=True).stdout
    assert changed == "", changed
