import pytest
import torch

from models import ModelError
from models.checkpoint import load_checkpoint, save_checkpoint
from models.variants import build_model


class Arbitrary:
    """An object that only a full unpickler would rebuild."""


def trained_a_step(model):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model.predict(torch.randn(2, 3, 127, 127), torch.randn(2, 3, 255, 255))["cls"].square().mean().backward()
    optimizer.step()
    return optimizer


def test_a_checkpoint_alone_rebuilds_its_model_and_resumes_its_optimizer(tmp_path):
    torch.manual_seed(0)
    model = build_model("siamrpnpp_r50", layers=[3, 4], corr="up", width=0.25, neck_channels=16, hidden=16)
    optimizer = trained_a_step(model)
    path = tmp_path / "runs" / "checkpoint-3.pt"
    save_checkpoint(path, model, epoch=3, step=120, optimizer=optimizer, params_hash="abc123", git_commit="f00d")
    assert [p.name for p in path.parent.iterdir()] == ["checkpoint-3.pt"]  # no temporary file left

    rebuilt, checkpoint = load_checkpoint(path, variant="siamrpnpp_r50")
    assert rebuilt.config == model.config and rebuilt.config["layers"] == (3, 4) and rebuilt.config["corr"] == "up"
    assert (checkpoint["epoch"], checkpoint["step"]) == (3, 120)
    assert (checkpoint["params_hash"], checkpoint["git_commit"]) == ("abc123", "f00d")
    for key, value in model.state_dict().items():
        assert torch.equal(value, rebuilt.state_dict()[key]), key
    z, x = torch.randn(1, 3, 127, 127), torch.randn(1, 3, 255, 255)
    with torch.no_grad():
        assert torch.equal(model.eval().predict(z, x)["loc"], rebuilt.eval().predict(z, x)["loc"])
    resumed = torch.optim.SGD(rebuilt.parameters(), lr=0.1, momentum=0.9)
    resumed.load_state_dict(checkpoint["optimizer"])
    momentum = [s["momentum_buffer"] for s in optimizer.state_dict()["state"].values()]
    assert all(torch.equal(a, s["momentum_buffer"]) for a, s in zip(momentum, resumed.state_dict()["state"].values()))


def test_the_pretrained_file_is_not_needed_to_rebuild(tmp_path):
    backbone_weights = build_model("siamrpnpp_r18", width=0.25, hidden=16, neck_channels=16).backbone.state_dict()
    torch.save(backbone_weights, tmp_path / "r18.pth")
    model = build_model("siamrpnpp_r18", width=0.25, hidden=16, neck_channels=16, pretrained=str(tmp_path / "r18.pth"))
    save_checkpoint(tmp_path / "c.pt", model, epoch=0, step=0, params_hash="", git_commit="")
    (tmp_path / "r18.pth").unlink()
    rebuilt, _ = load_checkpoint(tmp_path / "c.pt")
    assert torch.equal(rebuilt.backbone.conv1.weight, backbone_weights["conv1.weight"])


def test_a_foreign_or_corrupt_checkpoint_is_one_line(tmp_path):
    model = build_model("siamfc_alexnet", width=0.25)
    save_checkpoint(tmp_path / "siamfc.pt", model, epoch=1, step=1, params_hash="", git_commit="")
    cases = {"siamfc.pt": "a checkpoint of variant 'siamfc_alexnet', not 'siamrpn_alexnet'"}
    (tmp_path / "random.pt").write_bytes(b"garbage")
    cases["random.pt"] = "not a readable checkpoint"
    torch.save({"format": "siamflow-checkpoint/1", "variant": Arbitrary()}, tmp_path / "pickle.pt")
    cases["pickle.pt"] = "not a readable checkpoint (UnpicklingError)"  # weights_only: no arbitrary objects
    truncated = (tmp_path / "siamfc.pt").read_bytes()
    (tmp_path / "truncated.pt").write_bytes(truncated[: len(truncated) // 2])
    cases["truncated.pt"] = "not a readable checkpoint"
    torch.save({"weights": torch.zeros(1)}, tmp_path / "state.pt")
    cases["state.pt"] = "not a siamflow checkpoint"
    cases["absent.pt"] = "checkpoint not found"
    for name, message in cases.items():
        with pytest.raises(ModelError) as err:
            load_checkpoint(tmp_path / name, variant="siamrpn_alexnet")
        assert message in str(err.value) and str(tmp_path / name) in str(err.value) and "\n" not in str(err.value)
