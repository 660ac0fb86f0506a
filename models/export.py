"""ONNX export of a network: template.onnx (the template embedding) and search.onnx (the head outputs).

The two files split the network where the trackers do: `embed_template` once per sequence, `track` per frame.
template.onnx takes `template` (1, 3, 127, 127), a BGR crop of 0-255 floats (models/inputs.py), and gives one
output per feature level, `template_stage<s>` for each used stage s (models.siamese.Siamese.layers).
search.onnx takes those tensors, under the same names, and `search` (1, 3, S, S), and gives the head outputs
of `Siamese.track` (layouts in models/heads.py): `score` (SiamFC); `cls`, `loc` (SiamRPN, SiamRPN++); for
SiamMask also `mask`, or with the refinement `mask_features` and the search image's stages 1-3 that the
refinement reads, as `search_stage1` ... `search_stage3`. The refinement itself is not exported: it cuts one
window per chosen position in Python (models/heads.py position_windows), after the tracker has chosen it.

The batch is fixed at 1: the correlations (models/heads.py xcorr, xcorr_depthwise) fold the batch into the
groups of one convolution, and a convolution's groups are a constant of the ONNX graph. The search size is
fixed at export too. A tracker's several search crops (SiamFC's scales) are several runs of search.onnx.

The exporter is torch's TorchScript exporter (`torch.onnx.export(..., dynamo=False)`): it needs no package
beyond torch, where the default torch.export-based one needs onnxscript and onnx-ir as well. onnx checks the
files and stamps the variant into them; onnxruntime runs them (check_onnx). Both are imported only here, in
the functions, so that the rest of models/ works without them.
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from models import ModelError
from models.geometry import EXEMPLAR_SIZE
from models.inputs import to_input

# Opset 17: inside the TorchScript exporter's range (up to 20, its default), and older than that default so
# that runtimes a few releases behind onnxruntime read the files too; the network needs nothing newer than
# opset 13 (Conv, Relu, Clip, MaxPool, Add, Mul, Slice, Reshape, Split, Squeeze). Fixed, so that the files do
# not change when torch's default opset does.
OPSET = 17
FILES = {"template": "template.onnx", "search": "search.onnx"}


class TemplateGraph(nn.Module):
    """template (1, 3, 127, 127) -> the template features, one tensor per used stage."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, template: torch.Tensor) -> tuple:
        return tuple(self.model.embed_template(template))


class SearchGraph(nn.Module):
    """(template features..., search) -> the head outputs named by `outputs`, in that order."""

    def __init__(self, model: nn.Module, outputs: list[str]):
        super().__init__()
        self.model, self.outputs = model, outputs

    def forward(self, *inputs: torch.Tensor) -> tuple:
        *template, search = inputs
        flat = flat_outputs(self.model.track(list(template), search))
        return tuple(flat[name] for name in self.outputs)


def flat_outputs(out: dict) -> dict:
    """track()'s outputs with the dict of search stages (SiamMask's refinement) as search_stage<s> tensors."""
    flat = {name: value for name, value in out.items() if name != "stages"}
    flat.update({f"search_stage{s}": value for s, value in out.get("stages", {}).items()})
    return flat


def template_names(model: nn.Module) -> list[str]:
    return [f"template_stage{s}" for s in model.layers]


def _onnx_modules():
    """(onnx, onnxruntime), or a ModelError of one line saying how to install them."""
    try:
        import onnx
        import onnxruntime
    except ImportError as error:
        raise ModelError(f"ONNX export needs the onnx and onnxruntime packages (pip install --no-deps -r "
                         f"requirements.lock): {error}") from None
    return onnx, onnxruntime


def _one_line(error: BaseException) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text.splitlines()[0] if text else ''}"


def export_onnx(model: nn.Module, folder, search_size: int) -> dict[str, Path]:
    """Writes template.onnx and search.onnx of `model` (models.siamese.Siamese) into `folder` for search crops
    of search_size px, batch 1, opset OPSET. Returns {"template": path, "search": path}. The model is
    exported in eval mode and left in the mode it was in."""
    onnx, _ = _onnx_modules()
    if not isinstance(search_size, int) or search_size < EXEMPLAR_SIZE:
        raise ModelError(f"ONNX export: search_size must be an int of at least {EXEMPLAR_SIZE}, got {search_size!r}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: folder / file for name, file in FILES.items()}
    device = next(model.parameters()).device
    template = torch.zeros(1, 3, EXEMPLAR_SIZE, EXEMPLAR_SIZE, device=device)
    search = torch.zeros(1, 3, search_size, search_size, device=device)
    training = model.training
    model.eval()
    try:
        with torch.no_grad():
            features = model.embed_template(template)
            outputs = list(flat_outputs(model.track(features, search)))
        _export(TemplateGraph(model), (template,), paths["template"], ["template"], template_names(model))
        _export(SearchGraph(model, outputs), (*features, search), paths["search"],
                [*template_names(model), "search"], outputs)
    except Exception as error:  # the exporter's errors are many kinds, and long
        raise ModelError(f"ONNX export of {model.variant} failed: {_one_line(error)}") from error
    finally:
        model.train(training)
    for name, path in paths.items():
        _stamp(onnx, path, model, name, search_size)
    return paths


def _export(graph: nn.Module, args: tuple, path: Path, inputs: list[str], outputs: list[str]) -> None:
    with warnings.catch_warnings():
        # The TorchScript exporter warns that it is deprecated, and the tracer that shapes become constants
        # (they are: batch 1 and the search size are fixed, as the module docstring says).
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        torch.onnx.export(graph, args, str(path), input_names=inputs, output_names=outputs, opset_version=OPSET,
                          dynamo=False)


def _stamp(onnx, path: Path, model: nn.Module, part: str, search_size: int) -> None:
    """Checks the file and records what it is in its metadata: variant, part, search size, the config."""
    proto = onnx.load(str(path))
    try:
        onnx.checker.check_model(proto, full_check=True)
    except Exception as error:
        raise ModelError(f"ONNX export of {model.variant}: {path.name} fails onnx's check: "
                         f"{_one_line(error)}") from None
    meta = {"variant": model.variant, "part": part, "search_size": str(search_size), "opset": str(OPSET),
            "config": json.dumps(model.config, sort_keys=True)}
    del proto.metadata_props[:]
    for key, value in meta.items():
        proto.metadata_props.add(key=key, value=value)
    onnx.save(proto, str(path))


def _as_batch(image, size: int, what: str) -> torch.Tensor:
    array = np.asarray(image)
    if array.shape != (size, size, 3):
        raise ModelError(f"check_onnx: the {what} crop must be a {size} x {size} x 3 BGR image, "
                         f"got shape {array.shape}")
    return to_input([array])


def check_onnx(model: nn.Module, paths: dict, template_image, search_image, atol: float = 1e-4,
               rtol: float = 1e-5) -> float:
    """Runs the exported files with onnxruntime (CPU) and the model with torch (eval mode) on the same BGR
    crops, template 127 x 127 and search S x S; returns the largest absolute difference over the template
    features and every output. Raises a ModelError naming the output if one differs by more than
    atol + rtol * (its largest absolute value): float32 rounding grows with a tensor's magnitude, and the
    stage-1 features of 0-255 input (SiamMask's search_stage1) or an untrained up-channel head reach hundreds.
    rtol=0 makes it a plain absolute check."""
    _, onnxruntime = _onnx_modules()
    sessions = {name: onnxruntime.InferenceSession(str(paths[name]), providers=["CPUExecutionProvider"])
                for name in FILES}
    search_size = sessions["search"].get_inputs()[-1].shape[-1]
    template = _as_batch(template_image, EXEMPLAR_SIZE, "template")
    search = _as_batch(search_image, search_size, "search")
    training = model.training
    model.eval()
    try:
        with torch.no_grad():
            device = next(model.parameters()).device
            features = model.embed_template(template.to(device))
            expected = flat_outputs(model.track(features, search.to(device)))
    finally:
        model.train(training)
    expected.update(zip(template_names(model), features))
    got = _run_onnx(sessions, template.numpy(), search.numpy())
    expected = {name: value.cpu().numpy() for name, value in expected.items()}
    differences = {name: float(np.abs(got[name] - value).max()) for name, value in expected.items()}
    for name, value in expected.items():
        tolerance = atol + rtol * float(np.abs(value).max())
        if not differences[name] <= tolerance:  # `not <=`: a NaN fails too
            raise ModelError(f"ONNX check of {model.variant}: {name} differs from torch by {differences[name]:.3g} "
                             f"(tolerance {tolerance:.3g}: atol {atol:g} + rtol {rtol:g} x max "
                             f"{np.abs(value).max():.3g})")
    return max(differences.values())


def _run_onnx(sessions: dict, template: np.ndarray, search: np.ndarray) -> dict:
    """Every output of both files: the template features, fed on into the search file with the search crop."""
    names = [o.name for o in sessions["template"].get_outputs()]
    features = dict(zip(names, sessions["template"].run(None, {"template": template})))
    outputs = [o.name for o in sessions["search"].get_outputs()]
    got = dict(zip(outputs, sessions["search"].run(None, {**features, "search": search})))
    return {**features, **got}
