"""bench/run.py collects a section into results.json and its Markdown table, and merges another machine's
sections (the speeds themselves are measured by `make bench`, not asserted here)."""
import json
import subprocess
import sys

from tests.conftest import REPO


def test_a_bench_section_lands_in_the_results_and_a_merge_keeps_both(tmp_path):
    results = tmp_path / "results.json"
    run = [sys.executable, str(REPO / "bench/run.py"), "--results", str(results), "--no-readme"]
    done = subprocess.run([*run, "--only", "score"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    score = json.loads(results.read_text())["sections"]["score"]
    assert score["command"] == "python bench/score.py" and score["machine"] and score["cores"] >= 1
    (ratio,) = score["ratios"]
    (_, vectorized, _), (_, loop, unit) = score["rows"]
    assert ratio[0] == "frame loop time / vectorized time" and ratio[1] == loop / vectorized and unit == "s"
    other = tmp_path / "gpu.json"
    other.write_text(json.dumps({"sections": {"tracker (cpu,cuda)": {**score, "setup": "elsewhere"}}}))
    assert subprocess.run([*run, "--merge", str(other)], cwd=REPO, capture_output=True).returncode == 0
    assert set(json.loads(results.read_text())["sections"]) == {"score", "tracker (cpu,cuda)"}
    table = results.with_suffix(".md").read_text()
    assert "| score | **frame loop time / vectorized time** |" in table and "| tracker (cpu,cuda) | elsewhere |" in table
    bad = subprocess.run([*run, "--only", "nothing"], cwd=REPO, capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown section 'nothing'" in bad.stderr
