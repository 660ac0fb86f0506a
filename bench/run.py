"""make bench: the measurements of bench/ in one go, into bench/results.json, bench/results.md and docs/performance.md.

    python bench/run.py [--only curate,train,tracker,score,repro] [--devices cpu,cuda] [--results PATH]
    python bench/run.py --merge OTHER.json     # sections measured on another machine (a GPU one)

Each section is one script run as its own process; its ratios are taken within that run. A section
replaces the one of the same name and device in the results file, so a GPU machine's tracker section and
this machine's others live side by side, each with its machine, date and command.
"""
import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
SCRIPTS = {"curate": ["curate.py"], "train": ["train.py"], "tracker": ["tracker.py"], "score": ["score.py"],
           "repro": ["repro.py"]}
TABLE_START, TABLE_END = "<!-- bench:start -->", "<!-- bench:end -->"
PAGE = BENCH.parent / "docs" / "performance.md"   # the page whose table sits between the markers


def machine() -> str:
    import torch
    cpu = platform.processor() or platform.machine()
    gpu = f", {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ""
    return f"{platform.node()}: {cpu}, {len(os.sched_getaffinity(0))} cores{gpu}; torch {torch.__version__}"


def measure(name: str, extra: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        command = [sys.executable, str(BENCH / SCRIPTS[name][0]), *extra, "--json", str(out)]
        print(f"bench: {name}: {' '.join(command[1:-2])}", flush=True)
        subprocess.run(command, check=True)
        result = json.loads(out.read_text())
    return result | {"command": " ".join(["python", f"bench/{SCRIPTS[name][0]}", *extra]), "machine": machine(),
                     "date": datetime.date.today().isoformat()}


def section_runs(name: str, devices: list[str]) -> list[tuple[str, list[str]]]:
    """(results key, script options) of each run of a section: the tracker measures every device in one run;
    training on CUDA is a run of its own, on the paper's SiamRPN++ ResNet-50 (the demo's small models would
    only measure the loader) with a loader worker per spare core."""
    if name == "tracker":
        return [(f"tracker ({','.join(devices)})", ["--devices", ",".join(devices)])]
    if name == "train":
        gpu = ["--device", "cuda", "--variant", "siamrpnpp_r50", "--set", "train.profile=paper", "--pairs", "2048",
               "--loader-workers", str(max(1, len(os.sched_getaffinity(0)) - 2))]
        return [("train" if device == "cpu" else f"train ({device})", [] if device == "cpu" else gpu)
                for device in devices]
    return [(name, [])]


def markdown(sections: dict) -> str:
    lines = ["| section | measurement | value | unit |", "| --- | --- | --- | --- |"]
    for key, s in sections.items():
        lines += [f"| {key} | {name} | {value:.2f} | {unit} |" for name, value, unit in s["rows"]]
        lines += [f"| {key} | **{name}** | **{value:.2f}** | ratio |" for name, value in s["ratios"]]
    lines += ["", "| section | set-up | command | machine | date |", "| --- | --- | --- | --- | --- |"]
    lines += [f"| {key} | {s['setup']} | `{s['command']}` | {s['machine']} | {s['date']} |" for key, s in sections.items()]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(SCRIPTS), help="sections to run (default: %(default)s)")
    parser.add_argument("--devices", default="cpu", help="tracker and training devices, cpu and/or cuda "
                        "(default: %(default)s)")
    parser.add_argument("--results", default=str(BENCH / "results.json"), help="default: %(default)s")
    parser.add_argument("--merge", help="add the sections of another results file (measured elsewhere)")
    parser.add_argument("--no-readme", action="store_true", help="leave docs/performance.md's table as it is")
    args = parser.parse_args()
    results = Path(args.results)
    sections = json.loads(results.read_text())["sections"] if results.exists() else {}
    if args.merge:
        sections |= json.loads(Path(args.merge).read_text())["sections"]
    else:
        for name in args.only.split(","):
            if name not in SCRIPTS:
                parser.error(f"--only: unknown section {name!r} ({', '.join(SCRIPTS)})")
            for key, extra in section_runs(name, args.devices.split(",")):
                sections[key] = measure(name, extra)
                results.write_text(json.dumps({"sections": sections}, indent=1) + "\n")  # a section at a time
    results.write_text(json.dumps({"sections": sections}, indent=1) + "\n")
    table = markdown(sections)
    results.with_suffix(".md").write_text(f"# Benchmarks (python bench/run.py)\n\n{table}")
    if not args.no_readme and PAGE.exists() and TABLE_START in PAGE.read_text():
        head, rest = PAGE.read_text().split(TABLE_START, 1)
        PAGE.write_text(f"{head}{TABLE_START}\n{table}{TABLE_END}{rest.split(TABLE_END, 1)[1]}")
    print(table)


if __name__ == "__main__":
    main()
