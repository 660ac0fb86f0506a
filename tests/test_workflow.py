"""Snakemake plans the same stages that dvc.yaml runs (a dry run; real runs come with the grids)."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def test_snakemake_dry_run_plans_synth_and_one_index_per_dataset(tmp_path):
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    snakemake = Path(sys.executable).with_name("snakemake")
    result = subprocess.run([str(snakemake), "-n", "--cores", "1", "-s", str(REPO / "Snakefile"), "-d", str(tmp_path)],
                            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 0, result.stderr
    jobs = dict(re.findall(r"^(synth|index|curate|all)\s+(\d+)$", result.stdout + result.stderr, re.M))
    assert jobs == {"synth": "1", "index": "4", "curate": "4", "all": "1"}
