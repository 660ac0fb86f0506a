"""Every stage command answers --help."""
import pkgutil

import pytest

import pipeline
from tests.conftest import REPO, run_module

STAGES = sorted(m.name for m in pkgutil.iter_modules(pipeline.__path__) if not m.ispkg
                and "def main(" in (REPO / "pipeline" / f"{m.name}.py").read_text())

PARAMLESS = {"convert"}  # it converts one file to another and reads no params.yaml


def test_the_stages_are_found():
    assert {"synth", "index"} <= set(STAGES)


@pytest.mark.parametrize("stage", STAGES)
def test_every_stage_answers_help(stage):
    result = run_module(f"pipeline.{stage}", "--help", check=True)
    assert result.stdout.startswith(f"usage: python -m pipeline.{stage}")
    assert ("--set SECTION.KEY=VALUE" in result.stdout) == (stage not in PARAMLESS)
