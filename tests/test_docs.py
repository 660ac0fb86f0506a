"""What the docs tell a user to type is valid as written: every `--set` and `dvc exp run -S` example loads
against params.yaml, and every relative link points at a file that exists."""
import re

import pytest

from pipeline.config.params import load_params
from tests.conftest import REPO

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
# An example: --set KEY=VALUE or -S KEY=VALUE, unquoted (quoted values in the docs are the catalogue's deliberately
# bad inputs, shown with the error line they give) and without a placeholder in capitals.
EXAMPLE = re.compile(r"(?:--set|-S)[ =]([a-z_][\w.-]*=[^\s`'\"|]+)")
LINK = re.compile(r"\]\(([^)#:]+)(?:#[^)]*)?\)")


def examples():
    found = {(page.name, m) for page in PAGES for m in EXAMPLE.findall(page.read_text())}
    return sorted((page, m) for page, m in found if not re.search(r"=[A-Z]+$|<", m))


def test_the_docs_have_examples_to_check():
    assert len(examples()) >= 10 and {"synth.seed=3", "mlflow.tracking_uri=off"} <= {m for _, m in examples()}


@pytest.mark.parametrize("page, override", examples())
def test_every_documented_set_example_is_valid_as_written(page, override):
    load_params(REPO / "params.yaml", [override])


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_lead_to_files(page):
    missing = [target for target in LINK.findall(page.read_text()) if not (page.parent / target).exists()]
    assert not missing, f"{page.name}: {missing}"
