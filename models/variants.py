"""The registry of tracker variants: a name and its model config, each variant a few deltas over another.

`build_model(name, **overrides)` builds one; `list_variants()` names them; `variant_config` checks a config
without importing torch (params.yaml's `variants:` section is checked with it). The SiamRPN++ Table 1 grid is
`siamrpnpp_r50` with overrides, e.g. build_model("siamrpnpp_r50", layers=(3, 4), corr="up").
"""
from __future__ import annotations

from models import ModelError
from models.kinds import KINDS

CHOICES = {
    "backbone": ("alexnet_siamfc", "alexnet", "resnet18", "resnet34", "resnet50", "mobilenetv2"),
    "corr": ("up", "dw"),
    "channel_rounding": ("nearest", "floor"),
    "shortcut_kernel": (1, 3),
}
STAGES = (3, 4, 5)  # SiamRPN++'s layer-wise aggregation chooses among conv3_x, conv4_x and conv5_x

_REGISTRY: dict[str, dict] = {}


def register(name: str, base: str | None = None, **deltas) -> None:
    _REGISTRY[name] = {**(_REGISTRY[base] if base else {}), **deltas}


# What the peers' released models build differently (models/convert.py imports them with these): ResNet's
# 3x3 projection shortcuts (pysot), MobileNetV2's truncated widths and always-present expansion (pysot).
BACKBONE_DEFAULTS = dict(shortcut_kernel=1, channel_rounding="nearest", expand_always=False)
register("siamfc_alexnet", head="siamfc", backbone="alexnet_siamfc", layers=(5,), width=1.0, pretrained="",
         **BACKBONE_DEFAULTS,
         radius=16.0,     # SiamFC section 4.1: positives within R = 16 px of the centre
         out_scale=1e-3)  # SiamFC's output scale; see models/heads.py
register("siamrpn_alexnet", head="siamrpn", backbone="alexnet", layers=(5,), width=1.0, pretrained="",
         **BACKBONE_DEFAULTS,
         corr="up",       # SiamRPN section 3.2: up-channel correlation
         neck_channels=0, template_crop=0, hidden=256,
         anchor_ratios=(0.33, 0.5, 1.0, 2.0, 3.0), anchor_scales=(8.0,),  # SiamRPN section 4.1
         integer_anchors=False,  # True: the released code's truncated anchor sides (models/targets.py)
         loc_adjust=False,       # DaSiamRPN's 1x1 convolution on the regression output
         pos_iou=0.6, neg_iou=0.3, positives=16, samples=64,              # SiamRPN section 3.4
         centre_cells=3,  # negative pairs: negatives sampled within 3 cells of the centre
         cls_weight=1.0, loc_weight=1.2)  # the classification / regression weights of pysot's SiamRPN++ configs
register("siamrpn_alexnet_dw", "siamrpn_alexnet", corr="dw")
# DaSiamRPN (Zhu et al. 2018) as released: SiamRPN's up-channel AlexNet with its regression adjustment; BIG
# doubles every width (its SiamRPNBIG).
register("dasiamrpn_alexnet", "siamrpn_alexnet", integer_anchors=True, loc_adjust=True)
register("dasiamrpn_alexnet_big", "dasiamrpn_alexnet", width=2.0)
# SiamRPN++ sections 3.2-3.4: ResNet-50 stages 3-5 through 1x1 necks to 256 channels, 7x7 template centre,
# depth-wise correlation, layer-wise aggregation.
register("siamrpnpp_r50", "siamrpn_alexnet", backbone="resnet50", layers=(3, 4, 5), corr="dw",
         neck_channels=256, template_crop=7)
register("siamrpnpp_r18", "siamrpnpp_r50", backbone="resnet18")
register("siamrpnpp_r34", "siamrpnpp_r50", backbone="resnet34")
register("siamrpnpp_mobilenetv2", "siamrpnpp_r50", backbone="mobilenetv2")
# pysot's released SiamRPN++ MobileNetV2 (siamrpn_mobilev2_l234_dwxcorr): width 1.4, its channel rule.
register("siamrpnpp_mobilenetv2_pysot", "siamrpnpp_mobilenetv2", width=1.4, channel_rounding="floor",
         expand_always=True, integer_anchors=True)
# SiamMask (Wang et al. 2019): ResNet-50 up to conv4_x (section 3.4), a 63 x 63 mask per position (section
# 3.2), the refinement module, and loss weights lambda_1 = 32 for the mask, 1 for the others (eq. 4).
register("siammask_r50", "siamrpnpp_r50", head="siammask", layers=(4,), mask_size=63, refine=True,
         cls_weight=1.0, loc_weight=1.0, mask_weight=32.0)


def list_variants() -> list[str]:
    return sorted(_REGISTRY)


def variant_config(name: str, **overrides) -> dict:
    """The variant's config with `overrides` applied and checked: an unknown name, key, type or value is a
    ModelError of one line that lists the valid ones."""
    if name not in _REGISTRY:
        raise ModelError(f"unknown variant {name!r} (variants: {', '.join(list_variants())})")
    config = dict(_REGISTRY[name])
    for key, value in overrides.items():
        if key not in config:
            raise ModelError(f"unknown override {key!r} for variant {name!r} (valid: {', '.join(sorted(config))})")
        if key == "head" and value != config["head"]:
            raise ModelError(f"{name}: the head is fixed by the variant; choose another variant "
                             f"({', '.join(list_variants())})")
        config[key] = _typed(name, key, value, config[key])
    for key, options in {"head": tuple(KINDS), **CHOICES}.items():
        if key in config and config[key] not in options:
            raise ModelError(f"{name}: {key} must be one of {', '.join(options)}, got {config[key]!r}")
    layers = config["layers"]
    allowed = (5,) if config["backbone"].startswith("alexnet") else STAGES
    if not layers or len(set(layers)) != len(layers) or not set(layers) <= set(allowed):
        raise ModelError(f"{name}: layers must be a non-empty subset of {set(allowed)} without repeats, got {list(layers)}")
    config["layers"] = tuple(sorted(layers))
    if config["width"] <= 0:
        raise ModelError(f"{name}: width must be positive, got {config['width']}")
    return config


def _typed(name: str, key: str, value, default):
    """`value` as the type of the default (int accepted for float, a list for a tuple), or a ModelError."""
    if isinstance(default, tuple):
        if isinstance(value, (list, tuple)):
            return tuple(_typed(name, key, v, default[0]) for v in value) if default else tuple(value)
    elif isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    elif isinstance(value, type(default)) and isinstance(value, bool) == isinstance(default, bool):
        return value
    kind = "a list" if isinstance(default, tuple) else type(default).__name__
    raise ModelError(f"{name}: {key} must be {kind}, got {type(value).__name__} {value!r}")


def build_model(name: str, **overrides):
    """The variant's network (models.siamese.Siamese), its config checked by variant_config."""
    from models.siamese import Siamese  # here, so that checking params does not import torch

    return Siamese(name, variant_config(name, **overrides))
