"""python -m pipeline.convert --format siamfc-pytorch|pysot|dasiamrpn [--config NAME] SRC --out DST.pt: import a
released checkpoint of a peer tracker as a siamflow checkpoint, which load_checkpoint rebuilds alone and which
carries the peer's test-time tracker settings (evaluate and track use them unless a benchmark's `trackers:`
overrides them).

python -m pipeline.convert --to onnx CHECKPOINT --out DIR: export a siamflow checkpoint's template and search
branches as ONNX (DIR/template.onnx, DIR/search.onnx), checked with onnxruntime against torch.

Peer models (--config; inferred from the keys when omitted): siamfc-pytorch alexnet; pysot siamrpn_alex_dwxcorr,
siamrpn_r50_l234_dwxcorr, siamrpn_mobilev2_l234_dwxcorr, siammask_r50_l3; dasiamrpn SiamRPNvot, SiamRPNotb,
SiamRPNBIG. Details: docs/models.md.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from pipeline import cli
from pipeline.common.errors import UserError
from pipeline.common.files import file_sha256


def import_checkpoint(src: str, fmt: str, config: str | None, out: str) -> dict:
    """Convert SRC and write DST atomically; returns what was converted (printed by main)."""
    from models.checkpoint import save_checkpoint
    from models.convert import convert
    result = convert(src, fmt, config)
    source = {"format": fmt, "config": result.config_name, "file": Path(src).name, "sha256": file_sha256(src),
              "unused_keys": result.unused}
    save_checkpoint(out, result.model, epoch=0, step=0, params_hash="", git_commit="",
                    extra={"source": source}, tracker=result.tracker)
    return {"variant": result.model.variant, "config": result.config_name, "unused": result.unused,
            "tensors": len(result.model.state_dict()), "tracker": result.tracker}


def export(checkpoint: str, out: str, search_size: int | None) -> float:
    """Write the ONNX pair and return onnxruntime's largest difference from torch on seeded noise crops."""
    from models.checkpoint import load_checkpoint
    from models.export import check_onnx, export_onnx
    model, saved = load_checkpoint(checkpoint)
    size = search_size or saved.get("tracker", {}).get("search_size", 255)
    paths = export_onnx(model, Path(out), size)
    rng = np.random.default_rng(0)
    template = rng.integers(0, 256, (127, 127, 3), dtype=np.uint8)
    search = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    return check_onnx(model, paths, template, search)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m pipeline.convert", description=__doc__.split("\n\n")[0],
                                     epilog="Peer models and their settings: docs/models.md")
    parser.add_argument("source", metavar="SRC", help="the peer's state dict (or a siamflow checkpoint with --to onnx)")
    parser.add_argument("--out", required=True, help="DST.pt (import) or a folder (--to onnx)")
    parser.add_argument("--format", choices=["siamfc-pytorch", "pysot", "dasiamrpn"], help="the source's layout")
    parser.add_argument("--config", help="the peer model (pysot: its experiments/<name>; dasiamrpn: its class)")
    parser.add_argument("--to", choices=["siamflow", "onnx"], default="siamflow", help="default: %(default)s")
    parser.add_argument("--search-size", type=int, help="ONNX search input side (default: the checkpoint's)")
    args = parser.parse_args()
    if args.to == "onnx":
        difference = export(args.source, args.out, args.search_size)
        print(f"convert: {args.source} -> {args.out}/template.onnx, search.onnx "
              f"(onnxruntime vs torch: max difference {difference:.2e})")
        return
    if args.format is None:
        raise UserError("--format is required to import a checkpoint (siamfc-pytorch, pysot or dasiamrpn)")
    done = import_checkpoint(args.source, args.format, args.config, args.out)
    unused = f"; {len(done['unused'])} source keys unused by the peer's tracker, not loaded " \
             f"({done['unused'][0]}, ...)" if done["unused"] else ""
    print(f"convert: {args.source} ({args.format} {done['config']}) -> {args.out}: variant {done['variant']}, "
          f"{done['tensors']} tensors{unused}; tracker {done['tracker']}")


if __name__ == "__main__":
    cli.run(main, "convert")
