"""Backbones: each maps an image batch to a dict {stage: feature map} and exposes `out_channels` (per stage)
and `stride` (of the stages the heads use, 8 for all of them).

Stages are numbered as in the ResNet paper: 1 = conv1, 2 = conv2_x, ..., 5 = conv5_x; SiamRPN++'s layer
subsets {3, 4, 5} are these stage numbers. AlexNet has one stage, 5. Every stride-2 convolution is
unpadded so that a 127 template and a 255 search image give centred, odd-sized maps (15 and 31 at stage 3 for
ResNet and MobileNetV2, as in SiamRPN++ section 3.2), and a map cell p of an n-cell map is centred on
input pixel (size / 2) + stride * (p - (n - 1) / 2).
"""
from __future__ import annotations

from pathlib import Path

from torch import nn

from models import ModelError, load_tensors


def _conv_bn(in_channels: int, out_channels: int, kernel: int, stride: int = 1, groups: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(in_channels, out_channels, kernel, stride, groups=groups), nn.BatchNorm2d(out_channels)]


def _scaled(channels: int, width: float, multiple: int = 1, rounding: str = "nearest") -> int:
    """A channel count scaled by the width multiplier: rounded to a multiple (at least one multiple), or with
    rounding "floor" truncated as pysot does (int(c * width): 44 channels for 32 at width 1.4)."""
    if rounding == "floor":
        return int(channels * width)
    return max(multiple, multiple * round(channels * width / multiple))


class AlexNet(nn.Module):
    """The AlexNet of SiamFC (Bertinetto et al. 2016, Table 1): five convolutions without padding, max-pooling
    after conv1 and conv2, batch norm after every convolution (section 4.1), ReLU after every layer but conv5;
    127 -> 6 x 6, 255 -> 22 x 22, stride 8. SiamFC keeps AlexNet's two groups in conv2, conv4 and conv5
    (`groups=2`, the table's channel counts); SiamRPN removes them (Li et al. 2018, section 3.2: `groups=1`).

    `width` scales every channel count (1.0 is the paper's), so that small models train on a CPU.
    """
    stride = 8

    def __init__(self, width: float = 1.0, groups: int = 2):
        super().__init__()
        c1, c2, c3, c4, c5 = (_scaled(c, width, multiple=groups) for c in (96, 256, 384, 384, 256))
        self.features = nn.Sequential(
            *_conv_bn(3, c1, 11, stride=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
            *_conv_bn(c1, c2, 5, groups=groups), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
            *_conv_bn(c2, c3, 3), nn.ReLU(inplace=True),
            *_conv_bn(c3, c4, 3, groups=groups), nn.ReLU(inplace=True),
            *_conv_bn(c4, c5, 3, groups=groups),
        )
        self.out_channels = {5: c5}

    def forward(self, images):
        return {5: self.features(images)}


def _conv3x3(in_channels: int, out_channels: int, stride: int, dilation: int, groups: int = 1) -> nn.Conv2d:
    padding = 0 if stride > 1 else dilation  # stride 2 unpadded: see the module docstring
    return nn.Conv2d(in_channels, out_channels, 3, stride, padding, dilation, groups=groups, bias=False)


def _shortcut(in_channels: int, out_channels: int, stride: int, dilation: int, kernel: int) -> nn.Sequential:
    """The projection shortcut of a stage's first block: torchvision's 1x1, or pysot's 3x3 (its resnet_atrous,
    in conv3_x to conv5_x), unpadded when strided and dilated like the block's own 3x3 otherwise."""
    if kernel == 1:
        conv = nn.Conv2d(in_channels, out_channels, 1, stride, bias=False)
    else:
        conv = _conv3x3(in_channels, out_channels, stride, dilation)
    return nn.Sequential(conv, nn.BatchNorm2d(out_channels))


def _shortcut_input(x, shortcut: nn.Sequential, stride: int):
    # An unpadded stride-2 3x3 convolution is centred on input pixels 1, 3, 5, ...; a stride-2 1x1 shortcut
    # on the input without its border samples exactly those pixels, so the two branches stay aligned.
    return x[..., 1:-1, 1:-1] if stride > 1 and shortcut[0].kernel_size == (1, 1) else x


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_channels, planes, stride=1, dilation=1, downsample=None):
        super().__init__()
        self.conv1, self.bn1 = _conv3x3(in_channels, planes, stride, dilation), nn.BatchNorm2d(planes)
        self.conv2, self.bn2 = _conv3x3(planes, planes, 1, dilation), nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample, self.stride = downsample, stride

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(_shortcut_input(x, self.downsample, self.stride))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, in_channels, planes, stride=1, dilation=1, downsample=None):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(in_channels, planes, 1, bias=False), nn.BatchNorm2d(planes)
        self.conv2, self.bn2 = _conv3x3(planes, planes, stride, dilation), nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample, self.stride = downsample, stride

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(_shortcut_input(x, self.downsample, self.stride))
        return self.relu(out + identity)


RESNETS = {18: (BasicBlock, (2, 2, 2, 2)), 34: (BasicBlock, (3, 4, 6, 3)), 50: (Bottleneck, (3, 4, 6, 3))}


class ResNet(nn.Module):
    """ResNet-18/34/50 modified as in SiamRPN++ (Li et al. 2019, section 3.2): conv4_x and conv5_x with unit
    stride and dilation 2 and 4, so that stages 3, 4 and 5 all have stride 8. conv1 is unpadded (127 -> 61),
    which with the unpadded stride-2 conv3_x gives the 15 x 15 template map the paper reports.

    Module names follow torchvision's, so its ImageNet weights load (see load_pretrained). Only the stages up
    to `last_stage` are built. A dilated stage's first block keeps the previous dilation, as torchvision's
    replace_stride_with_dilation does.
    """
    stride = 8

    def __init__(self, depth: int = 50, width: float = 1.0, last_stage: int = 5, shortcut_kernel: int = 1):
        super().__init__()
        block, counts = RESNETS[depth]
        stem = _scaled(64, width)
        self.conv1 = nn.Conv2d(3, stem, 7, 2, bias=False)
        self.bn1, self.relu, self.maxpool = nn.BatchNorm2d(stem), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1)
        self.out_channels = {1: stem}
        self.last_stage = last_stage
        in_channels, dilation = stem, 1
        for stage, (count, planes, stride) in enumerate(zip(counts, (64, 128, 256, 512), (1, 2, 2, 2)), start=2):
            if stage > last_stage:
                break
            first_dilation = dilation
            if stage >= 4:  # SiamRPN++ section 3.2: unit stride, dilation 2 (conv4_x) and 4 (conv5_x)
                dilation, stride = dilation * stride, 1
            planes = _scaled(planes, width)
            out = planes * block.expansion
            downsample = None
            if stride != 1 or in_channels != out:
                downsample = _shortcut(in_channels, out, stride, first_dilation, shortcut_kernel if stage > 2 else 1)
            blocks = [block(in_channels, planes, stride, first_dilation, downsample)]
            blocks += [block(out, planes, 1, dilation) for _ in range(count - 1)]
            setattr(self, f"layer{stage - 1}", nn.Sequential(*blocks))
            self.out_channels[stage] = in_channels = out

    def forward(self, images):
        x = self.relu(self.bn1(self.conv1(images)))
        stages = {1: x}
        x = self.maxpool(x)
        for stage in range(2, self.last_stage + 1):
            x = stages[stage] = getattr(self, f"layer{stage - 1}")(x)
        return stages


class InvertedResidual(nn.Module):
    """MobileNetV2's block (Sandler et al. 2018, Table 1): 1x1 expansion, 3x3 depth-wise, linear 1x1 projection."""

    def __init__(self, in_channels, out_channels, stride, dilation, expansion, expand_always: bool = False):
        super().__init__()
        hidden = in_channels * expansion
        # The paper's t = 1 block has no expansion; pysot's always has the 1x1 (`expand_always`).
        expand = expansion != 1 or expand_always
        layers = [_conv_bn_relu6(nn.Conv2d(in_channels, hidden, 1, bias=False))] if expand else []
        layers += [_conv_bn_relu6(_conv3x3(hidden, hidden, stride, dilation, groups=hidden)),
                   nn.Conv2d(hidden, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels)]
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and in_channels == out_channels

    def forward(self, x):
        return x + self.conv(x) if self.residual else self.conv(x)


def _conv_bn_relu6(conv: nn.Conv2d) -> nn.Sequential:
    return nn.Sequential(conv, nn.BatchNorm2d(conv.out_channels), nn.ReLU6(inplace=True))


# MobileNetV2 (Sandler et al. 2018, Table 2): expansion t, channels c, repeats n, stride s; and the stage
# (numbered by output stride, as ResNet's) that each group of blocks ends.
MOBILENET_V2 = [(1, 16, 1, 1, 1), (6, 24, 2, 2, 2), (6, 32, 3, 2, 3), (6, 64, 4, 2, None), (6, 96, 3, 1, 4),
                (6, 160, 3, 2, None), (6, 320, 1, 1, 5)]


class MobileNetV2(nn.Module):
    """MobileNetV2 as SiamRPN++'s fast variant: the strides after stage 3 (stride 8) become dilations, and the
    outputs of the 32-, 96- and 320-channel groups are stages 3, 4 and 5. Channels are scaled by `width` and
    rounded to multiples of 8 as in the paper's width multiplier (or truncated, `channel_rounding="floor"`, as
    pysot's width-1.4 model). Names follow torchvision's `features.N`."""
    stride = 8

    def __init__(self, width: float = 1.0, last_stage: int = 5, channel_rounding: str = "nearest",
                 expand_always: bool = False):
        super().__init__()
        stem = _scaled(32, width, 8, channel_rounding)
        layers = [_conv_bn_relu6(nn.Conv2d(3, stem, 3, 2, bias=False))]
        self.out_channels, self.stage_ends = {}, {}
        in_channels, stride_so_far, dilation = stem, 2, 1
        for expansion, channels, repeats, stride, stage in MOBILENET_V2:
            first_dilation = dilation
            if stride_so_far * stride > self.stride:
                dilation, stride = dilation * stride, 1
            stride_so_far *= stride
            out = _scaled(channels, width, 8, channel_rounding)
            for i in range(repeats):
                layers.append(InvertedResidual(in_channels, out, stride if i == 0 else 1,
                                               first_dilation if i == 0 else dilation, expansion, expand_always))
                in_channels = out
            if stage is not None:
                self.out_channels[stage], self.stage_ends[stage] = out, len(layers) - 1
            if stage == last_stage:
                break
        self.features = nn.Sequential(*layers)

    def forward(self, images):
        stages, x = {}, images
        ends = {end: stage for stage, end in self.stage_ends.items()}
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in ends:
                stages[ends[i]] = x
        return stages


def load_pretrained(backbone: nn.Module, path: str | Path) -> None:
    """Load ImageNet weights from a state-dict file (torchvision's names; a 'state_dict' or 'model' entry and a
    'module.' prefix are accepted). Keys the backbone lacks (the classifier) are ignored; a backbone key missing
    from the file or of another shape is a ModelError naming the file. Nothing is downloaded."""
    try:
        state = load_tensors(path)
    except FileNotFoundError:
        raise ModelError(f"{path}: pretrained weights file not found") from None
    except Exception as err:  # a corrupt or non-tensor file: unpickling or zip errors of many kinds
        raise ModelError(f"{path}: not a PyTorch state dict ({type(err).__name__})") from None
    if isinstance(state, dict):
        state = state.get("state_dict", state.get("model", state))
    if not isinstance(state, dict):
        raise ModelError(f"{path}: expected a state dict, got {type(state).__name__}")
    state = {k.removeprefix("module."): v for k, v in state.items()}
    own = backbone.state_dict()
    # Old torchvision files predate BatchNorm's counter; it is not a weight.
    missing = [k for k in own if k not in state and not k.endswith("num_batches_tracked")]
    mismatched = [f"{k} {tuple(state[k].shape)} in the file, {tuple(v.shape)} in the model"
                  for k, v in own.items() if k in state and state[k].shape != v.shape]
    if missing or mismatched:
        problems = []
        if missing:
            problems.append(f"{len(missing)} missing keys ({', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''})")
        if mismatched:
            problems.append(f"{len(mismatched)} mismatched shapes ({'; '.join(mismatched[:2])})")
        raise ModelError(f"{path}: does not fit {type(backbone).__name__}: {' and '.join(problems)}")
    backbone.load_state_dict({k: state.get(k, v) for k, v in own.items()})
