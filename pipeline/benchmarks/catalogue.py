"""A benchmark by name: its spec in params.yaml (format, root, sequence list, protocol) checked and loaded, and
the tracker settings it runs with."""
from __future__ import annotations

from pathlib import Path

from pipeline.benchmarks.datasets import BenchmarkError, Sequence
from pipeline.benchmarks.loaders import LOADERS
from pipeline.benchmarks.protocols import PROTOCOLS, Protocol
from pipeline.common.errors import UserError
from models.kinds import head_kind
from pipeline.config.schema import IDENTITY, BenchmarkSpec, Params, base_variant


def protocol_of(name: str, spec: BenchmarkSpec) -> Protocol:
    if spec.protocol not in PROTOCOLS:
        raise UserError(f"benchmark {name}: unknown protocol {spec.protocol!r} ({', '.join(PROTOCOLS)})")
    return PROTOCOLS[spec.protocol]


def load_benchmark(name: str, spec: BenchmarkSpec) -> list[Sequence]:
    if spec.format not in LOADERS:
        raise UserError(f"benchmark {name}: unknown format {spec.format!r} ({', '.join(LOADERS)})")
    protocol_of(name, spec)
    if not Path(spec.root).is_dir():
        raise UserError(f"benchmark {name}: root {spec.root} is not a folder")
    try:
        return LOADERS[spec.format](Path(spec.root), Path(spec.sequences) if spec.sequences else None)
    except BenchmarkError as err:
        raise UserError(str(err)) from None


def tracker_settings(params: Params, benchmark: str, kind: str, released: dict | None = None) -> dict:
    """The trackers section for this kind, then the settings an imported checkpoint was released with
    (`released`, models/convert.py), then the benchmark's overrides."""
    return {**params.trackers.get(kind, {}), **(released or {}), **params.benchmarks[benchmark].trackers.get(kind, {})}


def kind_name(params: Params, variant: str) -> str:
    """The head kind of a tracker name (identity: no network), which names its `trackers:` section."""
    return head_kind(None if variant == IDENTITY else params.variants[base_variant(variant)]["head"]).name
