"""The only reader of params.yaml: typed, frozen dataclasses, one section per stage.

Every key must be present and of its declared type; an unknown or mistyped key fails with one line that
names it. `--set section.key=value` overrides are applied to the raw YAML before validation, so they are
checked the same way.
"""
from __future__ import annotations

import dataclasses
import json
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path

import yaml

from models import ModelError
from models.variants import list_variants, variant_config


class ParamsError(ValueError):
    """params.yaml (or an override) does not match the schema."""


@dataclass(frozen=True)
class SynthParams:
    """The synthetic world (pipeline/synth.py). Counts are videos, images or sequences."""
    out: str
    seed: int
    workers: int
    image_width: int
    image_height: int
    jpeg_quality: int
    vid_train_videos: int
    vid_val_videos: int
    vid_frames: int
    det_images: int
    coco_images: int
    ytbb_videos: int
    ytbb_timestamps: int
    otb_sequences: int
    vot_sequences: int
    got10k_sequences: int
    lasot_sequences: int
    benchmark_frames: int


@dataclass(frozen=True)
class DatasetSpec:
    """One training dataset: its raw format (which source adapter reads it), root folder and split."""
    format: str
    root: str
    split: str


@dataclass(frozen=True)
class IndexParams:
    out: str
    metrics: str


@dataclass(frozen=True)
class CurateParams:
    """Crops of every object-frame into LMDB shards (pipeline/curate.py)."""
    out: str
    metrics: str
    search_size: int
    jpeg_quality: int
    shard_frames: int
    backend: str
    workers: int
    ray_address: str
    image_backend: str
    preview_crops: int


@dataclass(frozen=True)
class BenchmarkSpec:
    """One benchmark: its layout (which loader reads it), root, an optional sequence-list file, protocol,
    VOT challenge year of its EAO interval, and tracker settings that differ from the `trackers` section."""
    format: str
    root: str
    sequences: str
    protocol: str
    eao_interval: str
    trackers: dict[str, dict]


@dataclass(frozen=True)
class EvaluateParams:
    """python -m pipeline.evaluate: trackers over benchmarks, results/<variant>/<benchmark>/."""
    results: str
    runs: str
    backend: str
    workers: int
    device: str
    vot_skip: int
    vot_repetitions: int


@dataclass(frozen=True)
class ScoreParams:
    """python -m pipeline.score: metrics/<variant>/<benchmark>.json and plots."""
    out: str
    vot_burnin: int
    norm_precision: str
    eao: str
    invalid_gt: str


@dataclass(frozen=True)
class CropAugment:
    """One training crop's augmentation (pipeline/augment.py): shift in output px, each axis uniform in
    [-shift, shift]; scale: the side times 1 + uniform(-scale, scale); blur, flip, colour: probabilities."""
    shift: float
    scale: float
    blur: float
    flip: float
    colour: float


@dataclass(frozen=True)
class TrainDataset:
    """A curated dataset in a training mix: its share of the pairs and the largest template-search frame gap."""
    weight: float
    frame_range: int


@dataclass(frozen=True)
class Recipe:
    """How one head kind trains in a profile: the dataset mix and the schedule (pipeline/train.py)."""
    datasets: dict[str, TrainDataset]
    negative: float          # p_neg, the share of negative pairs
    semantic_negative: float  # of those, the share from another object of the same category (DaSiamRPN)
    epochs: int
    pairs_per_epoch: int
    batch_size: int          # per rank
    lr: float                # after the warm-up, annealed geometrically to lr_end at the last epoch
    lr_end: float
    warmup_epochs: int
    warmup_lr: float         # the first epoch's rate, rising geometrically to lr over the warm-up
    freeze_backbone_epochs: int
    backbone_lr: float       # the backbone's rate multiplier once it trains
    momentum: float
    weight_decay: float
    grad_clip: float         # max gradient norm; 0: none


@dataclass(frozen=True)
class TrainProfile:
    """A profile (demo, paper): a recipe per head kind and the model deltas that apply in it."""
    siamfc: Recipe
    rpn: Recipe
    mask: Recipe
    variants: dict[str, dict]


@dataclass(frozen=True)
class TrainParams:
    """python -m pipeline.train (or under torchrun): pairs from the shards, one loop, runs/<variant>/."""
    profile: str
    runs: str
    seed: int
    fraction: float
    loader_workers: int
    device: str
    amp: bool
    search_size: int
    gray: float
    template: CropAugment
    search: CropAugment


@dataclass(frozen=True)
class MlflowParams:
    tracking_uri: str
    experiment: str
    outbox: str


IDENTITY = "identity"      # the tracker without a network: every frame keeps the first box
UNTRAINED = "-untrained"  # <variant>-untrained: the variant's initial weights, runs/<variant>/checkpoint-e000.pt


def base_variant(tracker: str) -> str:
    return tracker.removesuffix(UNTRAINED)


@dataclass(frozen=True)
class ReproParams:
    """What `dvc repro` trains, evaluates and scores: the lists that dvc.yaml's foreach and matrix read."""
    train: list[str]
    evaluate: list[str]
    benchmarks: list[str]


@dataclass(frozen=True)
class ReportParams:
    """python -m pipeline.report: Markdown tables and plots from the MLflow store."""
    out: str


@dataclass(frozen=True)
class FractionGrid:
    """SiamFC Table 3: one cell per share of the training videos (nested subsets)."""
    variant: str
    fractions: list[float]


@dataclass(frozen=True)
class LayersGrid:
    """SiamRPN++ Table 1: one cell per backbone layer set x correlation x finetuning."""
    variant: str
    layers: list[list[int]]
    corr: list[str]
    finetune: list[bool]


@dataclass(frozen=True)
class AblationParams:
    """The Snakemake grids (pipeline/grids.py expands them into cells; make ablation runs them)."""
    out: str
    otb: str                 # the benchmark of the AUC column
    vot: str                 # the benchmark of the accuracy, failures and EAO columns
    set: list[str]           # overrides for every cell, as --set takes them
    fraction: FractionGrid
    layers: LayersGrid


@dataclass(frozen=True)
class Params:
    synth: SynthParams
    datasets: dict[str, DatasetSpec]
    index: IndexParams
    curate: CurateParams
    mlflow: MlflowParams
    benchmarks: dict[str, BenchmarkSpec]
    trackers: dict[str, dict]
    evaluate: EvaluateParams
    score: ScoreParams
    train: TrainParams
    train_profiles: dict[str, TrainProfile]
    repro: ReproParams
    ablation: AblationParams
    report: ReportParams
    # Every registered variant's full model config: the registry's defaults, then params.yaml's deltas, then
    # the active training profile's deltas, then --set overrides (models/variants.py checks them).
    variants: dict[str, dict]

    def recipe(self, variant: str) -> Recipe:
        """The active profile's training recipe for a variant (by its head kind)."""
        return getattr(self.train_profiles[self.train.profile], self.variants[variant]["head"])


def load_params(path: str | Path = "params.yaml", overrides: typing.Sequence[str] = ()) -> Params:
    path = Path(path)
    try:
        raw = _safe_load_unique(path.read_text())
    except FileNotFoundError:
        raise ParamsError(f"{path}: file not found") from None
    except UnicodeDecodeError as err:
        raise ParamsError(f"{path}: not a UTF-8 text file ({err.reason} at byte {err.start})") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ParamsError(f"{path}:{where} not valid YAML ({_yaml_problem(err)})") from None
    if not isinstance(raw, dict):
        raise ParamsError(f"{path}: expected a mapping of sections at the top level")
    # YAML anchors share one object between keys: a JSON round trip gives each its own, so that --set on
    # one key does not change another.
    raw = json.loads(json.dumps(raw))
    # Variants are completed after the other overrides (a --set train.profile picks the profile's deltas)
    # and before their own, so that --set reaches every key of a variant.
    variant_overrides = [o for o in overrides if o.startswith("variants.")]
    for override in overrides:
        if override not in variant_overrides:
            _apply_override(raw, override, path)
    if isinstance(raw.get("variants"), dict):
        raw["variants"] = _variant_defaults(raw["variants"], _profile_deltas(raw, path), path)
    for override in variant_overrides:
        _apply_override(raw, override, path)
    params = _build(Params, raw, "", path)
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
    """dvc repro's lists name variants it trains, trackers it can evaluate and benchmarks that exist."""
    unknown = [f"repro.train: {v!r} is not a variant" for v in repro.train if v not in params.variants]
    unknown += [f"repro.evaluate: {v!r} is not {IDENTITY} or a variant of repro.train (or one with {UNTRAINED})"
                for v in repro.evaluate if v != IDENTITY and base_variant(v) not in repro.train]
    unknown += [f"repro.benchmarks: {b!r} is not in benchmarks" for b in repro.benchmarks if b not in params.benchmarks]
    unknown += [problem for b in repro.benchmarks if b in params.benchmarks
                if (problem := missing_benchmark_root(params, b))]
    if unknown:
        raise ParamsError(f"{path}: {'; '.join(unknown)}")


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
                raise ParamsError(f"{path}: '{section}.{name}' must be a mapping, got {_describe(delta)}")
    return {name: {**variant_config(name), **deltas.get(name, {}), **profile_deltas.get(name, {})}
            for name in list_variants()}


def _apply_override(raw: dict, override: str, path: Path) -> None:
    key, sep, value = override.partition("=")
    if not sep or not key:
        raise ParamsError(f"--set {override!r}: expected section.key=value")
    *parents, leaf = key.split(".")
    node = raw
    for part in parents:
        if not isinstance(node.get(part), dict):
            raise ParamsError(f"--set {override!r}: {path} has no section {key.rsplit('.', 1)[0]!r}")
        node = node[part]
    if leaf not in node:
        raise ParamsError(f"--set {override!r}: unknown key {key!r} in {path}")
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError as err:  # an unclosed bracket, or a tag such as !!python/object that safe_load refuses
        raise ParamsError(f"--set {override!r}: the value is not valid YAML ({_yaml_problem(err)})") from None
    # YAML 1.1 reads 1e-3 (no dot) as a string; on the command line it means the number.
    if isinstance(parsed, str) and re.fullmatch(r"[-+]?\d+(\.\d*)?[eE][-+]?\d+", parsed):
        parsed = float(parsed)
    node[leaf] = parsed


def _build(cls, data, where: str, path: Path):
    """Validate `data` against type `cls`; `where` is the dotted key for messages."""
    origin = typing.get_origin(cls)
    if dataclasses.is_dataclass(cls):
        if not isinstance(data, dict):
            raise ParamsError(f"{path}: {where or 'top level'} must be a mapping, got {_describe(data)}")
        hints = typing.get_type_hints(cls)
        names = [f.name for f in dataclasses.fields(cls)]
        section = where or "top level"
        for key in data:
            if key not in hints:
                raise ParamsError(f"{path}: unknown key {_join(where, key)!r} in section {section!r} "
                                  f"(known: {', '.join(names)})")
        for name in names:
            if name not in data:
                raise ParamsError(f"{path}: missing key {_join(where, name)!r} in section {section!r}")
        return cls(**{name: _build(hints[name], data[name], _join(where, name), path) for name in names})
    if origin is dict:
        key_type, value_type = typing.get_args(cls)
        if not isinstance(data, dict):
            raise ParamsError(f"{path}: {where!r} must be a mapping, got {_describe(data)}")
        return {_build(key_type, k, where, path): _build(value_type, v, _join(where, str(k)), path)
                for k, v in data.items()}
    if origin is list:
        (item_type,) = typing.get_args(cls)
        if not isinstance(data, list):
            raise ParamsError(f"{path}: {where!r} must be a list, got {_describe(data)}")
        return [_build(item_type, v, f"{where}[{i}]", path) for i, v in enumerate(data)]
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(cls)
        if data is None and type(None) in options:
            return None
        (inner,) = [t for t in options if t is not type(None)]
        return _build(inner, data, where, path)
    if cls is float and isinstance(data, int) and not isinstance(data, bool):
        return float(data)
    # bool is a subclass of int: `seed: yes` must not pass as an int.
    if isinstance(data, cls) and not (cls is int and isinstance(data, bool)):
        return data
    raise ParamsError(f"{path}: {where!r} must be {cls.__name__}, got {_describe(data)}")


class _UniqueKeyLoader(yaml.SafeLoader):
    """yaml.safe_load's loader, except that a key given twice in one mapping is an error: PyYAML keeps the
    last one without a word, and a forgotten earlier line would silently not apply."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                key = self.construct_object(key_node)
                if key in seen:
                    raise yaml.constructor.ConstructorError(None, None, f"key {key!r} given twice",
                                                            key_node.start_mark)
                seen.add(key)
        return super().construct_mapping(node, deep)


def _safe_load_unique(text: str):
    loader = _UniqueKeyLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def _yaml_problem(err: yaml.YAMLError) -> str:
    """The problem in one line (a YAMLError's own text goes on with the position on further lines)."""
    return getattr(err, "problem", None) or str(err).splitlines()[0]


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _describe(value) -> str:
    return f"{type(value).__name__} {value!r}"
