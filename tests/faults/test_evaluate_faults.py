"""Evaluation killed with SIGKILL: the rerun keeps the sequences that were done (same checkpoint, same
settings), tracks the rest, and its result files equal an uninterrupted run's."""
import os
import signal
import subprocess
import sys
import time

import torch

from models.checkpoint import save_checkpoint
from models.variants import build_model
from tests.conftest import REPO, SHARED, needs_shared, run_module, tree_hash

SEQUENCES, FRAMES = 4, 40


@needs_shared
def test_a_killed_evaluation_resumes_to_the_results_of_an_uninterrupted_one(tmp_path):
    root = tmp_path / "otb"  # the real Crossing's first frames, four times over: one to kill between sequences
    crossing = SHARED / "data/otb/Crossing"
    for k in range(SEQUENCES):
        (root / f"Crossing{k}").mkdir(parents=True)
        (root / f"Crossing{k}" / "img").symlink_to(crossing / "img")
        rows = (crossing / "groundtruth_rect.txt").read_text().splitlines()[:FRAMES]
        (root / f"Crossing{k}" / "groundtruth_rect.txt").write_text("\n".join(rows) + "\n")
    torch.manual_seed(0)
    save_checkpoint(tmp_path / "runs/siamfc_alexnet/checkpoint.pt", build_model("siamfc_alexnet", width=0.25),
                    epoch=0, step=0, params_hash="", git_commit="")

    def args(results):
        sets = [f"benchmarks.synth-otb.root={root}", f"evaluate.runs={tmp_path / 'runs'}", f"evaluate.results={results}",
                "evaluate.backend=serial", "variants.siamfc_alexnet.width=0.25"]
        return ["--variant", "siamfc_alexnet", "--benchmark", "synth-otb", *(a for s in sets for a in ("--set", s))]

    whole = run_module("pipeline.evaluate", *args(tmp_path / "whole"))
    assert whole.returncode == 0, whole.stderr[-2000:]
    results = tmp_path / "killed"
    progress = results / "siamfc_alexnet/synth-otb/.progress"
    process = subprocess.Popen([sys.executable, "-m", "pipeline.evaluate", *args(results)], cwd=REPO,
                               env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not list(progress.glob("*.json")) and time.time() < deadline and process.poll() is None:
        time.sleep(0.02)
    process.kill()
    assert process.wait() == -signal.SIGKILL
    done = len(list(progress.glob("*.json")))
    assert 1 <= done < SEQUENCES, "the evaluation ended before the kill"

    rerun = run_module("pipeline.evaluate", *args(results))
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert f"resuming, {done} of {SEQUENCES} sequences done" in rerun.stdout
    assert tree_hash(results, "*.txt") == tree_hash(tmp_path / "whole", "*.txt")
    assert not progress.exists()
    assert len(list(results.rglob("*.txt"))) == SEQUENCES

    # Other weights: nothing of the earlier run is kept.
    torch.manual_seed(1)
    save_checkpoint(tmp_path / "runs/siamfc_alexnet/checkpoint.pt", build_model("siamfc_alexnet", width=0.25),
                    epoch=0, step=0, params_hash="", git_commit="")
    progress.mkdir()
    (progress / "Crossing0.json").write_text('{"sequence": "Crossing0", "frames": 40, "seconds": 1, "job": "old"}')
    again = run_module("pipeline.evaluate", *args(results))
    assert again.returncode == 0 and "resuming" not in again.stdout
