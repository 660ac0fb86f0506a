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


def test_cli_reports_a_params_error_as_one_line():
    result = run_module("pipeline.synth", "--set", "synth.sed=1")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "synth: error: --set 'synth.sed=1': unknown key 'synth.sed' in params.yaml"]
