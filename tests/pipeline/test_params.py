import pytest

from pipeline.params import Params, ParamsError, load_params
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
    assert set(params.datasets) == {"vid", "det", "coco", "ytbb"}
    with pytest.raises(AttributeError):
        params.synth.seed = 1


def test_unknown_key_names_the_key_and_its_section(tmp_path):
    path = write(tmp_path, repo_params_text().replace("  seed: 0", "  seed: 0\n  sede: 1"))
    with pytest.raises(ParamsError, match=r"unknown key 'synth.sede' in section 'synth'"):
        load_params(path)


def test_unknown_nested_key(tmp_path):
    path = write(tmp_path, repo_params_text().replace("    split: train2017", "    split: train2017\n    spilt: x"))
    with pytest.raises(ParamsError, match=r"unknown key 'datasets.coco.spilt' in section 'datasets.coco'"):
        load_params(path)


def test_mistyped_value_names_key_and_types(tmp_path):
    path = write(tmp_path, repo_params_text().replace("  seed: 0", "  seed: zero"))
    with pytest.raises(ParamsError, match=r"'synth.seed' must be int, got str 'zero'"):
        load_params(path)


def test_a_boolean_is_not_an_int(tmp_path):
    path = write(tmp_path, repo_params_text().replace("  seed: 0", "  seed: true"))
    with pytest.raises(ParamsError, match=r"'synth.seed' must be int, got bool"):
        load_params(path)


def test_missing_key(tmp_path):
    path = write(tmp_path, repo_params_text().replace("  jpeg_quality: 90\n", ""))
    with pytest.raises(ParamsError, match=r"missing key 'synth.jpeg_quality'"):
        load_params(path)


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


def test_cli_reports_a_params_error_as_one_line():
    result = run_module("pipeline.synth", "--set", "synth.sed=1")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "synth: error: --set 'synth.sed=1': unknown key 'synth.sed' in params.yaml"]
