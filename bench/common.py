"""What every bench script shares: a --json option and one way to print and save its measurements."""
import argparse
import json
import os
from pathlib import Path


def parser(doc: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--json", help="also write the measurements to this file (bench/run.py collects them)")
    return parser


def subprocess_env(repo: Path) -> dict:
    """The environment for a stage run as a subprocess: the repository first on PYTHONPATH, what was there kept."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(repo), os.environ.get("PYTHONPATH")]))}


def report(args, setup: str, rows: list[tuple[str, float, str]], ratios: list[tuple[str, float]]) -> None:
    """Prints the measurements (name, value, unit) and the ratios between them, all taken in this run."""
    print(setup)
    for name, value, unit in rows:
        print(f"  {name:36s} {value:10.2f} {unit}")
    for name, value in ratios:
        print(f"  {name:36s} {value:10.2f}x")
    if args.json:
        result = {"setup": setup, "cores": os.cpu_count(), "rows": [list(r) for r in rows],
                  "ratios": [list(r) for r in ratios]}
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
