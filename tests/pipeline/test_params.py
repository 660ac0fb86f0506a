import pytest

from pipeline.config.params import ParamsError, load_params

from pipeline.config.schema import Params
from tests.conftest import REPO, run_module


def write(tmp_path, text):
    path = tmp_path / "params.yaml"
    path.write_text(text)
    return path


def repo_params_text():
    return (REPO / "params.yaml").read_text()


def test_repository_params_load_into_frozen_dataclasses():
    params = load_params(REPO / "params.yaml")
    assert isinstance(params, Params)
    assert params.synth.seed == 0 and isinstance(params.synth.image_width, int)
    assert set(params.datasets) == {"vid", "det", "coco", "ytbb", "ytvos"}
    with pytest.raises(AttributeError):
        params.synth.seed = 1


@pytest.mark.parametrize("old, new, message", [
    ("  seed: 0", "  seed: 0\n  sede: 1", r"unknown key 'synth.sede' in section 'synth'"),
    ("    split: train2017", "    split: train2017\n    spilt: x",
     r"unknown key 'datasets.coco.spilt' in section 'datasets.coco'"),
    ("  seed: 0", "  seed: zero", r"'synth.seed' must be int, got str 'zero'"),
    ("  seed: 0", "  seed: true", r"'synth.seed' must be int, got bool"),  # YAML booleans are not ints
    ("  jpeg_quality: 90\n", "", r"missing key 'synth.jpeg_quality'"),
])
def test_bad_params_name_the_key(tmp_path, old, new, message):
    text = repo_params_text()
    assert old in text
    with pytest.raises(ParamsError, match=message):
        load_params(write(tmp_path, text.replace(old, new, 1)))


def test_invalid_yaml_names_the_file_and_line(tmp_path):
    path = write(tmp_path, "synth: [1, 2\n")
    with pytest.raises(ParamsError, match=r"params.yaml: line \d+ not valid YAML"):
        load_params(path)


def test_overrides_are_typed_and_validated():
    params = load_params(REPO / "params.yaml", ["synth.seed=7", "datasets.vid.root=/elsewhere"])
    assert params.synth.seed == 7
    assert params.datasets["vid"].root == "/elsewhere"
    with pytest.raises(ParamsError, match=r"'synth.seed' must be int, got str 'x'"):
        load_params(REPO / "params.yaml", ["synth.seed=x"])
    with pytest.raises(ParamsError, match=r"unknown key 'synth.sed'"):
        load_params(REPO / "params.yaml", ["synth.sed=1"])
    with pytest.raises(ParamsError, match=r"expected section.key=value"):
        load_params(REPO / "params.yaml", ["synth.seed"])


def test_dvc_repro_lists_name_existing_variants_and_benchmarks():
    with pytest.raises(ParamsError, match=r"repro.train: 'siamfc' is not a variant"):
        load_params(REPO / "params.yaml", ["repro.train=[siamfc]"])
    with pytest.raises(ParamsError, match=r"repro.untrained: 'synth-lasot' is not in repro.benchmarks"):
        load_params(REPO / "params.yaml", ["repro.untrained=[synth-lasot]"])
    with pytest.raises(ParamsError, match=r"repro.benchmarks: 'otb100' is not in benchmarks"):
        load_params(REPO / "params.yaml", ["repro.benchmarks=[otb100]"])


def test_cli_reports_a_params_error_as_one_line():
    result = run_module("pipeline.synth", "--set", "synth.sed=1")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "synth: error: --set 'synth.sed=1': unknown key 'synth.sed' in params.yaml"]


def test_variants_are_the_registry_defaults_with_params_deltas_and_overrides(tmp_path):
    from models.variants import list_variants, variant_config
    params = load_params(REPO / "params.yaml", ["train.profile=paper"])  # the paper profile changes no model
    assert set(params.variants) == set(list_variants())
    assert params.variants["siamrpn_alexnet"] == variant_config("siamrpn_alexnet")
    assert params.variants["siamrpnpp_r50"]["loc_weight"] == 1.2
    text = repo_params_text().replace('  siamrpnpp_r50:\n', '  siamrpnpp_r50:\n    width: 0.5\n', 1)
    params = load_params(write(tmp_path, text), ["variants.siamrpnpp_r50.layers=[4, 3]",
                                                 "variants.siamfc_alexnet.radius=8", "train.profile=paper"])
    assert params.variants["siamrpnpp_r50"]["width"] == 0.5 and params.variants["siamrpnpp_r50"]["layers"] == (3, 4)
    assert params.variants["siamfc_alexnet"]["radius"] == 8.0
    # The demo profile's deltas come over params.yaml's, and --set over both.
    demo = load_params(write(tmp_path, text), ["variants.siamfc_alexnet.width=0.75"])
    assert demo.variants["siamrpnpp_r50"]["width"] == 0.125 and demo.variants["siamfc_alexnet"]["width"] == 0.75


@pytest.mark.parametrize("overrides, text_change, message", [
    (["variants.siamrpnpp_r50.corr=full"], None, r"params.yaml: siamrpnpp_r50: corr must be one of up, dw"),
    (["variants.siamrpnpp_r50.layer=[3]"], None, r"unknown key 'variants.siamrpnpp_r50.layer'"),
    ([], ("  siamrpnpp_r18:\n", "  siamrpnpp_r101:\n"), r"unknown variant 'siamrpnpp_r101' in section 'variants' "
                                                          r"\(registered: dasiamrpn_alexnet, .*, siamfc_alexnet, siammask_r50"),
    ([], ("  siamrpnpp_r18:\n", "  siamrpnpp_r18:\n    depth: 101\n"), r"unknown override 'depth' for variant"),
])
def test_bad_variant_params_are_one_line(tmp_path, overrides, text_change, message):
    text = repo_params_text()
    if text_change:
        assert text_change[0] in text
        text = text.replace(*text_change, 1)
    with pytest.raises(ParamsError, match=message) as err:
        load_params(write(tmp_path, text), overrides)
    assert "\n" not in str(err.value)
