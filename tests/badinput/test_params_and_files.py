"""Bad params (params.yaml and --set) and checkpoints that are not ones: one line each, exit status 2.

Tested elsewhere (docs/reliability.md): unknown keys, wrong types, missing keys and invalid YAML in params.yaml
(tests/pipeline/test_params.py), random bytes, truncated files and foreign pickles as checkpoints
(tests/models/test_checkpoint.py).
"""
import pytest
import torch

from models.checkpoint import FORMAT
from tests.badinput import error_line
from tests.conftest import REPO, run_module


@pytest.mark.parametrize("value, problem", [
    ("[1", "expected ',' or ']', but got '<stream end>'"),
    ("\x01", "unacceptable character #x0001: special characters are not allowed"),
], ids=["unclosed", "control-character"])
def test_a_set_value_that_is_not_yaml_is_one_line(value, problem):
    done = run_module("pipeline.synth", "--set", f"synth.seed={value}")
    override = f"synth.seed={value}"
    assert error_line(done, "synth") == f"--set {override!r}: the value is not valid YAML ({problem})"


def test_a_params_file_with_a_wrong_type_a_repeated_key_or_not_text_is_one_line(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text((REPO / "params.yaml").read_text().replace("  seed: 0\n", "  seed: zero\n", 1))
    done = run_module("pipeline.synth", "--params", str(params))
    assert error_line(done, "synth") == f"{params}: 'synth.seed' must be int, got str 'zero'"
    params.write_text((REPO / "params.yaml").read_text().replace("  seed: 0\n", "  seed: 0\n  seed: 3\n", 1))
    line = (REPO / "params.yaml").read_text().splitlines().index("  seed: 0") + 2
    done = run_module("pipeline.synth", "--params", str(params))
    assert error_line(done, "synth") == f"{params}: line {line} not valid YAML (key 'seed' given twice)"
    params.write_bytes(b"\xff\xfe" + (REPO / "params.yaml").read_bytes())
    done = run_module("pipeline.synth", "--params", str(params))
    assert error_line(done, "synth") == f"{params}: not a UTF-8 text file (invalid start byte at byte 0)"


def evaluate_with(checkpoint, tmp_path, backend="serial"):
    root = REPO.parent / "shared/data/otb"
    return run_module("pipeline.evaluate", "--variant", "siamfc_alexnet", "--benchmark", "synth-otb",
                      "--checkpoint", str(checkpoint), "--set", f"benchmarks.synth-otb.root={root}",
                      "--set", f"evaluate.results={tmp_path / 'results'}", "--set", f"evaluate.backend={backend}")


def test_a_text_file_or_an_incomplete_checkpoint_stops_evaluate_with_one_line(tmp_path):
    text = tmp_path / "notes.pt"
    text.write_text("epoch 3: loss 0.41\n")
    assert error_line(evaluate_with(text, tmp_path), "evaluate").startswith(f"{text}: not a readable checkpoint (")
    on_ray = evaluate_with(text, tmp_path, backend="ray")
    assert error_line(on_ray, "evaluate").startswith(f"{text}: not a readable checkpoint (")
    assert "seq/s" not in on_ray.stderr  # refused before Ray and the progress bar start
    incomplete = tmp_path / "incomplete.pt"
    torch.save({"format": FORMAT, "variant": "siamfc_alexnet"}, incomplete)
    assert error_line(evaluate_with(incomplete, tmp_path), "evaluate") == (
        f"{incomplete}: an incomplete siamflow checkpoint (no variant, config or weights)")
