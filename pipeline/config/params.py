"""The only reader of params.yaml: typed, frozen dataclasses, one section per stage (pipeline/config/typed_yaml.py
does the reading and checking).

Every key must be present and of its declared type; an unknown or mistyped key fails with one line that
names it. `--set section.key=value` overrides are applied to the raw YAML before validation, so they are
checked the same way.
"""
from __future__ import annotations

import json
import typing
from pathlib import Path

from models import ModelError
from models.variants import list_variants, variant_config
from pipeline.config.schema import IDENTITY, UNTRAINED, Params, ReproParams
from pipeline.config.typed_yaml import ParamsError, apply_override, build, describe, read_yaml




def load_params(path: str | Path = "params.yaml", overrides: typing.Sequence[str] = ()) -> Params:
    path = Path(path)
    raw = read_yaml(path)
    # YAML anchors share one object between keys: a JSON round trip gives each its own, so that --set on
    # one key does not change another.
    raw = json.loads(json.dumps(raw))
    # Variants are completed after the other overrides (a --set train.profile picks the profile's deltas)
    # and before their own, so that --set reaches every key of a variant.
    variant_overrides = [o for o in overrides if o.startswith("variants.")]
    for override in overrides:
        if override not in variant_overrides:
            apply_override(raw, override, path)
    if isinstance(raw.get("variants"), dict):
        raw["variants"] = _variant_defaults(raw["variants"], _profile_deltas(raw, path), path)
    for override in variant_overrides:
        apply_override(raw, override, path)
    params = build(Params, raw, "", path)
    if params.train.profile not in params.train_profiles:
        raise ParamsError(f"{path}: train.profile {params.train.profile!r} is not in train_profiles "
                          f"({', '.join(params.train_profiles)})")
    _check_repro(params.repro, params, path)
    for name, config in params.variants.items():
        try:
            params.variants[name] = variant_config(name, **config)
        except ModelError as err:
            raise ParamsError(f"{path}: {err}") from None  # the message names the variant
    return params


def _check_repro(repro: ReproParams, params: Params, path: Path) -> None:
    """dvc repro's lists name variants it trains and benchmarks that exist."""
    unknown = [f"repro.train: {v!r} is not a variant" for v in repro.train if v not in params.variants]
    unknown += [f"repro.benchmarks: {b!r} is not in benchmarks" for b in repro.benchmarks if b not in params.benchmarks]
    unknown += [f"repro.untrained: {b!r} is not in repro.benchmarks" for b in repro.untrained
                if b not in repro.benchmarks]
    unknown += [problem for b in repro.benchmarks if b in params.benchmarks
                if (problem := missing_benchmark_root(params, b))]
    if unknown:
        raise ParamsError(f"{path}: {'; '.join(unknown)}")


def repro_cells(repro: ReproParams) -> dict[str, list[str]]:
    """The benchmarks of each tracker `dvc repro` evaluates (dvc.yaml's evaluate stages), in the main table's
    order: each trained variant, then its initial weights, and the identity tracker last."""
    cells = {}
    for variant in repro.train:
        cells[variant] = list(repro.benchmarks)
        if repro.untrained:
            cells[variant + UNTRAINED] = list(repro.untrained)
    cells[IDENTITY] = list(repro.benchmarks)
    return cells


def missing_benchmark_root(params: Params, benchmark: str) -> str | None:
    """A benchmark copy must be there before anything runs; synth writes the synthetic ones."""
    root = Path(params.benchmarks[benchmark].root)
    if root.is_dir() or root.is_relative_to(params.synth.out):
        return None
    return f"benchmarks.{benchmark}.root: {root} is not a folder"


def _profile_deltas(raw: dict, path: Path) -> tuple[str, dict]:
    """(where, deltas): the active training profile's variant deltas, or nothing if it is not there yet
    (validation then names what is missing)."""
    profile = raw.get("train", {}).get("profile") if isinstance(raw.get("train"), dict) else None
    profiles = raw.get("train_profiles")
    if not isinstance(profiles, dict) or not isinstance(profiles.get(profile), dict):
        return "", {}
    return f"train_profiles.{profile}.variants", profiles[profile].get("variants") or {}


def _variant_defaults(deltas: dict, profile: tuple[str, dict], path: Path) -> dict:
    """Each registered variant's config with params.yaml's deltas, then the profile's, over it, so that
    --set reaches every key."""
    where, profile_deltas = profile
    for section, layer in (("variants", deltas), (where, profile_deltas)):
        for name, delta in layer.items():
            if name not in list_variants():
                raise ParamsError(f"{path}: unknown variant {name!r} in section {section!r} "
                                  f"(registered: {', '.join(list_variants())})")
            if not isinstance(delta, dict):
                raise ParamsError(f"{path}: '{section}.{name}' must be a mapping, got {describe(delta)}")
    return {name: {**variant_config(name), **deltas.get(name, {}), **profile_deltas.get(name, {})}
            for name in list_variants()}
