"""Shared fixtures: a tiny synthetic world, written once per test session."""
from __future__ import annotations

import dataclasses
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from pipeline import index, world
from pipeline.config.params import load_params
from pipeline.config.schema import IndexParams

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
# The reference material beside the checkout (present in CI); a user's clone has none, and these tests skip.
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"needs {SHARED}: the shared reference data beside "
                                  "the checkout (weights, real sequences, the toolkits' values), which a clone lacks")
# The stages would log to mlflow.db at the checkout's root; tests that check logging name their own store.
os.environ["MLFLOW_TRACKING_URI"] = "off"

# Small enough to write in a few seconds, large enough to contain every effect the world renders.
TINY_WORLD = ["synth.vid_train_videos=8", "synth.vid_val_videos=2", "synth.vid_frames=6", "synth.det_images=12",
              "synth.coco_images=12", "synth.ytbb_videos=6", "synth.ytbb_timestamps=5", "synth.ytvos_videos=4",
              "synth.ytvos_frames=6", "synth.otb_sequences=2", "synth.vot_sequences=2", "synth.got10k_sequences=2",
              "synth.lasot_sequences=3", "synth.benchmark_frames=30", "synth.davis_sequences=2",
              "synth.davis_frames=12", "synth.workers=2"]


def tiny_params(*overrides):
    return load_params(REPO / "params.yaml", [*TINY_WORLD, *overrides])


@pytest.fixture(scope="session")
def tiny_world(tmp_path_factory) -> Path:
    return world.run(tiny_params().synth, tmp_path_factory.mktemp("world") / "synthetic")


@pytest.fixture(scope="session")
def tiny_index(tiny_world, tmp_path_factory) -> IndexParams:
    """The four training datasets of the tiny world, indexed once per session."""
    out = tmp_path_factory.mktemp("indexed")
    params = IndexParams(out=str(out / "index"), metrics=str(out / "metrics"))
    for name, spec in dataset_specs(tiny_world).items():
        index.run(name, spec, params)
    return params


def tree_hash(root: Path, pattern: str = "*") -> str:
    """sha256 over the relative paths and bytes of every file under root."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob(pattern) if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_mlflow_server(folder: Path, port: int | None = None) -> tuple[subprocess.Popen, str]:
    """A real `mlflow server` on 127.0.0.1 with its store in `folder` (server.db, served/), once it answers."""
    port = port or free_port()
    mlflow = Path(sys.executable).parent / "mlflow"
    server = subprocess.Popen([str(mlflow), "server", "--backend-store-uri", f"sqlite:///{folder}/server.db",
                               "--artifacts-destination", str(folder / "served"), "--host", "127.0.0.1",
                               "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)  # its workers go with it (stop_mlflow_server)
    uri = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{uri}/health", timeout=2) as answer:
                if answer.status == 200:
                    return server, uri
        except OSError:
            if time.time() > deadline or server.poll() is not None:
                stop_mlflow_server(server, signal.SIGKILL)
                pytest.fail("mlflow server did not start on 127.0.0.1")
            time.sleep(0.5)


def stop_mlflow_server(server: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    """Stops the server and its worker processes (a group of their own)."""
    try:
        os.killpg(server.pid, sig)
    except ProcessLookupError:
        pass
    server.wait(timeout=30)


def run_module(module: str, *args: str, cwd=REPO, check=False) -> subprocess.CompletedProcess:
    """Run `python -m module args` as a user would, capturing its output."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, check=check)


def dataset_specs(world: Path) -> dict:
    """The datasets section of params.yaml, re-rooted at a synthetic world written elsewhere."""
    specs = load_params(REPO / "params.yaml").datasets
    out = load_params(REPO / "params.yaml").synth.out
    return {name: dataclasses.replace(spec, root=str(world / Path(spec.root).relative_to(out)))
            for name, spec in specs.items()}


@pytest.fixture(scope="session")
def tiny_shards(tiny_world, tiny_index, tmp_path_factory) -> Path:
    """The tiny world's VID and COCO, curated once per session (serially): <root>/<dataset>/."""
    from pipeline import curate
    root = tmp_path_factory.mktemp("curated") / "shards"
    params = tiny_params(f"curate.out={root}", f"curate.metrics={root.parent / 'metrics'}", "curate.backend=serial")
    for name in ("vid", "coco"):
        curate.run(name, dataset_specs(tiny_world)[name], tiny_index, params.curate)
    return root

