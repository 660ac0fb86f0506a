"""Tracker speed: frames per second of every variant, at the width params.yaml gives it and at the paper's.

    python bench/tracker.py [--benchmark synth-otb] [--frames 60] [--devices cpu,cuda] [--json PATH]

Tracks the first sequence of the benchmark (after `make repro`, or any benchmark of params.yaml) with fresh
weights (speed does not depend on training) and the trackers section's settings. The time is the tracker's
update alone, as in evaluate's speed.json (image decode excluded); the first 5 updates warm up and are not
counted. CPU runs with one torch thread, as each evaluate worker does; cuda is measured when asked for and
present, and the ratio cuda / cpu is taken per variant in the same run.
"""
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from models.kinds import head_kind  # noqa: E402
from models.trackers import make_tracker  # noqa: E402
from models.variants import build_model  # noqa: E402
from pipeline.benchmarks.catalogue import load_benchmark, tracker_settings  # noqa: E402
from pipeline.benchmarks.protocols.base import read_image  # noqa: E402
from pipeline.config.params import load_params  # noqa: E402

import common  # noqa: E402

WARM_UP = 5


def frames_per_second(model, settings: dict, images: list, box, device: str) -> float:
    tracker = make_tracker(model, settings, device)
    tracker.init(images[0], box)
    for image in images[1:1 + WARM_UP]:
        tracker.update(image)
    start = time.perf_counter()
    for image in images[1 + WARM_UP:]:
        tracker.update(image)  # returns a box on the host: the device's work is done when it returns
    return (len(images) - 1 - WARM_UP) / (time.perf_counter() - start)


def main():
    parser = common.parser(__doc__)
    parser.add_argument("--benchmark", default="synth-otb", help="a benchmark of params.yaml (default: %(default)s)")
    parser.add_argument("--frames", type=int, default=60, help="frames tracked per measurement (default: %(default)s)")
    parser.add_argument("--devices", default="cpu", help="comma-separated: cpu, cuda (default: %(default)s)")
    parser.add_argument("--variants", help="comma-separated (default: every variant of params.yaml)")
    args = parser.parse_args()
    params = load_params("params.yaml")
    devices = [d for d in args.devices.split(",") if d != "cuda" or torch.cuda.is_available()]
    sequence = load_benchmark(args.benchmark, params.benchmarks[args.benchmark])[0]
    images = [read_image(p) for p in sequence.frames[:args.frames]]
    if len(images) <= WARM_UP + 1:
        raise SystemExit(f"tracker: {sequence.name} has {len(images)} frames; more than {WARM_UP + 1} are needed")
    torch.set_num_threads(1)
    rows, ratios = [], []
    for variant in (args.variants.split(",") if args.variants else params.variants):
        config = params.variants[variant]
        kind = head_kind(config["head"]).name
        settings = tracker_settings(params, args.benchmark, kind)
        for width in (config["width"], 1.0):
            torch.manual_seed(0)
            model = build_model(variant, **{**config, "width": width}).eval()
            fps = {}
            for device in devices:
                fps[device] = frames_per_second(model.to(device), settings, images, sequence.init_box, device)
                rows.append((f"{variant} width {width:g}, {device}", fps[device], "frames/s"))
            if len(fps) == 2:
                ratios.append((f"{variant} width {width:g}: cuda / cpu", fps["cuda"] / fps["cpu"]))
    names = {d: torch.cuda.get_device_name(0) if d == "cuda" else "1 CPU thread" for d in devices}
    common.report(args, f"tracker: {sequence.name} of {args.benchmark} ({images[0].shape[1]}x{images[0].shape[0]}), "
                  f"{len(images) - 1 - WARM_UP} timed updates, on {', '.join(names.values())}", rows, ratios)


if __name__ == "__main__":
    main()
