"""How far siamflow's trackers are from the reference trackers on the real OTB sequence Crossing, in each crop
mode: the largest box difference over the 120 frames, the share of frames whose chosen cell (SiamFC: scale)
is the peer's, and for the official SiamFC weights the success AUC. Agreement, not speed; needs ../shared.

    python bench/parity.py            # prints a markdown table (docs/models.md#released-models)
"""
import glob
import json
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from models.convert import convert  # noqa: E402
from models.trackers import make_tracker  # noqa: E402
from pipeline.benchmarks.loaders import load_otb  # noqa: E402
from pipeline.benchmarks.metrics import iou_xywh, success_curve  # noqa: E402
from tests.models.test_parity import MODELS, _first_box  # noqa: E402

SHARED = REPO.parent / "shared"
PEERS, SIAMFC = SHARED / "reference" / "peers", SHARED / "reference" / "siamfc" / "Crossing"
OFFICIAL = SHARED / "weights" / "siamfc_alexnet_official2016_siamfc-pytorch.pth"


def track(conversion, crop: str, images: list, first) -> tuple[np.ndarray, list]:
    settings = {**conversion.tracker, "crop": crop}
    tracker = make_tracker(conversion.model, settings)
    tracker.init(images[0], first)
    boxes, choices = [np.asarray(first, float)], []
    for image in images[1:]:
        boxes.append(tracker.update(image).box)
        located = tracker.located
        choices.append(located.crop_index if located.cell is None else (located.anchor, *located.cell))
    return np.array(boxes), choices


def make_weights(name: str, folder: Path) -> Path:
    sys.path.insert(0, str(PEERS))
    from make_weights import make_state_dict
    path = folder / f"{name}.pth"
    torch.save(make_state_dict(str(PEERS / name / "keys.json")), path)
    return path


def main() -> None:
    images = [cv2.imread(p) for p in sorted(glob.glob(str(SHARED / "data/otb/Crossing/img/*.jpg")))]
    (sequence,) = [s for s in load_otb(SHARED / "data" / "otb") if s.name == "Crossing"]
    rows = ["| model | crop | largest box difference (px) | frames with the peer's choice | success AUC |",
            "|---|---|---|---|---|"]
    conversion = convert(OFFICIAL, "siamfc-pytorch")
    reference = np.loadtxt(SIAMFC / "Crossing.txt", delimiter=",")
    scales = np.loadtxt(SIAMFC / "Crossing.scores.txt", delimiter=",", comments="#")[1:, 2]
    auc = json.loads((SIAMFC / "Crossing.metrics.json").read_text())["got10k"]["auc"]
    rows.append(f"| siamfc-pytorch (official SiamFC) | its own | 0 | 119 / 119 | {auc:.4f} |")
    for crop in ("resize", "warp"):
        boxes, choices = track(conversion, crop, images, reference[0])
        same = int((np.array(choices) == scales).sum())
        success = success_curve(iou_xywh(boxes, sequence.gt)).mean()
        rows.append(f"| siamfc-pytorch alexnet | {crop} | {np.abs(boxes - reference)[1:].max():.2g} | "
                    f"{same} / 119 | {success:.4f} |")
    with tempfile.TemporaryDirectory() as folder:
        for name, fmt, _ in MODELS:
            conversion = convert(make_weights(name, Path(folder)), fmt)
            stem = PEERS / name / "Crossing.otbtest"
            reference = np.loadtxt(f"{stem}.txt", delimiter=",")[1:]
            cells = np.loadtxt(f"{stem}.argmax.txt", delimiter=",")[1:, :3]
            for crop in ("resize", "warp"):
                boxes, choices = track(conversion, crop, images, _first_box(name, fmt, "otbtest"))
                difference = np.abs(boxes[1:] - [0.5, 0.5, 0, 0] - reference).max()
                same = int((np.array(choices) == cells).all(1).sum())
                rows.append(f"| {name} ({conversion.model.variant}) | {crop} | {difference:.2g} | {same} / 119 | - |")
            print(rows[-2], rows[-1], sep="\n", file=sys.stderr, flush=True)
    print("\n".join(rows))


if __name__ == "__main__":
    torch.set_num_threads(2)
    main()
