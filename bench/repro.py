"""`make repro` wall time with every stage rerunning: `dvc repro --force` and the summaries, set-up excluded.

    python bench/repro.py [--json PATH]

Runs in this checkout, as `make repro` does: it recomputes every output of dvc.yaml (the same bytes for the
same code and params) and rewrites dvc.lock. Stage times come from the MLflow runs that the stages log.
"""
import os
import subprocess
import sys
import time

import common

SUMMARIES = [["pipeline.index", "--summary"], ["pipeline.curate", "--summary"], ["pipeline.score", "--summary"]]


def main():
    args = common.parser(__doc__).parse_args()
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "RAY_USAGE_STATS_ENABLED": "0"}
    start = time.perf_counter()
    subprocess.run(["dvc", "repro", "--force"], check=True, env=env, stdout=subprocess.DEVNULL)
    for summary in SUMMARIES:
        subprocess.run([sys.executable, "-m", *summary], check=True, env=env, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    common.report(args, "make repro: dvc repro --force (every stage of dvc.yaml) and the summaries, set-up excluded",
                  [("wall time", seconds / 60, "min")], [])


if __name__ == "__main__":
    main()
