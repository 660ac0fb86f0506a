"""Training on the tiny world's curated shards: the pair stream, the schedules, DDP with 2 ranks under a real
torchrun, and bad input before the first step (kills: tests/faults)."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from models.checkpoint import load_checkpoint
from models.variants import build_model
from pipeline import train
from pipeline.config.schema import Recipe
from pipeline.training.distributed import one_torch_thread
from pipeline.training.pairs import PairDataset, make_sampler, rank_indices
from pipeline.training.schedule import learning_rate
from tests.conftest import REPO, run_module, tiny_params

# A small SiamFC and a small SiamMask, two short epochs over the tiny world's VID and COCO.
FAST = ["variants.siamfc_alexnet.width=0.25", "variants.siammask_r50.width=0.125",
        "variants.siammask_r50.neck_channels=16", "variants.siammask_r50.hidden=16",
        "train_profiles.demo.siamfc.epochs=2", "train_profiles.demo.siamfc.pairs_per_epoch=32",
        "train_profiles.demo.siamfc.batch_size=4", "train_profiles.demo.siammask.epochs=1",
        "train_profiles.demo.siammask.pairs_per_epoch=8", "train_profiles.demo.siammask.batch_size=4",
        "train_profiles.demo.siammask.warmup_epochs=0",
        "train_profiles.demo.siammask.datasets={vid: {weight: 1.0, frame_range: 100}, coco: {weight: 1.0, frame_range: 1}}",
        "train.loader_workers=0"]


def train_args(shards, runs, *extra):
    return [f"curate.out={shards}", f"train.runs={runs}", *FAST, *extra]


def sets(args):
    return [a for s in args for a in ("--set", s)]


def sample(dataset, i):
    item = dataset[i]
    return item["template"].tobytes() + item["search"].tobytes()


def test_samples_depend_on_the_index_only_not_on_workers_or_ranks(tiny_shards, tmp_path):
    params = tiny_params(*train_args(tiny_shards, tmp_path), "train_profiles.demo.siamfc.negative=0.5", "train.gray=0.3")
    recipe = params.recipe("siamfc_alexnet")
    sampler = make_sampler(params, recipe, False, "siamfc_alexnet")
    maker = build_model("siamfc_alexnet", width=0.25).target_maker(255)
    one = rank_indices(32, 4, 0, 1)
    two = [rank_indices(32, 4, r, 2) for r in range(2)]
    # 2 ranks: step s of rank r takes the batch that step 2 s + r of one rank takes.
    assert np.array_equal(np.concatenate([two[0][:4], two[1][:4], two[0][4:8], two[1][4:8]]), one[:16])
    alone = PairDataset(sampler, params.train, maker, 3, one, False)
    ranked = PairDataset(sampler, params.train, maker, 3, two[1], False)
    assert ranked.indices[5] == alone.indices[13]
    assert sample(ranked, 5) == sample(alone, 13)  # the same index, wherever it is computed
    assert sample(alone, 0) != sample(PairDataset(sampler, params.train, maker, 4, one, False), 0)  # next epoch
    batches = {}
    for workers in (0, 2):
        loader = DataLoader(alone, batch_size=4, num_workers=workers, worker_init_fn=one_torch_thread)
        batches[workers] = [torch.cat([b["template"].flatten(), b["search"].flatten()]) for b in loader]
    assert all(torch.equal(a, b) for a, b in zip(batches[0], batches[2], strict=True))
    pairs = [sampler.pair(sampler.rng(0, i)) for i in range(400)]
    negatives = [p for p in pairs if p.negative]
    assert 0.4 < len(negatives) / len(pairs) < 0.6 and 0.2 < np.mean([p.gray for p in pairs]) < 0.4
    assert all(p.search.track != p.template.track for p in negatives)
    frames = [abs(p.search.frame - p.template.frame) for p in pairs if not p.negative]
    assert max(frames) > 0  # VID pairs span frames of a track


def test_learning_rate_schedules_follow_the_papers():
    base = dict(datasets={}, negative=0.0, semantic_negative=0.0, pairs_per_epoch=1, batch_size=1, freeze_backbone_epochs=0, backbone_lr=1.0,
                momentum=0.9, weight_decay=0.0, grad_clip=0.0)
    siamfc = Recipe(**base, epochs=50, lr=1e-2, lr_end=1e-5, warmup_epochs=0, warmup_lr=0.0)
    rates = np.array([learning_rate(siamfc, e) for e in range(50)])
    assert rates[0] == pytest.approx(1e-2) and rates[-1] == pytest.approx(1e-5)
    assert np.allclose(rates[1:] / rates[:-1], (1e-3) ** (1 / 49))  # geometric
    siamrpnpp = Recipe(**base, epochs=20, lr=5e-3, lr_end=5e-4, warmup_epochs=5, warmup_lr=1e-3)
    rates = [learning_rate(siamrpnpp, e) for e in range(20)]
    assert rates[0] == pytest.approx(1e-3) and rates[4] < 5e-3 and rates[5] == pytest.approx(5e-3)
    assert rates[-1] == pytest.approx(5e-4) and all(a < b for a, b in zip(rates[:5], rates[1:6]))


def test_two_ranks_under_torchrun(tiny_shards, tmp_path):
    torchrun = shutil.which("torchrun", path=os.path.dirname(sys.executable))
    args = train_args(tiny_shards, tmp_path, "train_profiles.demo.siamfc.epochs=1")
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([torchrun, "--standalone", "--nproc_per_node=2", "-m", "pipeline.train",
                           "--variant", "siamfc_alexnet", *sets(args)], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads((tmp_path / "siamfc_alexnet" / "train.json").read_text())
    assert summary["ranks"] == 2 and np.isfinite(summary["final_loss"])
    _, checkpoint = load_checkpoint(tmp_path / "siamfc_alexnet" / "checkpoint.pt")
    assert checkpoint["step"] == 32 // (4 * 2)  # the epoch's 32 pairs shared by 2 ranks of batch 4
    assert done.stdout.count("epoch 1/1:") == 1  # rank 0 alone reports


def test_siammask_trains_with_masks_and_a_diverging_step_is_skipped(tiny_shards, tmp_path):
    result = train.run("siammask_r50", tiny_params(*train_args(tiny_shards, tmp_path)))
    assert np.isfinite(result["epochs"][0]["loss_mask"]) and result["skipped_steps"] == 0
    result = train.run("siamfc_alexnet", tiny_params(*train_args(tiny_shards, tmp_path / "huge",
                                                                 "train_profiles.demo.siamfc.lr=1e12",
                                                                 "train_profiles.demo.siamfc.lr_end=1e12",
                                                                 "train_profiles.demo.siamfc.grad_clip=0")))
    assert result["skipped_steps"] > 0
    assert (tmp_path / "huge" / "siamfc_alexnet" / "checkpoint.pt").exists()


def test_bad_input_stops_before_training(tiny_shards, tmp_path):
    broken = tmp_path / "shards"
    shutil.copytree(tiny_shards, broken)
    cases = [(["train_profiles.demo.siammask.datasets={vid: {weight: 1.0, frame_range: 100}}"], "siammask_r50",
              "none of its datasets (vid) has curated masks"),
             (["train_profiles.demo.siamfc.datasets={ytbb: {weight: 1.0, frame_range: 3}}"], "siamfc_alexnet",
              "dataset ytbb is not curated"),
             (["train_profiles.demo.siamfc.warmup_epochs=1"], "siamfc_alexnet", "warmup_lr must be positive"),
             # recipes that cannot learn: no step size, no positive pair, no pair at all
             (["train_profiles.demo.siamfc.lr=0"], "siamfc_alexnet", "lr must be positive"),
             (["train_profiles.demo.siamfc.negative=1.0"], "siamfc_alexnet", "1.0 leaves no positive pair"),
             (["train_profiles.demo.siamfc.datasets={vid: {weight: 0.0, frame_range: 100}}"], "siamfc_alexnet",
              "no dataset with a positive weight"),
             (["train.fraction=0"], "siamfc_alexnet", "train.fraction: fraction must be in (0, 1], got 0.0")]
    for extra, variant, message in cases:
        done = run_module("pipeline.train", "--variant", variant, *sets(train_args(broken, tmp_path, *extra)))
        assert done.returncode == 2 and message in done.stderr and done.stderr.strip().count("\n") == 0, done.stderr
    shard = sorted((broken / "vid").glob("shard-*.lmdb"))[0]
    data = bytearray(shard.read_bytes())
    data[5000] ^= 0xFF
    shard.write_bytes(bytes(data))
    done = run_module("pipeline.train", "--variant", "siamfc_alexnet", *sets(train_args(broken, tmp_path)))
    assert done.returncode == 2 and f"{shard}: shard corrupt" in done.stderr
    shard.unlink()
    done = run_module("pipeline.train", "--variant", "siamfc_alexnet", *sets(train_args(broken, tmp_path)))
    assert done.returncode == 2 and f"{shard}: shard missing" in done.stderr
