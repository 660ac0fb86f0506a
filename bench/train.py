"""The training input pipeline and DDP scaling against their floors, on the curated shards of `make repro`.

    python bench/train.py [--variant siamfc_alexnet] [--pairs 512]

Measures in one run, on the same pairs (seed, epoch 0, indices 0..N-1):
  - the decode floor: read the two crops of each pair from LMDB and decode them, one process, nothing else;
  - one loader worker: the whole sample (pair sampling, decode, re-crop augmentation, colour, targets);
  - the DataLoader with 2 workers;
  - training: `torchrun --standalone --nproc_per_node=K -m pipeline.train` for two epochs of N pairs, the
    pairs per second of the second from its train.json (the first pays for start-up): on CPU with K = 1 and
    2 ranks (gloo); with --device cuda on one GPU, in fp32 and with AMP (train.amp), each against its step
    floor: forward, backward and SGD step repeated on one batch held on the GPU (no loader, no logging),
    and the share of that step the GPU spends in kernels;
and prints one worker / floor, 2 workers / 1 worker, 2 ranks / 1 rank or AMP / fp32 and training / step floor.
"""
import json
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
from models.kinds import head_kind  # noqa: E402
from models.inputs import to_input  # noqa: E402
from models.variants import build_model  # noqa: E402
from pipeline.config.params import load_params  # noqa: E402
from pipeline.training.distributed import Distributed, one_torch_thread  # noqa: E402
from pipeline.training.pairs import PairDataset, make_sampler, rank_indices  # noqa: E402
from pipeline.training.trainer import Trainer  # noqa: E402

import common  # noqa: E402


def step_floor(args, params, dataset, amp: bool, steps: int = 20) -> tuple[float, float]:
    """Pairs per second of the Trainer's own training step on one batch already on the GPU (what the device
    alone allows: no loader, no logging), and the share of a step's time that the GPU spends in kernels
    (torch.profiler over 3 more steps): well under 1, the GPU waits for Python to launch its kernels."""
    params = load_params(REPO / "params.yaml", [*args.set, "train.device=cuda", f"train.amp={str(amp).lower()}"])
    trainer = Trainer(args.variant, params, Distributed("cuda"))
    device = trainer.cluster.device
    batch = next(iter(DataLoader(dataset, batch_size=trainer.recipe.batch_size)))
    template, search = to_input(batch.pop("template"), device), to_input(batch.pop("search"), device)
    targets = {k: v.to(device) for k, v in batch.items()}

    def step():
        trainer.optimize(template, search, targets)

    for _ in range(3):  # cuDNN's algorithm search and the allocator's first blocks
        step()
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    torch.cuda.synchronize()
    step_seconds = (time.perf_counter() - start) / steps
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as profile:
        for _ in range(3):
            step()
        torch.cuda.synchronize()
    kernel_seconds = sum(e.self_device_time_total for e in profile.key_averages()) / 1e6 / 3
    return trainer.recipe.batch_size / step_seconds, kernel_seconds / step_seconds


def loader_rates(args, sampler, dataset, indices) -> dict:
    """Pairs per second of the decode floor, one loader worker and the DataLoader with 2 workers."""
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

    loader = DataLoader(dataset, batch_size=16, num_workers=2, worker_init_fn=one_torch_thread)
    start = time.perf_counter()
    for _ in loader:
        pass
    rates["loader, 2 workers"] = args.pairs / (time.perf_counter() - start)
    return rates


def training_rates(args, params) -> tuple[dict, list]:
    """Pairs per second of the second of two epochs of `python -m pipeline.train` under torchrun: on CPU
    float32 and mixed precision (bfloat16 where the CPU has it) with 1 rank, and 2 ranks; fp32 and AMP on
    one GPU; and the ratios of those runs."""
    head = params.variants[args.variant]["head"]
    profile = f"train_profiles.{params.train.profile}.{head}"
    common_sets = [*args.set, f"train.device={args.device}", f"train.loader_workers={args.loader_workers}",
                   f"{profile}.epochs=2", f"{profile}.warmup_epochs=0", f"{profile}.freeze_backbone_epochs=0",
                   f"{profile}.pairs_per_epoch={args.pairs}"]
    # CPU: one rank per core, gloo. One GPU: a rank per GPU, so fp32 against AMP only.
    if args.device == "cpu":
        runs = {"training float32, 1 rank": (1, ["train.amp=false"]), "training, 1 rank": (1, ["train.amp=true"]),
                "training, 2 ranks": (2, ["train.amp=true"])}
        compared = [("training mixed precision / float32, 1 rank", "training, 1 rank", "training float32, 1 rank"),
                    ("training 2 ranks / 1 rank", "training, 2 ranks", "training, 1 rank")]
    else:
        runs = {"training fp32, 1 GPU": (1, ["train.amp=false"]), "training AMP, 1 GPU": (1, ["train.amp=true"])}
        compared = [("training AMP / fp32", "training AMP, 1 GPU", "training fp32, 1 GPU")]
    rates = {}
    with tempfile.TemporaryDirectory() as tmp:
        for k, (name, (ranks, sets)) in enumerate(runs.items()):
            sets = [f"train.runs={tmp}/{k}", *common_sets, *sets]
            command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={ranks}",
                       "-m", "pipeline.train", "--variant", args.variant, *(a for s in sets for a in ("--set", s))]
            subprocess.run(command, cwd=REPO, check=True, env=common.subprocess_env(REPO),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            summary = json.loads((Path(tmp) / str(k) / args.variant / "train.json").read_text())
            rates[name] = summary["epochs"][-1]["samples_per_second"]
    return rates, [(label, rates[a] / rates[b]) for label, a, b in compared]


def main():
    parser = common.parser(__doc__)
    parser.add_argument("--variant", default="siamfc_alexnet", help="a variant of params.yaml (default: %(default)s)")
    parser.add_argument("--pairs", type=int, default=512, help="pairs per measurement (default: %(default)s)")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"),
                        help="training device (default: %(default)s)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a params.yaml override for the loader and the training runs (repeatable)")
    parser.add_argument("--loader-workers", type=int, default=1,
                        help="DataLoader processes per training rank (default: %(default)s)")
    args = parser.parse_args()
    params = load_params(REPO / "params.yaml", args.set)
    recipe = params.recipe(args.variant)
    masks = head_kind(params.variants[args.variant]["head"]).masks
    sampler = make_sampler(params, recipe, masks, args.variant)
    target_maker = build_model(args.variant, **params.variants[args.variant]).target_maker(
        params.train.search_size)
    indices = rank_indices(args.pairs, 1, 0, 1)
    dataset = PairDataset(sampler, params.train, target_maker, 0, indices, masks)
    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    rates = loader_rates(args, sampler, dataset, indices)
    trained, ratios = training_rates(args, params)
    rates |= trained
    if args.device == "cuda":
        for precision, amp in (("fp32", False), ("AMP", True)):
            floor, busy = step_floor(args, params, dataset, amp)
            rates[f"step floor {precision}, 1 GPU"] = floor
            ratios += [(f"training / step floor, {precision}", rates[f"training {precision}, 1 GPU"] / floor),
                       (f"GPU kernel time / step time, {precision}", busy)]
    config = params.variants[args.variant]
    common.report(args, f"loader and training: {args.variant} ({params.train.profile} profile, width "
                  f"{config['width']:g}, batch {recipe.batch_size}), {args.pairs} pairs, search "
                  f"{params.train.search_size} px, training on {args.device} with {args.loader_workers} loader "
                  f"worker(s) per rank", [(name, rate, "pairs/s") for name, rate in rates.items()],
                  [("loader 1 worker / decode floor", rates["loader, 1 worker"] / rates["decode floor, 1 process"]),
                   ("loader 2 workers / 1 worker", rates["loader, 2 workers"] / rates["loader, 1 worker"]),
                   *ratios])


if __name__ == "__main__":
    main()
