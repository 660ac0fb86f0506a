"""Importing peer checkpoints (models/convert.py, python -m pipeline.convert): what a converted checkpoint
carries, and one line naming the file (and key) for every kind of bad input, with nothing written."""
from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from models import ModelError
from models.checkpoint import load_checkpoint, save_checkpoint
from models.convert import PEERS, convert
from models.variants import build_model
from tests.conftest import REPO, needs_shared

ALEX = "pysot-siamrpn_alex_dwxcorr"


def run_convert(*args):
    return subprocess.run([sys.executable, "-m", "pipeline.convert", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True)


@needs_shared
def test_a_converted_checkpoint_rebuilds_alone_with_the_peers_settings(peer_weights, tmp_path):
    out = tmp_path / "alex.pt"
    done = run_convert("--format", "pysot", "--config", "siamrpn_alex_dwxcorr", peer_weights(ALEX), "--out", out)
    assert done.returncode == 0, done.stderr
    model, saved = load_checkpoint(out)
    assert model.variant == "siamrpn_alexnet_dw" and model.config["integer_anchors"]
    assert saved["tracker"] == {"search_size": 287, "penalty_k": 0.16, "window_influence": 0.40, "size_lr": 0.30}
    assert saved["extra"]["source"]["config"] == "siamrpn_alex_dwxcorr"
    state = torch.load(peer_weights(ALEX), weights_only=True)
    assert torch.equal(model.state_dict()["head.loc.0.head.3.bias"], state["rpn_head.loc.head.3.bias"])


@needs_shared
def test_the_config_is_inferred_and_prefixes_and_wrappers_are_accepted(peer_weights, tmp_path):
    state = torch.load(peer_weights(ALEX), weights_only=True)
    wrapped = tmp_path / "snapshot.pth"  # pysot's training snapshots: {"state_dict": {"module.": ...}}
    torch.save({"epoch": 20, "state_dict": {f"module.{k}": v for k, v in state.items()}}, wrapped)
    assert convert(wrapped, "pysot").config_name == "siamrpn_alex_dwxcorr"


@needs_shared
def test_siammask_reports_the_coarse_mask_head_it_does_not_load(peer_weights):
    conversion = convert(peer_weights("pysot-siammask_r50_l3"), "pysot")
    assert conversion.unused and all(k.startswith("mask_head.head.") for k in conversion.unused)


def _edited(peer_weights, tmp_path, edit) -> str:
    state = torch.load(peer_weights(ALEX), weights_only=True)
    edit(state)
    path = tmp_path / "edited.pth"
    torch.save(state, path)
    return str(path)


@needs_shared
@pytest.mark.parametrize("edit,message", [
    (lambda s: s.pop("rpn_head.cls.head.3.weight"), "'head.cls.0.head.3.weight' missing"),
    (lambda s: s.__setitem__("rpn_head.extra.weight", torch.zeros(1)), "key 'rpn_head.extra.weight' has no place"),
    (lambda s: s.__setitem__("rpn_head.cls.head.3.weight", torch.zeros(12, 256, 1, 1)),
     "key 'rpn_head.cls.head.3.weight' has shape (12, 256, 1, 1)"),
])
def test_keys_missing_extra_or_misshapen_are_named(peer_weights, tmp_path, edit, message):
    path = _edited(peer_weights, tmp_path, edit)
    with pytest.raises(ModelError, match=message.replace("(", r"\(").replace(")", r"\)")) as err:
        convert(path, "pysot", "siamrpn_alex_dwxcorr")
    assert str(err.value).startswith(path)


@needs_shared
def test_a_checkpoint_of_another_format_or_config_is_refused(peer_weights):
    with pytest.raises(ModelError, match="has no place in dasiamrpn"):
        convert(peer_weights(ALEX), "dasiamrpn")
    with pytest.raises(ModelError, match="has no place in pysot siamrpn_r50_l234_dwxcorr"):
        convert(peer_weights(ALEX), "pysot", "siamrpn_r50_l234_dwxcorr")


@pytest.mark.parametrize("content,message", [(b"PK\x03\x04 truncated", "not a readable PyTorch checkpoint"),
                                             (b"", "not a readable PyTorch checkpoint")])
def test_unreadable_files_are_one_line_and_nothing_is_written(tmp_path, content, message):
    source, out = tmp_path / "broken.pth", tmp_path / "out.pt"
    source.write_bytes(content)
    done = run_convert("--format", "pysot", source, "--out", out)
    assert done.returncode == 2 and message in done.stderr and str(source) in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and not out.exists()


def test_a_siamflow_checkpoint_and_unknown_configs_are_refused(tmp_path):
    path = tmp_path / "own.pt"
    save_checkpoint(path, build_model("siamfc_alexnet", width=0.25), epoch=0, step=0, params_hash="", git_commit="")
    with pytest.raises(ModelError, match="already a siamflow checkpoint"):
        convert(path, "pysot")
    torch.save({"featureExtract.0.weight": torch.zeros(96, 3, 11, 11)}, tmp_path / "peer.pth")
    done = run_convert("--format", "pysot", "--config", "siamrpn_alex_dwxcorr_otb", tmp_path / "peer.pth",
                       "--out", tmp_path / "out.pt")
    assert done.returncode == 2 and "no pysot config 'siamrpn_alex_dwxcorr_otb'" in done.stderr
    assert ", ".join(PEERS["pysot"]) in done.stderr and not (tmp_path / "out.pt").exists()


def test_every_peer_model_names_a_registered_variant_its_keys_fit():
    """Without ../shared: each peer entry builds (its variant and deltas are valid)."""
    for models in PEERS.values():
        for peer in models.values():
            assert build_model(peer.variant, **peer.overrides).kind in ("siamfc", "siamrpn", "siammask")



@needs_shared
def test_the_official_siamfc_exports_to_onnx_that_matches_torch_on_crossing_crops(tmp_path):
    import cv2
    from models.export import check_onnx
    from models.geometry import crop_around_box
    from tests.conftest import SHARED
    checkpoint = tmp_path / "siamfc.pt"
    weights = SHARED / "weights" / "siamfc_alexnet_official2016_siamfc-pytorch.pth"
    assert run_convert("--format", "siamfc-pytorch", weights, "--out", checkpoint).returncode == 0
    done = run_convert("--to", "onnx", checkpoint, "--out", tmp_path / "onnx")
    assert done.returncode == 0 and "max difference" in done.stdout, done.stderr
    frames = sorted((SHARED / "data" / "otb" / "Crossing" / "img").glob("*.jpg"))
    box = (204, 150, 17, 50)
    template, _ = crop_around_box(cv2.imread(str(frames[0])), box, 127)
    search, _ = crop_around_box(cv2.imread(str(frames[1])), box, 255)
    model, _ = load_checkpoint(checkpoint)
    paths = {"template": tmp_path / "onnx" / "template.onnx", "search": tmp_path / "onnx" / "search.onnx"}
    assert check_onnx(model, paths, template, search) < 1e-3  # atol 1e-4 + rtol 1e-5 x max (score ~40)
