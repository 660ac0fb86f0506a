"""Import the peers' released checkpoints: siamfc-pytorch, pysot and DaSiamRPN state dicts become siamflow
networks (a registered variant with a few config deltas, models/variants.py), with the test-time tracker
settings each peer ships (its config files and README; reference/peers/README.md lists them).

A peer model is a `PeerModel`: which variant it is, its key renames (ordered regular expressions), which of
its keys have no counterpart and are reported, and what it computes differently that the weights can absorb
(RGB input, another batch-norm epsilon). Every source key is used or reported, every network key is filled,
and the first key that does not fit is named.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from models import ModelError, load_tensors
from models.variants import build_model

FORMATS = ("siamfc-pytorch", "pysot", "dasiamrpn")
Rename = tuple[str, str | Callable[[re.Match], str]]


@dataclass(frozen=True)
class PeerModel:
    variant: str
    overrides: dict
    tracker: dict                 # the peer's test-time settings for this model
    renames: tuple[Rename, ...]
    unused: str = r"$^"           # source keys the peer's own tracker never reads (reported, not loaded)
    rgb: bool = False             # the network takes RGB; siamflow's take BGR (folded into the first conv)
    bn_eps: float = 1e-5          # the peer's batch-norm epsilon (siamfc-pytorch: 1e-6)
    identity: str = r"$^"         # our keys the peer has no layer for: left as identity batch norms
    own: str = r"$^"              # our keys the peer has no tensor for, whose initial values are the peer's

    def rename(self, key: str) -> str:
        for pattern, replacement in self.renames:
            key = re.sub(pattern, replacement, key)
        return key


_ALEXNET_INDEX = {1: 0, 2: 4, 3: 8, 4: 11, 5: 14}  # conv N -> its index in AlexNet.features (BN at +1)
_SIAMFC_PYTORCH = (
    (r"^backbone\.conv(\d)\.(\d)\.", lambda m: f"backbone.features.{_ALEXNET_INDEX[int(m[1])] + int(m[2])}."),)
_PYSOT_HEAD = (
    (r"^module\.", ""),
    (r"^neck\.downsample(\d)\.downsample\.", lambda m: f"neck.layers.{int(m[1]) - 2}."),
    (r"^neck\.downsample\.downsample\.", "neck.layers.0."),
    (r"^rpn_head\.rpn(\d)\.(cls|loc)\.", lambda m: f"head.{m[2]}.{int(m[1]) - 2}."),
    (r"^rpn_head\.(cls|loc)\.", r"head.\1.0."),
    (r"^rpn_head\.(cls|loc)_weight$", r"head.\1_weight"),
    (r"\.conv_kernel\.", ".template."),
    (r"\.conv_search\.", ".search."),
    (r"^refine_head\.v(\d)\.", lambda m: f"refine.lateral.{int(m[1]) + 1}."),
    (r"^refine_head\.h(\d)\.", lambda m: f"refine.top_down.{int(m[1]) + 1}."),
    (r"^refine_head\.post(\d)\.", lambda m: f"refine.fuse.{3 - int(m[1])}."),
    (r"^refine_head\.deconv\.", "refine.deconv."),
)
# pysot's MobileNetV2 numbers its blocks per group (layer1..7, of 1, 2, 3, 4, 3, 3, 1 blocks) and keeps each
# block's layers flat (1x1, BN, ReLU6, 3x3, BN, ReLU6, 1x1, BN); ours, torchvision's, run on and nest them.
_MOBILENET_FIRST_BLOCK = {1: 1, 2: 2, 3: 4, 4: 7, 5: 11, 6: 14, 7: 17}
_MOBILENET_LAYER = {"0": "0.0", "1": "0.1", "3": "1.0", "4": "1.1", "6": "2", "7": "3"}
_PYSOT_MOBILENET = (
    (r"^(module\.)?backbone\.layer0\.", "backbone.features.0."),
    (r"^(module\.)?backbone\.layer(\d)\.(\d+)\.conv\.(\d)\.",
     lambda m: f"backbone.features.{_MOBILENET_FIRST_BLOCK[int(m[2])] + int(m[3])}.conv.{_MOBILENET_LAYER[m[4]]}."),
)
_DASIAMRPN = (
    (r"^featureExtract\.", "backbone.features."),
    (r"^conv_r1\.", "head.loc.0.template."), (r"^conv_r2\.", "head.loc.0.search."),
    (r"^conv_cls1\.", "head.cls.0.template."), (r"^conv_cls2\.", "head.cls.0.search."),
    (r"^regress_adjust\.", "head.loc_adjust."),
)
PYSOT_RESNET = dict(shortcut_kernel=3, integer_anchors=True)


def _rpn(search_size: int, penalty_k: float, window_influence: float, size_lr: float, **more) -> dict:
    return dict(search_size=search_size, penalty_k=penalty_k, window_influence=window_influence, size_lr=size_lr,
                **more)


PEERS: dict[str, dict[str, PeerModel]] = {
    # siamfc-pytorch's defaults (its siamfc.py; SiamFC section 4.1); its conv5 has no batch norm.
    "siamfc-pytorch": {"alexnet": PeerModel(
        "siamfc_alexnet", {}, dict(search_size=255, scales=3, scale_step=1.0375, scale_penalty=0.9745,
                                   scale_lr=0.59, window_influence=0.176, upsample=16),
        _SIAMFC_PYTORCH, rgb=True, bn_eps=1e-6, identity=r"^backbone\.features\.15\.",
        own=r"^head\.(bias|scale)$")},  # no bias; the fixed 1e-3 output scale
    # pysot's experiments/<name>/config.yaml TRACK sections.
    "pysot": {
        "siamrpn_alex_dwxcorr": PeerModel("siamrpn_alexnet_dw", dict(integer_anchors=True),
                                          _rpn(287, 0.16, 0.40, 0.30), _PYSOT_HEAD),
        "siamrpn_r50_l234_dwxcorr": PeerModel("siamrpnpp_r50", PYSOT_RESNET, _rpn(255, 0.05, 0.42, 0.38),
                                              _PYSOT_HEAD),
        # Its MultiRPN is unweighted: the plain mean of the levels, our mixing weights' initial softmax(0).
        "siamrpn_mobilev2_l234_dwxcorr": PeerModel(
            "siamrpnpp_mobilenetv2_pysot", {}, _rpn(255, 0.04, 0.4, 0.5), _PYSOT_MOBILENET + _PYSOT_HEAD,
            own=r"^head\.(cls|loc)_weight$"),
        # The coarse 63 x 63 mask head is trained but pysot's tracker reads the refined mask only.
        "siammask_r50_l3": PeerModel("siammask_r50", PYSOT_RESNET,
                                     _rpn(255, 0.10, 0.41, 0.32, mask_threshold=0.15, mask_box=False),
                                     _PYSOT_HEAD, unused=r"^(module\.)?mask_head\.head\."),
    },
    # DaSiamRPN's code/net.py TrackerConfig updates (SiamRPNotb: code/test_otb.py, the SiamRPNvot network).
    "dasiamrpn": {
        "SiamRPNvot": PeerModel("dasiamrpn_alexnet", {}, _rpn(271, 0.04, 0.44, 0.45), _DASIAMRPN),
        "SiamRPNotb": PeerModel("dasiamrpn_alexnet", {}, _rpn(271, 0.22, 0.40, 0.30), _DASIAMRPN),
        "SiamRPNBIG": PeerModel("dasiamrpn_alexnet_big", {}, _rpn(271, 0.055, 0.42, 0.295), _DASIAMRPN),
    },
}


@dataclass
class Conversion:
    model: object                 # models.siamese.Siamese with the peer's weights
    tracker: dict
    config_name: str
    unused: list[str] = field(default_factory=list)   # source keys reported and not loaded


def read_state_dict(path: str | Path) -> dict:
    """A peer checkpoint's tensors: a plain state dict, or one under 'state_dict' / 'model' (pysot's training
    snapshots). A siamflow checkpoint, an unreadable file or non-tensor values are a one-line ModelError."""
    try:
        state = load_tensors(path)
    except FileNotFoundError:
        raise ModelError(f"{path}: checkpoint not found") from None
    except Exception as err:  # truncated zips, foreign pickles, random bytes: many exception types
        raise ModelError(f"{path}: not a readable PyTorch checkpoint ({type(err).__name__})") from None
    if isinstance(state, dict) and str(state.get("format", "")).startswith("siamflow-checkpoint"):
        raise ModelError(f"{path}: already a siamflow checkpoint (load it with load_checkpoint)")
    if isinstance(state, dict) and isinstance(state.get("state_dict", state.get("model")), dict):
        state = state.get("state_dict", state.get("model"))
    import torch
    if not isinstance(state, dict) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelError(f"{path}: not a state dict of tensors")
    return state


def infer_config(fmt: str, state: dict) -> str:
    """The peer model a state dict is, from its keys and shapes."""
    keys = {k.removeprefix("module.") for k in state}
    if fmt == "siamfc-pytorch":
        return "alexnet"
    if fmt == "dasiamrpn":
        first = state.get("featureExtract.0.weight")
        return "SiamRPNBIG" if first is not None and first.shape[0] == 192 else "SiamRPNvot"
    if any(k.startswith("refine_head.") for k in keys):
        return "siammask_r50_l3"
    if "backbone.layer7.0.conv.0.weight" in keys:
        return "siamrpn_mobilev2_l234_dwxcorr"
    if any(k.startswith("backbone.layer") for k in keys):
        return "siamrpn_r50_l234_dwxcorr"
    return "siamrpn_alex_dwxcorr"


def peer_model(fmt: str, config: str | None, state: dict, path) -> tuple[str, PeerModel]:
    if fmt not in PEERS:
        raise ModelError(f"unknown format {fmt!r} (formats: {', '.join(FORMATS)})")
    name = config or infer_config(fmt, state)
    if name not in PEERS[fmt]:
        raise ModelError(f"{path}: no {fmt} config {name!r} (configs: {', '.join(PEERS[fmt])})")
    return name, PEERS[fmt][name]


def convert(path: str | Path, fmt: str, config: str | None = None) -> Conversion:
    """The siamflow network of a peer checkpoint, or a ModelError of one line naming the file and the key."""
    state = read_state_dict(path)
    name, peer = peer_model(fmt, config, state, path)
    model = build_model(peer.variant, **peer.overrides)
    own = model.state_dict()
    unused = [k for k in state if re.search(peer.unused, k)]
    mapped = {peer.rename(k): v for k, v in state.items() if k not in unused}
    foreign = [k for k in state if k not in unused and peer.rename(k) not in own]
    if foreign:
        raise ModelError(f"{path}: key {foreign[0]!r} has no place in {fmt} {name} ({len(foreign)} such keys; "
                         f"a checkpoint of another format or config?)")
    for key, value in own.items():
        if key in mapped and mapped[key].shape != value.shape:
            source = next(k for k in state if peer.rename(k) == key)
            raise ModelError(f"{path}: key {source!r} has shape {tuple(mapped[key].shape)}, {fmt} {name} "
                             f"needs {tuple(value.shape)}")
    missing = [k for k in own if k not in mapped and not _fillable(k, peer)]
    if missing:
        raise ModelError(f"{path}: key for {missing[0]!r} missing ({len(missing)} network keys without a value "
                         f"in this {fmt} {name} checkpoint)")
    model.load_state_dict(_absorb(own | mapped, peer, model))
    return Conversion(model.eval(), dict(peer.tracker), name, unused)


def _fillable(key: str, peer: PeerModel) -> bool:
    # Batch-norm counters are not weights.
    return key.endswith("num_batches_tracked") or any(re.search(p, key) for p in (peer.identity, peer.own))


def _absorb(state: dict, peer: PeerModel, model) -> dict:
    """What the peer's network computes differently, folded into the weights."""
    import torch
    state = {k: v.clone() for k, v in state.items()}
    for key in list(state):
        if re.search(peer.identity, key):  # a layer the peer lacks: y = x
            default = {"weight": 1.0, "bias": 0.0, "running_mean": 0.0, "running_var": 1.0 - 1e-5}
            last = key.rsplit(".", 1)[1]
            if last in default:
                state[key] = torch.full_like(state[key], default[last])
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.BatchNorm2d) and not re.search(peer.identity, name + "."):
            # Same normalisation under our epsilon: var' + eps = var + eps_peer.
            state[f"{name}.running_var"] += peer.bn_eps - module.eps
    if peer.rgb:  # the network's RGB input channels read our BGR images in reverse order
        first = next(k for k in state if k.endswith("weight") and state[k].dim() == 4)
        state[first] = state[first].flip(1)
    return state
