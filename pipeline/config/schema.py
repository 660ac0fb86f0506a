"""The schema of params.yaml: typed, frozen dataclasses, one section per stage (pipeline/config/params.py
loads them)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from models.kinds import KINDS
from pipeline.config.typed_yaml import ParamsError, build, check_section, join


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
    ytvos_videos: int
    ytvos_frames: int
    otb_sequences: int
    vot_sequences: int
    got10k_sequences: int
    lasot_sequences: int
    benchmark_frames: int
    davis_sequences: int
    davis_frames: int


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

    def problems(self) -> list[str]:
        # imported here: loading params (every command, the Snakefile) should not pay for cv2
        from models.geometry import EXEMPLAR_SIZE
        from pipeline.common.parallel import BACKENDS
        from pipeline.data.codecs import CODECS
        checks = {
            "backend": self.backend not in BACKENDS and f"must be one of {', '.join(BACKENDS)}",
            "image_backend": self.image_backend not in CODECS and f"must be one of {', '.join(CODECS)}",
            "search_size": self.search_size < EXEMPLAR_SIZE and f"must be at least the exemplar size {EXEMPLAR_SIZE}",
            "jpeg_quality": not 1 <= self.jpeg_quality <= 100 and "must be in 1..100",
            "shard_frames": self.shard_frames < 1 and "must be positive",
            "workers": self.workers < 1 and "must be positive",
            "preview_crops": self.preview_crops < 0 and "must not be negative",
        }
        return [f"{key}: {getattr(self, key)!r} {problem}" for key, problem in checks.items() if problem]


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


FIRST_FRAME_RULES = ("official", "as_written")  # score.first_frame (pipeline/benchmarks/protocols/ope.py)
DAVIS_DECAY_RULES = ("official", "exact")        # score.davis_decay (pipeline/benchmarks/metrics/davis.py)


@dataclass(frozen=True)
class ScoreParams:
    """python -m pipeline.score: metrics/<variant>/<benchmark>.json and plots."""
    out: str
    vot_burnin: int
    norm_precision: str
    eao: str
    invalid_gt: str
    first_frame: str
    davis_decay: str

    def problems(self) -> list[str]:
        checks = {"first_frame": self.first_frame not in FIRST_FRAME_RULES
                  and f"must be one of {', '.join(FIRST_FRAME_RULES)}",
                  "davis_decay": self.davis_decay not in DAVIS_DECAY_RULES
                  and f"must be one of {', '.join(DAVIS_DECAY_RULES)}"}
        return [f"{key}: {getattr(self, key)!r} {problem}" for key, problem in checks.items() if problem]


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

    def problems(self) -> list[str]:
        found = [f"{name} must be positive" for name in ("epochs", "pairs_per_epoch", "batch_size", "lr", "lr_end")
                 if getattr(self, name) <= 0]
        if self.warmup_epochs and self.warmup_lr <= 0:
            found.append("warmup_lr must be positive with a warm-up")
        if not 0 <= self.negative < 1:  # all-negative pairs teach no localisation: nothing to learn from
            found.append(f"negative must be in [0, 1) (the share of negative pairs; {self.negative} leaves no "
                         "positive pair)" if self.negative >= 1 else "negative must be in [0, 1)")
        if not 0 <= self.semantic_negative <= 1:
            found.append("semantic_negative must be in [0, 1]")
        if not any(d.weight > 0 for d in self.datasets.values()):
            found.append("datasets: no dataset with a positive weight, so no pair to train on")
        if any(d.weight < 0 for d in self.datasets.values()):
            found.append("datasets: a weight must not be negative")
        if self.warmup_epochs >= self.epochs and self.warmup_epochs:
            found.append("the warm-up must be shorter than the schedule")
        return found


@dataclass(frozen=True)
class TrainProfile:
    """A profile (demo, paper): a recipe per head kind (models/kinds.py; in params.yaml the kinds' names are
    keys of the profile, beside `variants`) and the model deltas that apply in it."""
    recipes: dict[str, Recipe]
    variants: dict[str, dict]

    @classmethod
    def from_yaml(cls, data, where: str, path: Path) -> "TrainProfile":
        """A training profile: one recipe for every head kind, under the kind's name, and `variants`."""
        check_section(data, [*KINDS, "variants"], where, path)
        return cls({kind: build(Recipe, data[kind], join(where, kind), path) for kind in KINDS},
                   build(dict[str, dict], data["variants"], join(where, "variants"), path))


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
    """What `dvc repro` trains, evaluates and scores: the lists that dvc.yaml's foreach and matrix read. Each
    variant of `train` and the identity tracker run on every benchmark of `benchmarks`, the variants' initial
    weights (<variant>-untrained) on those of `untrained`."""
    train: list[str]
    benchmarks: list[str]
    untrained: list[str]


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
class ParamGrid:
    """A grid that is a params entry alone: one cell per combination of its axes' values, an axis being a key of
    params.yaml (as --set takes it) and the values it takes, e.g. {variants.siamrpnpp_r18.corr: [up, dw]}."""
    variant: str
    axes: dict[str, list[str]]   # values as --set writes them: [up, dw], [0.1, 0.2], ["[3,4]", "[5]"]

    @classmethod
    def from_yaml(cls, data, where: str, path: Path) -> "ParamGrid":
        check_section(data, ["variant", "axes"], where, path)
        axes = build(dict[str, list], data["axes"], join(where, "axes"), path)
        if not axes or not all(axes.values()):
            raise ParamsError(f"{path}: {join(where, 'axes')!r} must map params keys to non-empty lists of values, "
                              "e.g. {variants.siamrpnpp_r18.corr: [up, dw]}")
        return cls(build(str, data["variant"], join(where, "variant"), path),  # values as --set writes them
                   {k: [v if isinstance(v, str) else json.dumps(v, separators=(",", ":")) for v in values]
                    for k, values in axes.items()})


@dataclass(frozen=True)
class AblationParams:
    """The Snakemake grids (pipeline/grids.py expands them into cells; make ablation runs them)."""
    out: str
    otb: str                 # the benchmark of the AUC column
    vot: str                 # the benchmark of the accuracy, failures and EAO columns
    set: list[str]           # overrides for every cell, as --set takes them
    fraction: FractionGrid
    layers: LayersGrid
    grids: dict[str, ParamGrid]   # more grids, each a params entry (pipeline/config/grids.py)


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
        return self.train_profiles[self.train.profile].recipes[self.variants[variant]["head"]]
