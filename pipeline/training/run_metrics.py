"""What rank 0 sends to the run's MLflow log: per-step losses, per-epoch summaries, system metrics."""
from __future__ import annotations

import json
import time
from pathlib import Path

import psutil
import torch

from pipeline.tracking import RunLog


def now_ms() -> int:
    return int(time.time() * 1000)


def log_epoch(run: RunLog, steps: list[dict], record: dict, epoch_file: Path, system: dict) -> None:
    """An epoch's step metrics and summary, at the times recorded with them (sent twice, they count once)."""
    run.history([(s["step"], {k: v for k, v in s.items() if k not in ("step", "epoch", "time")}, s["time"])
                 for s in steps])
    summary = {"epoch": record["epoch"], "epoch_seconds": record["seconds"], "skipped_steps": record["skipped_steps"],
               **{k: v for k, v in record.items() if k.startswith(("loss_", "samples_"))}}
    run.history([(record["step"], summary | system, record["time"])])
    run.artifact(epoch_file, "checkpoints")


def log_missed_epochs(run: RunLog, folder: Path, history: list[dict]) -> None:
    """Epochs whose checkpoint was written but whose metrics a kill kept from the run: sent on resume."""
    logged = run.logged_steps("epoch")
    missed = [record for record in history if record["step"] not in logged]
    if missed:
        steps = [json.loads(line) for line in (folder / "steps.jsonl").read_text().splitlines()]
        for record in missed:
            log_epoch(run, [s for s in steps if s["epoch"] == record["epoch"]], record,
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
