"""Index stage: one common index per training dataset, from its raw annotations (pipeline/data/index.py
describes the files).

    python -m pipeline.index --dataset vid      # writes data/index/vid.* and metrics/index/vid.json
    python -m pipeline.index --summary          # prints the statistics of every indexed dataset
"""
from __future__ import annotations

import json
from pathlib import Path

from pipeline import cli, tracking
from pipeline.common.errors import UserError
from pipeline.common.files import write_atomic
from pipeline.common.tables import markdown_table
from pipeline.config.schema import DatasetSpec, IndexParams, MlflowParams
from pipeline.tracking import RunContext
from pipeline.data import index as dataset_index
from pipeline.data.sources import Skip


def run(name: str, spec: DatasetSpec, params: IndexParams, mlflow_params: MlflowParams | None = None,
        context: RunContext | None = None) -> dict:
    """Index dataset `name`; its statistics go to metrics/index/<name>.json and (with mlflow_params) MLflow."""
    meta, images, frames, polygons, stats, skipped = dataset_index.build(name, spec)
    listing = dataset_index.write(Path(params.out), name, meta, images, frames, polygons, skipped)
    write_atomic(Path(params.metrics) / f"{name}.json", (json.dumps(stats, indent=2) + "\n").encode())
    _report(stats, skipped, listing)
    if mlflow_params is not None:
        tracking.log_stage(mlflow_params, f"index-{name}", {"dataset": name, **vars(spec), **vars(params)}, stats,
                           [Path(params.metrics) / f"{name}.json", listing], {"dataset": name}, context=context)
    return stats


def _report(stats: dict, skipped: list[Skip], listing: Path) -> None:
    print(f"index {stats['dataset']}: {stats['videos']} videos, {stats['tracks']} tracks, "
          f"{stats['object_frames']} object-frames ({stats['absent']} absent), {stats['clipped']} boxes clipped")
    counted = {r: n for r, n in stats["skipped"].items() if n}
    if counted:
        print(f"index {stats['dataset']}: skipped " + ", ".join(f"{r} {n}" for r, n in counted.items())
              + f"; every item in {listing}")
        for reason in counted:
            for s in [s for s in skipped if s.reason == reason][:3]:
                print(f"  {reason}: {s.path} {s.detail}".rstrip())


def summary_table(metrics_dir: str | Path) -> str:
    """The statistics of every indexed dataset as a Markdown table."""
    files = sorted(Path(metrics_dir).glob("*.json"))
    if not files:
        raise UserError(f"{metrics_dir}: no index statistics yet (run: dvc repro)")
    rows = [json.loads(f.read_text()) for f in files]
    reasons = sorted({r for row in rows for r, n in row["skipped"].items() if n})
    columns = ["videos", "tracks", "object_frames", "absent", "images", "categories", "clipped"]
    header = ["dataset", *columns, *(f"skip:{r}" for r in reasons)]
    return markdown_table(header, [[row["dataset"], *(row[c] for c in columns),
                                        *(row["skipped"].get(r, 0) for r in reasons)] for row in rows])


def main() -> None:
    args, params, context = cli.dataset_stage_args(
        "pipeline.index", "Index a training dataset (datasets.<name> in params) into the common format, with "
        "counted skips.", "indexed")
    if args.summary:
        print(summary_table(params.index.metrics))
    else:
        run(args.dataset, params.datasets[args.dataset], params.index, params.mlflow, context)


if __name__ == "__main__":
    cli.run(main, "index")
