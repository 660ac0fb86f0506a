"""The safety claims of docs/reliability.md, each a test that fails if it regresses: files that would run
code when loaded (pickles, YAML tags, yte expressions) are refused and their code does not run, and the
project's code holds no unsafe loader."""
import os
import pickle
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
import yaml

from models import ModelError
from models.backbones import load_pretrained
from models.checkpoint import FORMAT, load_checkpoint
from models.variants import build_model
from pipeline.data import index as dataset_index
from pipeline.config.params import ParamsError, load_params
from tests.conftest import REPO


class Payload:
    """Unpickling this creates the folder `path`: a stand-in for any code a file could carry."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return os.mkdir, (self.path,)


def test_the_payload_runs_under_a_plain_unpickler(tmp_path):
    """The control for the tests below: what they refuse would have run."""
    pickle.loads(pickle.dumps(Payload(tmp_path / "ran")))
    assert (tmp_path / "ran").is_dir()


@pytest.mark.filterwarnings("error")  # and no warning from torch before the one line
def test_checkpoints_and_pretrained_weights_carrying_code_are_refused_and_it_does_not_run(tmp_path):
    torch.save({"format": FORMAT, "variant": "siamfc_alexnet", "model": Payload(tmp_path / "ran-torch")},
               tmp_path / "torch.pt")
    with open(tmp_path / "plain.pt", "wb") as f:
        pickle.dump(Payload(tmp_path / "ran-plain"), f)
    for name in ("torch.pt", "plain.pt"):
        with pytest.raises(ModelError) as err:
            load_checkpoint(tmp_path / name)
        assert str(err.value) == f"{tmp_path / name}: not a readable checkpoint (UnpicklingError)"
        with pytest.raises(ModelError, match=r"not a PyTorch state dict \(UnpicklingError\)"):
            load_pretrained(build_model("siamrpnpp_r18", width=0.25).backbone, tmp_path / name)
    assert not list(tmp_path.glob("ran-*"))


def test_yaml_tags_that_would_run_code_are_refused_and_do_not_run(tmp_path):
    def tag(folder):
        return f"!!python/object/apply:os.mkdir [{str(tmp_path / folder)!r}]"
    yaml.unsafe_load(tag("control"))  # what an unsafe loader would do
    assert (tmp_path / "control").is_dir()
    params = tmp_path / "params.yaml"
    params.write_text((REPO / "params.yaml").read_text().replace("  seed: 0\n", f"  seed: {tag('ran')}\n", 1))
    with pytest.raises(ParamsError, match=r"not valid YAML \(could not determine a constructor for the tag"):
        load_params(params)
    with pytest.raises(ParamsError, match=r"the value is not valid YAML \(could not determine a constructor"):
        load_params(REPO / "params.yaml", [f"synth.seed={tag('ran')}"])
    assert not (tmp_path / "ran").exists()


def test_snakemake_does_not_run_python_written_in_params_yaml(tmp_path):
    """Snakemake's `configfile:` reads YAML with yte, which evaluates `?` expressions in a file that sets
    __use_yte__; the Snakefile reads params.yaml with yaml.safe_load after load_params has checked it."""
    import yte
    def expression(folder):
        return f"?__import__('os').mkdir({str(tmp_path / folder)!r})"
    yte.process_yaml(f"__use_yte__: true\nx: {expression('control')}\n", require_use_yte=True)
    assert (tmp_path / "control").is_dir()  # what `configfile: params.yaml` would do
    (tmp_path / "params.yaml").write_text(f"__use_yte__: true\nx: {expression('ran')}\n"
                                          + (REPO / "params.yaml").read_text())
    plan = subprocess.run([os.path.join(os.path.dirname(sys.executable), "snakemake"), "-s", str(REPO / "Snakefile"),
                           "-d", str(tmp_path), "-n"], env={**os.environ, "PYTHONPATH": str(REPO)},
                          capture_output=True, text=True)
    assert plan.returncode != 0
    (line,) = [x for x in plan.stderr.splitlines() if x.strip()]
    assert line.startswith("snakemake: error: params.yaml: unknown key '__use_yte__' in section 'top level'")
    assert not (tmp_path / "ran").exists()


def test_index_arrays_are_loaded_without_pickle(tmp_path):
    (tmp_path / "vid.json").write_text('{"categories": [], "videos": [], "tracks": []}')
    (tmp_path / "vid.images.txt").write_text("")
    np.save(tmp_path / "vid.frames.npy", np.array([Payload(tmp_path / "ran")], dtype=object), allow_pickle=True)
    np.save(tmp_path / "vid.polygons.npy", np.zeros((0, 2), np.float32))
    with pytest.raises(ValueError):
        dataset_index.load(tmp_path, "vid")
    assert not (tmp_path / "ran").exists()


# What must not appear in the project's code (tests/ excepted: they write the bad files).
UNSAFE = {
    "pickle": r"^\s*(import|from)\s+(pickle|cloudpickle|dill|shelve|marshal)\b|\b(pickle|dill)\.(load|loads|Unpickler)\b",
    "a YAML loader other than safe_load": r"\byaml\.(load|load_all|full_load|unsafe_load)\(|UnsafeLoader|FullLoader",
    "np.load with pickle": r"allow_pickle\s*=\s*True",
    "eval or exec": r"(?<![\w.])(eval|exec)\(",
    "a module named at run time": r"\bimportlib\b|__import__\(",
    "Snakemake's configfile (read with yte)": r"^\s*configfile\s*:",
}


def project_files():
    skip = {".venv", ".git", ".dvc", "tests", "data", "runs", "results", "mlruns", "logs"}
    for path in sorted(REPO.rglob("*")):
        parts = path.relative_to(REPO).parts
        if parts[0] in skip or any(p.startswith(".") for p in parts):
            continue
        if path.suffix in (".py", ".smk") or path.name == "Snakefile":
            yield path


def test_the_project_code_has_no_unsafe_loader_and_runs_no_code_named_by_data():
    files = list(project_files())
    assert REPO / "pipeline/index.py" in files and REPO / "Snakefile" in files
    found = []
    for path in files:
        source = path.read_text()
        for what, pattern in UNSAFE.items():
            for match in re.finditer(pattern, source, re.M):
                line = source.count("\n", 0, match.start()) + 1
                found.append(f"{path.relative_to(REPO)}:{line}: {what}")
        for call in re.finditer(r"torch\.load\(([^)]*)\)", source):
            if "weights_only=True" not in call.group(1):
                found.append(f"{path.relative_to(REPO)}: torch.load without weights_only=True")
    assert found == []


def test_the_mlflow_server_and_ui_bind_to_localhost_by_default():
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_HOST"}
    for target in ("mlflow-server", "mlflow-ui"):
        plan = subprocess.run(["make", "-n", target], cwd=REPO, env=env, capture_output=True, text=True)
        assert plan.returncode == 0, plan.stderr
        lines = plan.stdout.replace("\\\n", " ").splitlines()  # make -n keeps the recipe's line continuations
        (command,) = [line for line in lines if line.lstrip().startswith("mlflow ")]
        assert "--host 127.0.0.1 " in command, command
