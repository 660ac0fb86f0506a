"""python -m pipeline.train --variant V [--resume]: train a variant on pairs from the curated shards.

One loop for every variant. Under `torchrun --nproc_per_node=K -m pipeline.train --variant V` it runs DDP
(gloo on CPU, nccl on CUDA; several nodes through torchrun's rendezvous). Rank 0 shows progress, logs and
writes runs/V/checkpoint.pt after every epoch (and checkpoint-eNNN.pt), train.json and steps.jsonl, and
logs the same to MLflow when a tracking URI is set; every rank takes part in the collectives. The pairs
come from pipeline.sampling, a function of (seed, epoch, index): rank r computes the indices
(step * ranks + r) * batch + j, so the stream does not depend on the number of ranks or loader workers,
and `--resume` continues at the last checkpoint with the same weights, optimizer state, learning rate and
pairs as a run that was never interrupted.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import time
from pathlib import Path

import numpy as np
import psutil
import torch
from torch import distributed as dist
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from models import ModelError
from models.checkpoint import load_checkpoint, save_checkpoint
from models.geometry import EXEMPLAR_SIZE
from models.siamese import to_input
from models.variants import build_model
from pipeline import cli, experiment
from pipeline.augment import augment_crop, gray
from pipeline.files import file_sha256, json_digest, write_atomic
from pipeline.params import Params, Recipe, TrainParams
from pipeline.sampling import PairSampler, SamplingError, open_source
from pipeline.shards import MANIFEST


class PairDataset(Dataset):
    """The training samples of one epoch for one rank: crops, targets and (SiamMask) the search mask."""

    def __init__(self, sampler: PairSampler, train: TrainParams, target_maker, epoch: int, indices: np.ndarray,
                 masks: bool):
        self.sampler, self.train, self.target_maker = sampler, train, target_maker
        self.epoch, self.indices, self.masks = epoch, indices, masks

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> dict:
        rng = self.sampler.rng(self.epoch, int(self.indices[i]))
        pair = self.sampler.pair(rng)
        image, box, _ = self.sampler.read(pair.template)
        template, _, _ = augment_crop(image, box, EXEMPLAR_SIZE, self.train.template, rng)
        image, box, mask = self.sampler.read(pair.search)
        search, box, mask = augment_crop(image, box, self.train.search_size, self.train.search, rng, mask)
        if pair.gray:
            template, search = gray(template), gray(search)
        sample = {"template": template, "search": search, **self.target_maker(box, pair.negative, rng)}
        if self.masks:
            valid = mask is not None and not pair.negative
            sample["mask"] = (mask[None] / 255.0).astype(np.float32) if valid else np.zeros(
                (1, self.train.search_size, self.train.search_size), np.float32)
            sample["mask_valid"] = valid
        return sample


def rank_indices(epoch_pairs: int, batch: int, rank: int, ranks: int) -> np.ndarray:
    """The pair indices rank `rank` trains on in one epoch, step by step: (step * ranks + rank) * batch + j."""
    steps = epoch_pairs // (batch * ranks)
    return np.array([(s * ranks + rank) * batch + j for s in range(steps) for j in range(batch)], np.int64)


def learning_rate(recipe: Recipe, epoch: int) -> float:
    """SiamRPN++ section 4.1: a warm-up rising geometrically from warmup_lr to lr, then lr annealed
    geometrically to lr_end at the last epoch; without a warm-up, SiamFC section 4.1's annealing."""
    if epoch < recipe.warmup_epochs:
        return recipe.warmup_lr * (recipe.lr / recipe.warmup_lr) ** (epoch / recipe.warmup_epochs)
    decay = recipe.epochs - recipe.warmup_epochs - 1
    progress = (epoch - recipe.warmup_epochs) / decay if decay > 0 else 0.0
    return recipe.lr * (recipe.lr_end / recipe.lr) ** progress


def check_recipe(recipe: Recipe, variant: str) -> None:
    problems = [f"{name} must be positive" for name in ("epochs", "pairs_per_epoch", "batch_size", "lr", "lr_end")
                if getattr(recipe, name) <= 0]
    if recipe.warmup_epochs and recipe.warmup_lr <= 0:
        problems.append("warmup_lr must be positive with a warm-up")
    if recipe.warmup_epochs >= recipe.epochs and recipe.warmup_epochs:
        problems.append("the warm-up must be shorter than the schedule")
    if problems:
        raise cli.UserError(f"training recipe of {variant}: {'; '.join(problems)}")


def make_sampler(params: Params, recipe: Recipe, masks: bool, variant: str, verify: bool = True) -> PairSampler:
    """The pair sampler over the recipe's datasets, every shard checked before training starts (its checksum
    when `verify`: by one rank, not by all)."""
    train = params.train
    try:
        sources = [open_source(name, Path(params.curate.out) / name, spec.weight, spec.frame_range, train.fraction,
                               verify) for name, spec in recipe.datasets.items()]
    except SamplingError as err:
        raise cli.UserError(str(err)) from None
    if masks and not any(s.has_masks for s in sources):
        raise cli.UserError(f"{variant} learns masks, but none of its datasets ({', '.join(recipe.datasets)}) has "
                            "curated masks (COCO has)")
    return PairSampler(sources, train.seed, recipe.negative, recipe.semantic_negative, train.gray)


def make_optimizer(model, recipe: Recipe) -> torch.optim.SGD:
    """SGD with two groups, the backbone's (frozen, or at backbone_lr times the rate) and the rest's."""
    backbone = [p for n, p in model.named_parameters() if n.startswith("backbone.")]
    rest = [p for n, p in model.named_parameters() if not n.startswith("backbone.")]
    return torch.optim.SGD([{"params": backbone}, {"params": rest}], lr=recipe.lr, momentum=recipe.momentum,
                           weight_decay=recipe.weight_decay)


def run_hash(params: Params, variant: str) -> str:
    """What determines the weights: the model config, the recipe, the sampling and augmentation settings
    (not where files go or how many loader workers read them) and the curated data (its manifests)."""
    recipe = params.recipe(variant)
    train = {k: v for k, v in dataclasses.asdict(params.train).items() if k not in ("runs", "loader_workers")}
    manifests = {name: file_sha256(Path(params.curate.out) / name / MANIFEST) for name in recipe.datasets}
    return json_digest({"config": params.variants[variant], "recipe": dataclasses.asdict(recipe), "train": train,
                        "curated": manifests})


class Distributed:
    """torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK), or a single process without it."""

    def __init__(self, device: str):
        self.rank, self.ranks = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
        local = int(os.environ.get("LOCAL_RANK", 0))
        if device == "cuda" and not torch.cuda.is_available():
            raise cli.UserError("train.device is cuda, but torch sees no CUDA device (set train.device=cpu)")
        self.device = torch.device(f"cuda:{local}" if device == "cuda" else "cpu")
        if device == "cuda":
            torch.cuda.set_device(self.device)
        if self.ranks > 1:
            dist.init_process_group("nccl" if device == "cuda" else "gloo")

    @property
    def main(self) -> bool:
        return self.rank == 0

    def all_finite(self, value: torch.Tensor) -> bool:
        """Whether `value` is finite on every rank (so that all ranks skip a step together)."""
        flag = torch.isfinite(value.detach()).all().float().reshape(1)
        if self.ranks > 1:
            dist.all_reduce(flag, op=dist.ReduceOp.MIN)
        return bool(flag.item())

    def close(self) -> None:
        if self.ranks > 1:
            dist.destroy_process_group()


def _one_torch_thread(_):
    torch.set_num_threads(1)


def run(variant: str, params: Params, resume: bool = False) -> dict:
    recipe = params.recipe(variant)
    check_recipe(recipe, variant)
    cluster = Distributed(params.train.device)
    try:
        return _train(variant, params, recipe, resume, cluster)
    finally:
        cluster.close()


def _train(variant: str, params: Params, recipe: Recipe, resume: bool, cluster: Distributed) -> dict:
    train, folder = params.train, Path(params.train.runs) / variant
    config = params.variants[variant]
    sampler = make_sampler(params, recipe, config["head"] == "mask", variant, verify=cluster.main)
    digest, latest, commit = run_hash(params, variant), last_checkpoint(folder), experiment.git_state()[0]
    checkpoint = None
    if resume and latest is not None:
        try:
            model, checkpoint = load_checkpoint(latest, variant=variant)
        except ModelError as err:
            raise cli.UserError(str(err)) from None
        if checkpoint["params_hash"] != digest:
            raise cli.UserError(f"{latest}: written with other params or data than these; resuming would mix "
                                "two runs (run without --resume to start again)")
    else:
        torch.manual_seed(train.seed)
        model = build_model(variant, **config)
    optimizer = make_optimizer(model, recipe)
    start_epoch, step, skipped, extra = 0, 0, 0, {}
    if checkpoint is not None:
        optimizer.load_state_dict(checkpoint["optimizer"])
        start_epoch, step = checkpoint["epoch"], checkpoint["step"]
        extra = checkpoint.get("extra") or {}
        skipped = extra.get("skipped_steps", 0)
    model.to(cluster.device)
    net = torch.nn.parallel.DistributedDataParallel(model) if cluster.ranks > 1 else model
    amp = train.amp and cluster.device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=amp)
    target_maker = model.target_maker(train.search_size)
    history = extra.get("history", []) if checkpoint is not None else []  # the epochs' records so far
    mlflow_run = None
    data = {s.name: {"videos": s.videos, "objects": len(s.tracks)} for s in sampler.sources}  # at train.fraction
    if cluster.main:
        mlflow_run = experiment.RunLog(
            params.mlflow, f"train-{variant}",
            {"variant": variant, "model": config, "recipe": dataclasses.asdict(recipe),
             "train": dataclasses.asdict(train), "data": data},
            tags={"variant": variant, "profile": train.profile, "ranks": cluster.ranks, "params_hash": digest},
            run_id=extra.get("mlflow_run_id"))  # a resumed run continues its own
        _truncate_steps(folder / "steps.jsonl", step)
        psutil.cpu_percent()  # the first epoch's CPU use counts from here
        if start_epoch:
            print(f"train: {variant}: resuming after epoch {start_epoch} (step {step}) from {latest}")
            _log_missed_epochs(mlflow_run, folder, history)
    if cluster.main and start_epoch == 0:  # the initial weights: evaluated as <variant>-untrained
        for stale in folder.glob("checkpoint-e[0-9][0-9][0-9].pt"):  # a new run: an old run's epochs must not resume
            stale.unlink()
        save_checkpoint(folder / "checkpoint-e000.pt", model, epoch=0, step=0, params_hash=digest,
                        git_commit=commit)
    with mlflow_run or contextlib.nullcontext():  # other ranks log nothing
        for epoch in range(start_epoch, recipe.epochs):
            lr = learning_rate(recipe, epoch)
            frozen = epoch < recipe.freeze_backbone_epochs
            optimizer.param_groups[0]["lr"] = 0.0 if frozen else lr * recipe.backbone_lr
            optimizer.param_groups[1]["lr"] = lr
            model.train()
            if frozen:  # pysot keeps a frozen backbone's batch-norm statistics too
                model.backbone.eval()
            indices = rank_indices(recipe.pairs_per_epoch, recipe.batch_size, cluster.rank, cluster.ranks)
            loader = DataLoader(PairDataset(sampler, train, target_maker, epoch, indices, config["head"] == "mask"),
                                batch_size=recipe.batch_size, num_workers=train.loader_workers,
                                worker_init_fn=_one_torch_thread, persistent_workers=False)
            sums, count, started = {}, 0, time.perf_counter()
            bar = tqdm(loader, desc=f"train {variant} epoch {epoch + 1}/{recipe.epochs}", unit="batch",
                       disable=not cluster.main)
            steps_log = []
            for batch in bar:
                template = to_input(batch.pop("template"), cluster.device)
                search = to_input(batch.pop("search"), cluster.device)
                targets = {k: v.to(cluster.device) for k, v in batch.items()}
                with torch.autocast("cuda", enabled=amp):
                    losses = net(template, search, targets)
                step += 1
                if not cluster.all_finite(losses["total"]):
                    skipped += 1  # a non-finite loss: every rank skips the step
                    optimizer.zero_grad(set_to_none=True)
                    continue
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(losses["total"]).backward()
                if recipe.grad_clip > 0:
                    scaler.unscale_(optimizer)
                    torch.nn.utils.clip_grad_norm_(model.parameters(), recipe.grad_clip)
                scaler.step(optimizer)
                scaler.update()
                values = {k: v.item() for k, v in losses.items()}
                for k, v in values.items():
                    sums[k] = sums.get(k, 0.0) + v
                count += 1
                steps_log.append({"step": step, "epoch": epoch + 1, "time": _now_ms(), "lr": lr, **values})
                bar.set_postfix(loss=f"{values['total']:.3f}")
            seconds = time.perf_counter() - started
            record = {"epoch": epoch + 1, "step": step, "time": _now_ms(), "lr": lr, "backbone_frozen": frozen,
                      "seconds": seconds, "skipped_steps": skipped,
                      "samples_per_second": len(indices) * cluster.ranks / seconds,
                      **{f"loss_{k}": v / max(count, 1) for k, v in sums.items()}}
            history.append(record)
            if cluster.main:
                with open(folder / "steps.jsonl", "a") as log:
                    log.writelines(json.dumps(s) + "\n" for s in steps_log)
                epoch_file = folder / f"checkpoint-e{epoch + 1:03d}.pt"
                save_checkpoint(epoch_file, model, epoch=epoch + 1, step=step, params_hash=digest,
                                git_commit=commit, optimizer=optimizer,
                                extra={"skipped_steps": skipped, "mlflow_run_id": mlflow_run.run_id,
                                       "history": history})
                _link_atomic(epoch_file, folder / "checkpoint.pt")
                summary = {"variant": variant, "profile": train.profile, "ranks": cluster.ranks, "data": data, "epochs": history,
                           "skipped_steps": skipped, "final_loss": record.get("loss_total"), "params_hash": digest,
                           "mlflow_run_id": mlflow_run.run_id}
                write_atomic(folder / "train.json", (json.dumps(summary, indent=1) + "\n").encode())
                # Sent after the checkpoint: a run killed mid-epoch and resumed logs each step once.
                _log_epoch(mlflow_run, steps_log, record, epoch_file,
                           system_metrics(cluster.device))
                loss = record.get("loss_total", float("nan"))
                print(f"train: {variant} epoch {epoch + 1}/{recipe.epochs}: loss {loss:.4f}, lr {lr:.2e}, "
                      f"{record['samples_per_second']:.1f} pairs/s on {cluster.ranks} rank(s)")
        if cluster.main:
            for path in (folder / "checkpoint.pt", folder / "train.json", folder / "steps.jsonl"):
                mlflow_run.artifact(path, "model" if path.suffix == ".pt" else None)
    return {"variant": variant, "epochs": history, "skipped_steps": skipped}


def _now_ms() -> int:
    return int(time.time() * 1000)


def _log_epoch(run: experiment.RunLog, steps: list[dict], record: dict, epoch_file: Path, system: dict) -> None:
    """An epoch's step metrics and summary, at the times recorded with them (sent twice, they count once)."""
    run.history([(s["step"], {k: v for k, v in s.items() if k not in ("step", "epoch", "time")}, s["time"])
                 for s in steps])
    summary = {"epoch": record["epoch"], "epoch_seconds": record["seconds"], "skipped_steps": record["skipped_steps"],
               **{k: v for k, v in record.items() if k.startswith(("loss_", "samples_"))}}
    run.history([(record["step"], summary | system, record["time"])])
    run.artifact(epoch_file, "checkpoints")


def _log_missed_epochs(run: experiment.RunLog, folder: Path, history: list[dict]) -> None:
    """Epochs whose checkpoint was written but whose metrics a kill kept from the run: sent on resume."""
    logged = run.logged_steps("epoch")
    missed = [record for record in history if record["step"] not in logged]
    if missed:
        steps = [json.loads(line) for line in (folder / "steps.jsonl").read_text().splitlines()]
        for record in missed:
            _log_epoch(run, [s for s in steps if s["epoch"] == record["epoch"]], record,
                       folder / f"checkpoint-e{record['epoch']:03d}.pt", {})


def system_metrics(device: torch.device) -> dict:
    """CPU use since the last call, memory in use and the GPU memory peak, under system/ (the MLflow UI's
    system metrics tab)."""
    metrics = {"cpu_utilization_percentage": psutil.cpu_percent(),
               "system_memory_usage_megabytes": psutil.virtual_memory().used / 2 ** 20,
               "process_memory_rss_megabytes": psutil.Process().memory_info().rss / 2 ** 20}
    if device.type == "cuda":
        metrics["gpu_memory_peak_megabytes"] = torch.cuda.max_memory_allocated(device) / 2 ** 20
    return {f"system/{k}": v for k, v in metrics.items()}


def last_checkpoint(folder: Path) -> Path | None:
    """The newest checkpoint-eNNN.pt (a kill between writing it and linking checkpoint.pt loses nothing)."""
    epochs = sorted(folder.glob("checkpoint-e[0-9][0-9][0-9].pt"))
    return epochs[-1] if epochs else None


def _link_atomic(source: Path, link: Path) -> None:
    """`link` becomes another name of `source` in one rename: readers see the old file or the new one."""
    tmp = link.with_name(f".{link.name}.tmp")
    tmp.unlink(missing_ok=True)
    os.link(source, tmp)
    os.replace(tmp, link)


def _truncate_steps(path: Path, step: int) -> None:
    """Keep the step log up to the checkpoint's step (a resumed run writes the rest again)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = path.read_text().splitlines(keepends=True) if path.exists() else []
    kept = "".join(line for line in lines if line.endswith("\n") and json.loads(line)["step"] <= step)  # a cut line too
    write_atomic(path, kept.encode())


def main() -> None:
    parser = cli.stage_parser("pipeline.train", __doc__.split("\n\n")[0])
    parser.add_argument("--variant", required=True, help="a registered variant (params.yaml variants)")
    parser.add_argument("--resume", action="store_true",
                        help="continue from the newest <train.runs>/<variant>/checkpoint-eNNN.pt if there is one")
    args = parser.parse_args()
    params = cli.params_from_args(args)
    if args.variant not in params.variants:
        raise cli.UserError(f"unknown variant {args.variant!r} ({', '.join(params.variants)})")
    run(args.variant, params, args.resume)


if __name__ == "__main__":
    cli.run(main, "train")
