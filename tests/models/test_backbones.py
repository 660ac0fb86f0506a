import pytest
import torch

from models import ModelError
from models.backbones import AlexNet, MobileNetV2, ResNet, load_pretrained


def shapes(net, size):
    with torch.no_grad():
        return {stage: tuple(f.shape[1:]) for stage, f in net.eval()(torch.zeros(1, 3, size, size)).items()}


def test_siamfc_alexnet_matches_the_paper_table_1():
    net = AlexNet()
    assert shapes(net, 127) == {5: (256, 6, 6)} and shapes(net, 255) == {5: (256, 22, 22)}
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size[0], c.groups, c.padding[0]) for c in convs] == [
        (96, 11, 1, 0), (256, 5, 2, 0), (384, 3, 1, 0), (384, 3, 2, 0), (256, 3, 2, 0)]
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules()) == 5
    assert isinstance(net.features[-1], torch.nn.BatchNorm2d)  # no ReLU after conv5
    # stride 8: eight more input pixels give one more output cell
    assert shapes(net, 127 + net.stride)[5][-1] == 7


def test_siamrpn_alexnet_has_no_groups():
    net = AlexNet(groups=1)
    assert all(m.groups == 1 for m in net.modules() if isinstance(m, torch.nn.Conv2d))
    assert shapes(net, 255) == {5: (256, 22, 22)}


def test_width_multiplier_shrinks_channels_and_keeps_shapes():
    net = AlexNet(width=0.25)
    out = net(torch.zeros(2, 3, 127, 127))[5]
    assert out.shape == (2, net.out_channels[5], 6, 6) and net.out_channels[5] == 64
    out.sum().backward()
    assert ResNet(50, width=0.25).out_channels == {1: 16, 2: 64, 3: 128, 4: 256, 5: 512}
    assert MobileNetV2(width=0.5).out_channels[5] == 160


@pytest.mark.parametrize("depth, channels", [(18, (128, 256, 512)), (34, (128, 256, 512)), (50, (512, 1024, 2048))])
def test_resnet_stages_3_to_5_have_stride_8_as_in_siamrpnpp(depth, channels):
    net = ResNet(depth)
    # SiamRPN++ section 3.2: a 15 x 15 template map (cut to 7 x 7 by the neck) and a 31 x 31 search map.
    assert {s: shape for s, shape in shapes(net, 127).items() if s >= 3} == {
        3: (channels[0], 15, 15), 4: (channels[1], 15, 15), 5: (channels[2], 15, 15)}
    assert [shape[1:] for s, shape in sorted(shapes(net, 255).items()) if s >= 3] == [(31, 31)] * 3
    dilations = {stage: {m.dilation[0] for m in getattr(net, f"layer{stage - 1}").modules()
                         if isinstance(m, torch.nn.Conv2d) and m.kernel_size[0] == 3} for stage in (3, 4, 5)}
    assert dilations == {3: {1}, 4: {1, 2}, 5: {2, 4}}  # the first block of a dilated stage keeps the previous one


def test_mobilenetv2_stages_3_to_5_have_stride_8():
    net = MobileNetV2()
    assert {s: v for s, v in shapes(net, 127).items() if s >= 3} == {3: (32, 15, 15), 4: (96, 15, 15), 5: (320, 15, 15)}
    assert shapes(net, 255)[5] == (320, 31, 31)


def test_only_the_needed_stages_are_built():
    assert set(shapes(ResNet(50, width=0.25, last_stage=4), 127)) == {1, 2, 3, 4}
    assert set(shapes(MobileNetV2(width=0.25, last_stage=3), 127)) == {1, 2, 3}


def test_module_names_are_torchvisions():
    """Spot checks of the names and shapes of torchvision's resnet50 / mobilenet_v2 state dicts (the full key
    and shape lists were compared once against torchvision 0.29.2: identical but for its classifier)."""
    resnet, mobilenet = ResNet(50).state_dict(), MobileNetV2().state_dict()
    assert resnet["layer2.0.downsample.0.weight"].shape == (512, 256, 1, 1)
    assert resnet["layer4.2.conv3.weight"].shape == (2048, 512, 1, 1)
    assert "layer1.0.bn1.num_batches_tracked" in resnet and len(resnet) == 318
    assert mobilenet["features.17.conv.2.weight"].shape == (320, 960, 1, 1)
    assert mobilenet["features.1.conv.0.0.weight"].shape == (32, 1, 3, 3) and len(mobilenet) == 306


def test_load_pretrained_takes_an_imagenet_file_and_ignores_the_classifier(tmp_path):
    source = ResNet(18, width=0.25)
    state = {f"module.{k}": v for k, v in source.state_dict().items() if not k.endswith("num_batches_tracked")}
    state["module.fc.weight"] = torch.zeros(1000, 128)
    torch.save({"state_dict": state}, tmp_path / "r18.pth")
    target = ResNet(18, width=0.25)
    load_pretrained(target, tmp_path / "r18.pth")
    assert all(torch.equal(v, source.state_dict()[k]) for k, v in target.state_dict().items())


def test_load_pretrained_names_missing_and_mismatched_keys(tmp_path):
    state = ResNet(18, width=0.25).state_dict()
    del state["layer3.0.conv1.weight"]
    state["conv1.weight"] = torch.zeros(3, 3, 7, 7)
    torch.save(state, tmp_path / "bad.pth")
    with pytest.raises(ModelError) as err:
        load_pretrained(ResNet(18, width=0.25), tmp_path / "bad.pth")
    message = str(err.value)
    assert "\n" not in message and str(tmp_path / "bad.pth") in message
    assert "1 missing keys (layer3.0.conv1.weight)" in message and "conv1.weight (3, 3, 7, 7) in the file" in message
    with pytest.raises(ModelError, match="not found"):
        load_pretrained(ResNet(18), tmp_path / "absent.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError, match="not a PyTorch state dict"):
        load_pretrained(ResNet(18), tmp_path / "junk.pth")
