"""The one training loop for every variant: a Trainer owns the model, the optimizer, the pair sampler and
the run folder; it resumes from a checkpoint, runs epochs of steps, and writes a checkpoint per epoch.

Rank 0 shows progress, writes the run folder and logs to MLflow; every rank takes part in the collectives.
The pairs are a function of (seed, epoch, index): rank r trains on indices (step * ranks + r) * batch + j,
so the stream does not depend on the number of ranks or loader workers, and a resumed run continues with
the same weights, optimizer state, learning rate and pairs as one that was never interrupted.
"""
from __future__ import annotations

import contextlib
import json
import dataclasses
import time
from pathlib import Path

import psutil
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from models import ModelError
from models.checkpoint import load_checkpoint, save_checkpoint
from models.kinds import head_kind
from models.inputs import to_input
from models.variants import build_model
from pipeline import tracking
from pipeline.common.errors import UserError
from pipeline.common.files import write_atomic
from pipeline.config.schema import Params
from pipeline.training import run_folder
from pipeline.training.distributed import Distributed, one_torch_thread
from pipeline.training.pairs import PairDataset, make_sampler, rank_indices
from pipeline.training.run_metrics import log_epoch, log_missed_epochs, now_ms, system_metrics
from pipeline.training.schedule import make_optimizer, set_epoch_rates

RESUME = ("strict", "auto")  # strict: refuse a run of other params; auto: start again instead (dvc repro)


class Trainer:
    def __init__(self, variant: str, params: Params, cluster: Distributed, resume: str | None = None):
        self.variant, self.params, self.cluster = variant, params, cluster
        self.train, self.recipe = params.train, params.recipe(variant)
        self.folder = Path(params.train.runs) / variant
        self.config = params.variants[variant]
        self.masks = head_kind(self.config["head"]).masks
        self.sampler = make_sampler(params, self.recipe, self.masks, variant, verify=cluster.main)
        self.digest, self.commit = run_folder.run_hash(params, variant), tracking.git_state()[0]
        self.model, checkpoint = self._model(resume)
        self.optimizer = make_optimizer(self.model, self.recipe)
        self.start_epoch, self.step, extra = 0, 0, {}
        if checkpoint is not None:
            self.optimizer.load_state_dict(checkpoint["optimizer"])
            self.start_epoch, self.step = checkpoint["epoch"], checkpoint["step"]
            extra = checkpoint.get("extra") or {}
        self.skipped, self.history = extra.get("skipped_steps", 0), extra.get("history", [])
        self.mlflow_run_id = extra.get("mlflow_run_id")
        self.model.to(cluster.device)
        # Mixed precision: float16 with loss scaling on CUDA; bfloat16 (no scaling needed) on a CPU with native
        # bfloat16 (AVX512-BF16/AMX), in oneDNN's preferred channels-last layout (docs/performance.md).
        self.amp = self.train.amp and (cluster.device.type == "cuda" or torch.ops.mkldnn._is_mkldnn_bf16_supported())
        self.channels_last = self.amp and cluster.device.type == "cpu"
        if self.channels_last:
            self.model.to(memory_format=torch.channels_last)
        self.net = torch.nn.parallel.DistributedDataParallel(self.model) if cluster.ranks > 1 else self.model
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp and cluster.device.type == "cuda")
        self.precision = ("bfloat16" if cluster.device.type == "cpu" else "float16") if self.amp else "float32"
        self.target_maker = self.model.target_maker(self.train.search_size)
        self.data = {s.name: {"videos": s.videos, "objects": len(s.tracks)} for s in self.sampler.sources}

    def _model(self, resume: str | None):
        """(model, checkpoint): the newest checkpoint's when resuming a run of these params, else new weights."""
        latest = run_folder.last_checkpoint(self.folder)
        if resume and latest is not None:
            try:
                model, checkpoint = load_checkpoint(latest, variant=self.variant)
            except ModelError as err:
                raise UserError(str(err)) from None
            if checkpoint["params_hash"] == self.digest:
                return model, checkpoint
            if resume == "strict":
                raise UserError(f"{latest}: written with other params or data than these; resuming would mix "
                                "two runs (run without --resume to start again)")
            print(f"train: {self.variant}: {latest} is of other params, data or code: training from the start")
        torch.manual_seed(self.train.seed)
        return build_model(self.variant, **self.config), None

    def optimize(self, template: torch.Tensor, search: torch.Tensor, targets: dict) -> dict | None:
        """One training step on a batch on the device: the loss values, or None where a non-finite loss made
        every rank skip it."""
        if self.channels_last:
            template, search = (x.contiguous(memory_format=torch.channels_last) for x in (template, search))
        with torch.autocast(self.cluster.device.type, enabled=self.amp, dtype=getattr(torch, self.precision)):
            losses = self.net(template, search, targets)
        self.step += 1
        if not self.cluster.all_finite(losses["total"]):
            self.skipped += 1
            self.optimizer.zero_grad(set_to_none=True)
            return None
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(losses["total"]).backward()
        if self.recipe.grad_clip > 0:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.recipe.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return {k: v.item() for k, v in losses.items()}

    def loader(self, epoch: int, indices) -> DataLoader:
        dataset = PairDataset(self.sampler, self.train, self.target_maker, epoch, indices, self.masks)
        return DataLoader(dataset, batch_size=self.recipe.batch_size, num_workers=self.train.loader_workers,
                          worker_init_fn=one_torch_thread, persistent_workers=False)

    def epoch(self, epoch: int) -> tuple[dict, list[dict]]:
        """One epoch: (its record, its steps' log)."""
        lr, frozen = set_epoch_rates(self.optimizer, self.recipe, epoch)
        self.model.train()
        if frozen:  # pysot keeps a frozen backbone's batch-norm statistics too
            self.model.backbone.eval()
        indices = rank_indices(self.recipe.pairs_per_epoch, self.recipe.batch_size, self.cluster.rank,
                               self.cluster.ranks)
        sums, count, steps, started = {}, 0, [], time.perf_counter()
        bar = tqdm(self.loader(epoch, indices), desc=f"train {self.variant} epoch {epoch + 1}/{self.recipe.epochs}",
                   unit="batch", disable=not self.cluster.main)
        device = self.cluster.device
        for batch in bar:
            template, search = to_input(batch.pop("template"), device), to_input(batch.pop("search"), device)
            values = self.optimize(template, search, {k: v.to(device) for k, v in batch.items()})
            if values is None:
                continue
            for k, v in values.items():
                sums[k] = sums.get(k, 0.0) + v
            count += 1
            steps.append({"step": self.step, "epoch": epoch + 1, "time": now_ms(), "lr": lr, **values})
            bar.set_postfix(loss=f"{values['total']:.3f}")
        seconds = time.perf_counter() - started
        record = {"epoch": epoch + 1, "step": self.step, "time": now_ms(), "lr": lr, "backbone_frozen": frozen,
                  "seconds": seconds, "skipped_steps": self.skipped,
                  "samples_per_second": len(indices) * self.cluster.ranks / seconds,
                  **{f"loss_{k}": v / max(count, 1) for k, v in sums.items()}}
        return record, steps

    def save(self, record: dict, steps: list[dict], run: tracking.RunLog) -> None:
        """Rank 0: the epoch's checkpoint, checkpoint.pt, train.json and steps, then its MLflow metrics."""
        run_folder.append_steps(self.folder / "steps.jsonl", steps)
        epoch_file = self.folder / f"checkpoint-e{record['epoch']:03d}.pt"
        save_checkpoint(epoch_file, self.model, epoch=record["epoch"], step=self.step, params_hash=self.digest,
                        git_commit=self.commit, optimizer=self.optimizer,
                        extra={"skipped_steps": self.skipped, "mlflow_run_id": run.run_id, "history": self.history})
        run_folder.link_atomic(epoch_file, self.folder / "checkpoint.pt")
        summary = {"variant": self.variant, "profile": self.train.profile, "ranks": self.cluster.ranks,
                   "precision": self.precision, "data": self.data, "epochs": self.history,
                   "skipped_steps": self.skipped, "final_loss": record.get("loss_total"), "params_hash": self.digest,
                   "mlflow_run_id": run.run_id}
        write_atomic(self.folder / "train.json", (json.dumps(summary, indent=1) + "\n").encode())
        # Sent after the checkpoint: a run killed mid-epoch and resumed logs each step once.
        log_epoch(run, steps, record, epoch_file, system_metrics(self.cluster.device))
        print(f"train: {self.variant} epoch {record['epoch']}/{self.recipe.epochs}: loss "
              f"{record.get('loss_total', float('nan')):.4f}, lr {record['lr']:.2e}, "
              f"{record['samples_per_second']:.1f} pairs/s on {self.cluster.ranks} rank(s)")

    def _open_run(self, context: tracking.RunContext | None) -> tracking.RunLog:
        """Rank 0's MLflow run (a resumed run continues its own), and the run folder made ready."""
        run = tracking.RunLog(
            self.params.mlflow, f"train-{self.variant}",
            {"variant": self.variant, "model": self.config, "recipe": dataclasses.asdict(self.recipe),
             "train": dataclasses.asdict(self.train), "data": self.data},
            tags={"variant": self.variant, "profile": self.train.profile, "ranks": self.cluster.ranks,
                  "precision": self.precision, "params_hash": self.digest}, run_id=self.mlflow_run_id, context=context)
        run_folder.truncate_steps(self.folder / "steps.jsonl", self.step)
        psutil.cpu_percent()  # the first epoch's CPU use counts from here
        if self.start_epoch:
            print(f"train: {self.variant}: resuming after epoch {self.start_epoch} (step {self.step}) from "
                  f"{run_folder.last_checkpoint(self.folder)}")
            log_missed_epochs(run, self.folder, self.history)
        else:  # the initial weights: evaluated as <variant>-untrained
            run_folder.remove_epochs(self.folder)
            save_checkpoint(self.folder / "checkpoint-e000.pt", self.model, epoch=0, step=0,
                            params_hash=self.digest, git_commit=self.commit)
        return run

    def fit(self, context: tracking.RunContext | None = None) -> dict:
        run = self._open_run(context) if self.cluster.main else None
        with run or contextlib.nullcontext():  # other ranks log nothing
            for epoch in range(self.start_epoch, self.recipe.epochs):
                record, steps = self.epoch(epoch)
                self.history.append(record)
                if self.cluster.main:
                    self.save(record, steps, run)
            if self.cluster.main:
                for path in (self.folder / "checkpoint.pt", self.folder / "train.json", self.folder / "steps.jsonl"):
                    run.artifact(path, "model" if path.suffix == ".pt" else None)
        return {"variant": self.variant, "epochs": self.history, "skipped_steps": self.skipped}
