"""ONNX export (models/export.py): template.onnx and search.onnx run by onnxruntime give torch's outputs, on
real OTB crops (with ../shared) and on random crops; missing packages and failures are one-line errors."""
from __future__ import annotations

import copy
import sys

import cv2
import numpy as np
import onnx
import pytest
import torch

from models import ModelError
from models.export import OPSET, check_onnx, export_onnx
from models.geometry import EXEMPLAR_SIZE, crop_around_box
from models.variants import build_model
from tests.conftest import SHARED, needs_shared

# Two single-level AlexNet models and one three-level SiamRPN++, small, at search sizes other than 255.
CASES = {"siamfc_alexnet": 287, "siamrpn_alexnet_dw": 287, "siamrpnpp_r50": 271}
OUTPUTS = {"siamfc_alexnet": ["score"], "siamrpn_alexnet_dw": ["cls", "loc"], "siamrpnpp_r50": ["cls", "loc"]}
CROSSING = SHARED / "data" / "otb" / "Crossing"


@pytest.fixture(scope="module", params=sorted(CASES))
def exported(request, tmp_path_factory):
    name = request.param
    torch.manual_seed(0)
    model = build_model(name, width=0.25)
    return model, export_onnx(model, tmp_path_factory.mktemp(name), CASES[name]), CASES[name]


def names(values) -> list[str]:
    return [v.name for v in values]


def dims(value) -> list[int]:
    return [d.dim_value for d in value.type.tensor_type.shape.dim]


def test_the_files_have_the_documented_inputs_outputs_opset_and_metadata(exported):
    model, paths, size = exported
    template, search = onnx.load(str(paths["template"])), onnx.load(str(paths["search"]))
    levels = [f"template_stage{s}" for s in model.layers]
    assert names(template.graph.input) == ["template"] and dims(template.graph.input[0]) == [1, 3, 127, 127]
    assert names(template.graph.output) == levels
    assert names(search.graph.input) == [*levels, "search"] and dims(search.graph.input[-1]) == [1, 3, size, size]
    assert names(search.graph.output) == OUTPUTS[model.variant]
    for proto, part in ((template, "template"), (search, "search")):
        assert [o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")] == [OPSET]
        meta = {p.key: p.value for p in proto.metadata_props}
        assert (meta["variant"], meta["part"], meta["search_size"]) == (model.variant, part, str(size))
    assert model.training  # exported in eval mode, and left as it was


def test_onnxruntime_matches_torch_on_random_crops(exported):
    model, paths, size = exported
    rng = np.random.default_rng(7)
    template = rng.integers(0, 256, (EXEMPLAR_SIZE, EXEMPLAR_SIZE, 3), dtype=np.uint8)
    search = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    assert check_onnx(model, paths, template, search) < 1e-3  # atol 1e-4 + rtol 1e-5 x max (score ~40)


@needs_shared
def test_onnxruntime_matches_torch_on_real_crops(exported):
    model, paths, size = exported
    image = cv2.imread(str(CROSSING / "img" / "0001.jpg"))
    box = [float(v) for v in (CROSSING / "groundtruth_rect.txt").read_text().splitlines()[0].split(",")]
    template, _ = crop_around_box(image, box, EXEMPLAR_SIZE)
    search, _ = crop_around_box(image, box, size)
    assert check_onnx(model, paths, template, search) < 1e-3  # atol 1e-4 + rtol 1e-5 x max (score ~40)


def test_siammask_exports_the_refinement_inputs(tmp_path):
    torch.manual_seed(0)
    model = build_model("siammask_r50", width=0.25)
    paths = export_onnx(model, tmp_path, 255)
    outputs = names(onnx.load(str(paths["search"])).graph.output)
    assert outputs == ["cls", "loc", "mask_features", "search_stage1", "search_stage2", "search_stage3"]
    rng = np.random.default_rng(3)
    crops = [rng.integers(0, 256, (side, side, 3), dtype=np.uint8) for side in (EXEMPLAR_SIZE, 255)]
    assert check_onnx(model, paths, *crops) < 1e-3  # search_stage1 reaches ~200: its share of rtol


def test_a_changed_model_fails_the_check_naming_the_output(tmp_path):
    torch.manual_seed(0)
    model = build_model("siamfc_alexnet", width=0.25)
    paths = export_onnx(model, tmp_path, 255)
    changed = copy.deepcopy(model)
    with torch.no_grad():
        changed.head.bias += 0.01
    crops = [np.full((side, side, 3), 128, np.uint8) for side in (EXEMPLAR_SIZE, 255)]
    with pytest.raises(ModelError, match=r"^ONNX check of siamfc_alexnet: score differs from torch by 0\.0\d+ "):
        check_onnx(changed, paths, *crops)
    with pytest.raises(ModelError, match="search crop must be a 255 x 255 x 3"):
        check_onnx(model, paths, crops[0], crops[0])


@pytest.mark.parametrize("package", ["onnx", "onnxruntime"])
def test_missing_packages_are_one_line(tmp_path, monkeypatch, package):
    model = build_model("siamfc_alexnet", width=0.25)
    monkeypatch.setitem(sys.modules, package, None)  # the import now raises ImportError
    for call in (lambda: export_onnx(model, tmp_path, 255), lambda: check_onnx(model, {}, None, None)):
        with pytest.raises(ModelError, match="needs the onnx and onnxruntime packages") as error:
            call()
        assert "\n" not in str(error.value)


def test_a_failed_export_is_one_line(tmp_path, monkeypatch):
    model = build_model("siamfc_alexnet", width=0.25)
    with pytest.raises(ModelError, match="search_size must be an int of at least 127, got 100"):
        export_onnx(model, tmp_path, 100)

    def broken(*args, **kwargs):
        raise RuntimeError("an unsupported operator\n  with a long trace")
    monkeypatch.setattr(torch.onnx, "export", broken)
    with pytest.raises(ModelError) as error:
        export_onnx(model, tmp_path, 255)
    assert str(error.value) == "ONNX export of siamfc_alexnet failed: RuntimeError: an unsupported operator"
    assert model.training
