"""The synthetic world: small datasets written in the exact raw formats of the real ones.

Textured objects of a few categories move over textured, panning backgrounds with scale and aspect
change, partial and full occlusion, leaving the view, same-category distractors, motion blur and
illumination change. From one seed it writes, byte for byte the same whatever the worker count:

  ILSVRC2015/   ImageNet VID 2015 (train + val) and ImageNet DET 2015 (train)
  coco/         COCO 2017 train (instances JSON with polygon and crowd RLE segmentations)
  youtube_bb/   YouTube-BB detection CSV and frames in the layout of youtube-bb-utility
  benchmarks/   synth-otb, synth-vot, synth-got10k, synth-lasot in the benchmarks' own layouts

Every video draws its randomness from (seed, dataset, video index) alone. pipeline/world writes it.

    python -m pipeline.synth [--out DIR]
"""
from __future__ import annotations

from pathlib import Path

from pipeline import cli, tracking, world
from pipeline.config.schema import Params
from pipeline.tracking import RunContext


def run(params: Params, out: str | None = None, context: RunContext | None = None) -> Path:
    """Write the world into `out` (default synth.out) and log the stage's run."""
    p = params.synth
    written = world.run(p, out)
    print(f"synth: wrote {written} (seed {p.seed})")
    tracking.log_stage(params.mlflow, "synth", vars(p), {}, [], context=context)
    return written


def main() -> None:
    parser = cli.stage_parser("pipeline.synth", "Write the synthetic world (raw formats of VID, DET, COCO, "
                                                "YouTube-BB and the benchmark sets), deterministic from synth.seed.")
    parser.add_argument("--out", help="output folder (default: synth.out in params)")
    args = parser.parse_args()
    params, context = cli.params_from_args(args)
    run(params, args.out, context)


if __name__ == "__main__":
    cli.run(main, "synth")
