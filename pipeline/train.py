"""python -m pipeline.train --variant V [--resume [auto]]: train a variant on pairs from the curated shards.

One loop for every variant (pipeline/training/trainer.py). Under `torchrun --nproc_per_node=K -m
pipeline.train --variant V` it runs DDP (gloo on CPU, nccl on CUDA; several nodes through torchrun's
rendezvous). Rank 0 writes runs/V/checkpoint.pt after every epoch (and checkpoint-eNNN.pt), train.json and
steps.jsonl, and logs the same to MLflow when a tracking URI is set. `--resume` continues at the newest
checkpoint with the same weights, optimizer state, learning rate and pairs as a run that was never
interrupted; `--resume auto` (what dvc repro runs) starts again instead where that checkpoint was made with
other params, data or code.
"""
from __future__ import annotations

from pipeline import cli
from pipeline.common.errors import UserError
from pipeline.config.schema import Params
from pipeline.tracking import RunContext
from pipeline.training.distributed import Distributed
from pipeline.training.trainer import RESUME, Trainer


def run(variant: str, params: Params, resume: str | bool | None = None, context: RunContext | None = None) -> dict:
    """Train `variant`; resume: None (a new run), "strict" (or True) or "auto" (see the module's text)."""
    cluster = Distributed(params.train.device)
    try:
        return Trainer(variant, params, cluster, "strict" if resume is True else resume or None).fit(context)
    finally:
        cluster.close()


def main() -> None:
    parser = cli.stage_parser("pipeline.train", __doc__.split("\n\n")[0])
    parser.add_argument("--variant", required=True, help="a registered variant (params.yaml variants)")
    parser.add_argument("--resume", nargs="?", const="strict", choices=RESUME,
                        help="continue from the newest <train.runs>/<variant>/checkpoint-eNNN.pt if there is one; "
                             "'auto': start again where it was made with other params, data or code")
    args = parser.parse_args()
    params, context = cli.params_from_args(args)
    if args.variant not in params.variants:
        raise UserError(f"unknown variant {args.variant!r} ({', '.join(params.variants)})")
    run(args.variant, params, args.resume, context)


if __name__ == "__main__":
    cli.run(main, "train")
