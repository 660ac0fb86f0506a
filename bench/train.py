"""The training input pipeline and DDP scaling against their floors, on the curated shards of `make repro`.

    python bench/train.py [--variant siamfc_alexnet] [--pairs 512]

Measures in one run, on the same pairs (seed, epoch 0, indices 0..N-1):
  - the decode floor: read the two crops of each pair from LMDB and decode them, one process, nothing else;
  - one loader worker: the whole sample (pair sampling, decode, re-crop augmentation, colour, targets);
  - the DataLoader with 2 workers;
  - training: `torchrun --standalone --nproc_per_node=K -m pipeline.train` for one epoch of N pairs with
    K = 1 and 2 ranks (CPU, gloo; on a CUDA machine set --device cuda), pairs per second from its train.json;
and prints one worker / floor, 2 workers / 1 worker and 2 ranks / 1 rank.
"""
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import torch
from torch.utils.data import DataLoader

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from models.variants import build_model  # noqa: E402
from pipeline import train  # noqa: E402
from pipeline.params import load_params  # noqa: E402

import common  # noqa: E402


def main():
    parser = common.parser(__doc__)
    parser.add_argument("--variant", default="siamfc_alexnet", help="a variant of params.yaml (default: %(default)s)")
    parser.add_argument("--pairs", type=int, default=512, help="pairs per measurement (default: %(default)s)")
    parser.add_argument("--device", default="cpu", help="training device, cpu or cuda (default: %(default)s)")
    args = parser.parse_args()
    params = load_params(REPO / "params.yaml")
    recipe = params.recipe(args.variant)
    masks = params.variants[args.variant]["head"] == "mask"
    sampler = train.make_sampler(params, recipe, masks, args.variant)
    target_maker = build_model(args.variant, **params.variants[args.variant]).target_maker(
        params.train.search_size)
    indices = train.rank_indices(args.pairs, 1, 0, 1)
    dataset = train.PairDataset(sampler, params.train, target_maker, 0, indices, masks)
    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    rates = {}

    start = time.perf_counter()
    for index in indices:
        pair = sampler.pair(sampler.rng(0, int(index)))
        sampler.read(pair.template), sampler.read(pair.search)
    rates["decode floor, 1 process"] = args.pairs / (time.perf_counter() - start)

    start = time.perf_counter()
    for i in range(len(dataset)):
        dataset[i]
    rates["loader, 1 worker"] = args.pairs / (time.perf_counter() - start)

    loader = DataLoader(dataset, batch_size=16, num_workers=2, worker_init_fn=train._one_torch_thread)
    start = time.perf_counter()
    for _ in loader:
        pass
    rates["loader, 2 workers"] = args.pairs / (time.perf_counter() - start)

    head = params.variants[args.variant]["head"]
    with tempfile.TemporaryDirectory() as tmp:
        for ranks in (1, 2):
            sets = [f"train.runs={tmp}/{ranks}", f"train.device={args.device}", "train.loader_workers=1",
                    f"train_profiles.{params.train.profile}.{head}.epochs=1",
                    f"train_profiles.{params.train.profile}.{head}.warmup_epochs=0",
                    f"train_profiles.{params.train.profile}.{head}.pairs_per_epoch={args.pairs}"]
            command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={ranks}",
                       "-m", "pipeline.train", "--variant", args.variant, *(a for s in sets for a in ("--set", s))]
            subprocess.run(command, cwd=REPO, check=True, env={**os.environ, "PYTHONPATH": str(REPO)},
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            summary = json.loads((Path(tmp) / str(ranks) / args.variant / "train.json").read_text())
            rates[f"training, {ranks} rank{'s' * (ranks > 1)}"] = summary["epochs"][0]["samples_per_second"]

    common.report(args, f"loader and training: {args.variant}, {args.pairs} pairs, search {params.train.search_size} px, "
                  f"training on {args.device}", [(name, rate, "pairs/s") for name, rate in rates.items()],
                  [("loader 1 worker / decode floor", rates["loader, 1 worker"] / rates["decode floor, 1 process"]),
                   ("loader 2 workers / 1 worker", rates["loader, 2 workers"] / rates["loader, 1 worker"]),
                   ("training 2 ranks / 1 rank", rates["training, 2 ranks"] / rates["training, 1 rank"])])

if __name__ == "__main__":
    main()
