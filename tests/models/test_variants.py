import itertools

import numpy as np
import pytest
import torch

from models import ModelError
from models.variants import build_model, list_variants, variant_config

REQUIRED = ["siamfc_alexnet", "siamrpn_alexnet", "siamrpn_alexnet_dw", "siamrpnpp_r50", "siamrpnpp_r18",
            "siamrpnpp_r34", "siamrpnpp_mobilenetv2", "siammask_r50"]


def small(name: str, **overrides):
    """The variant at a quarter of its width and 32-channel heads: the same shapes, seconds on a CPU."""
    config = variant_config(name)
    small = {"width": 0.25}
    if config["head"] != "siamfc":
        small["hidden"] = 32
        if config["neck_channels"]:
            small["neck_channels"] = 32
    return build_model(name, **{**small, **overrides})


def fixed_batch(model, seed=0):
    """Two template/search pairs (the second a negative pair) with their targets, as the loader will give them."""
    generator = torch.Generator().manual_seed(seed)
    template, search = torch.randn(2, 3, 127, 127, generator=generator), torch.randn(2, 3, 255, 255, generator=generator)
    maker, rng = model.target_maker(255), np.random.default_rng(seed)
    boxes = [(97.5, 92.5, 60.0, 70.0), (80.0, 100.0, 90.0, 50.0)]
    samples = [maker(box, negative, rng) for box, negative in zip(boxes, (False, True))]
    targets = {key: torch.as_tensor(np.stack([s[key] for s in samples])) for key in samples[0]}
    if model.kind == "siammask":
        mask = torch.zeros(2, 1, 255, 255)
        mask[0, 0, 100:155, 105:150] = 1
        targets["mask"], targets["mask_valid"] = mask, torch.tensor([True, False])
    return template, search, targets


def test_the_registry_lists_every_required_variant():
    assert set(REQUIRED) <= set(list_variants())


@pytest.mark.parametrize("name", list_variants())
def test_every_variant_builds_and_trains_forward_and_backward(name):
    torch.manual_seed(0)
    model = small(name)
    losses = model(*fixed_batch(model))
    expected = {"siamfc": {"cls"}, "siamrpn": {"cls", "loc"}, "siammask": {"cls", "loc", "mask"}}[model.kind]
    assert set(losses) == expected | {"total"}
    assert all(torch.isfinite(v) for v in losses.values())
    losses["total"].backward()
    # Every parameter takes part (DDP requires it; a head built but not used would show here).
    assert [n for n, p in model.named_parameters() if p.grad is None] == []


@pytest.mark.parametrize("name", list_variants())
def test_output_shapes_match_the_papers(name):
    """127 / 255 inputs at full width. SiamFC: 22 - 6 + 1 = 17. AlexNet RPN: the 3x3 convolutions of either
    head take 6 -> 4 and 22 -> 20, so 20 - 4 + 1 = 17. ResNet and MobileNetV2 (SiamRPN++): 31 - 7 + 1 = 25.
    2k and 4k channels with k = 5 anchors."""
    model = build_model(name).eval()
    with torch.no_grad():
        out = model.predict(torch.zeros(1, 3, 127, 127), torch.zeros(1, 3, 255, 255))
    if model.kind == "siamfc":
        assert out["score"].shape == (1, 1, 17, 17)
        return
    size = 17 if model.config["backbone"].startswith("alexnet") else 25
    assert out["cls"].shape == (1, 10, size, size) and out["loc"].shape == (1, 20, size, size)
    if model.kind == "siammask":  # with the refinement: the correlation vector of each position, 256 channels
        assert out["mask_features"].shape == (1, 256, 25, 25)
        assert build_model(name, refine=False).eval().predict(torch.zeros(1, 3, 127, 127), torch.zeros(
            1, 3, 255, 255))["mask"].shape == (1, 63 * 63, 25, 25)
    assert model.score_size(255) == size


@pytest.mark.parametrize("corr", ["up", "dw"])
def test_siamrpnpp_table_1_grid_is_overrides_of_one_variant(corr):
    for count in (1, 2, 3):
        for layers in itertools.combinations((3, 4, 5), count):
            model = small("siamrpnpp_r50", layers=list(layers), corr=corr).eval()
            assert model.config["layers"] == layers and len(model.head.cls) == len(layers)
            with torch.no_grad():
                out = model.predict(torch.zeros(1, 3, 127, 127), torch.zeros(1, 3, 255, 255))
            assert out["cls"].shape == (1, 10, 25, 25)


@pytest.mark.parametrize("name", list_variants())
def test_losses_fall_when_fitting_one_fixed_pair(name):
    torch.manual_seed(0)
    model = small(name)
    batch = fixed_batch(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    history = []
    for _ in range(8):
        losses = model(*batch)
        optimizer.zero_grad()
        losses["total"].backward()
        optimizer.step()
        history.append({k: v.item() for k, v in losses.items()})
    for key in history[0]:
        assert history[-1][key] < history[0][key], (key, [h[key] for h in history])


def test_a_bad_variant_or_override_is_one_line_with_the_valid_names():
    with pytest.raises(ModelError) as err:
        build_model("siamrpn_resnet")
    assert "\n" not in str(err.value) and all(name in str(err.value) for name in REQUIRED)
    with pytest.raises(ModelError, match=r"unknown override 'layer' for variant 'siamrpnpp_r50' \(valid: .*layers"):
        build_model("siamrpnpp_r50", layer=[3])
    for overrides, message in [({"layers": [2, 3]}, "non-empty subset"), ({"layers": []}, "non-empty subset"),
                               ({"layers": [4, 4]}, "without repeats"), ({"corr": "full"}, "corr must be one of up, dw"),
                               ({"layers": "3"}, "layers must be a list"), ({"width": "1"}, "width must be float"),
                               ({"positives": True}, "positives must be int"), ({"head": "siammask"}, "head is fixed"),
                               ({"width": 0}, "width must be positive")]:
        with pytest.raises(ModelError, match=message):
            variant_config("siamrpnpp_r50", **overrides)
    with pytest.raises(ModelError, match=r"subset of \{5\}"):
        variant_config("siamrpn_alexnet", layers=[3])
