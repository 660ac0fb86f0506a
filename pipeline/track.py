"""python -m pipeline.track --checkpoint C (--video FILE | --frames DIR) --box x,y,w,h [--out FILE] [--show OUT.mp4|OUT.gif]:
track one object through a video or a folder of images, the demo of every tracker project.

The box is the object in the first frame, 0-based x,y,w,h in siamflow's continuous pixel coordinates (the
top-left corner of pixel (0, 0) is 0,0). The output has one line x,y,w,h per frame, the first the given box
(default: <input name>.txt in the current folder); a SiamMask checkpoint also writes its rotated rectangles,
eight values x1,y1,...,x4,y4 per frame, to <out>.polygons.txt (with trackers.siammask.rotated=true; else the
box's corners). --show writes the frames annotated (the box,
and SiamMask's mask and rectangle) as an mp4 or a gif.

Tracker settings: params.yaml trackers.<kind>, then the checkpoint's own (an imported model's released
settings, python -m pipeline.convert), then any --set trackers.<kind>.KEY=VALUE given here.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # FFmpeg's own lines would follow our one error line
import cv2  # noqa: E402
import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

from pipeline import cli  # noqa: E402
from pipeline.common.errors import UserError  # noqa: E402
from pipeline.common.files import write_atomic  # noqa: E402
from pipeline.config.schema import Params  # noqa: E402

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


def parse_box(text: str, frame: np.ndarray) -> np.ndarray:
    """x,y,w,h as floats: four numbers, a positive size, overlapping the first frame."""
    try:
        box = np.array([float(v) for v in text.split(",")])
    except ValueError:
        box = np.array([])
    if box.shape != (4,) or not np.isfinite(box).all():
        raise UserError(f"--box {text!r}: expected four numbers x,y,w,h")
    x, y, w, h = box
    if w <= 0 or h <= 0:
        raise UserError(f"--box {text!r}: the size {w:g} x {h:g} is not positive")
    height, width = frame.shape[:2]
    if x >= width or y >= height or x + w <= 0 or y + h <= 0:
        raise UserError(f"--box {text!r}: outside the first frame ({width} x {height})")
    return box


def open_frames(video: str | None, frames: str | None) -> tuple[int, object]:
    """(frame count, iterator of BGR frames); an unreadable source is one line naming it."""
    if video is not None:
        capture = cv2.VideoCapture(video)
        if not Path(video).is_file() or not capture.isOpened():
            raise UserError(f"{video}: not a video OpenCV can open")
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))

        def read_video():
            while True:
                ok, frame = capture.read()
                if not ok:
                    return
                yield frame
        return count, read_video()
    folder = Path(frames)
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES) if folder.is_dir() else []
    if not paths:
        raise UserError(f"{folder}: no {'/'.join(s[1:] for s in IMAGE_SUFFIXES)} images in this folder")

    def read_folder():
        for path in paths:
            frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if frame is None:
                raise UserError(f"{path}: not an image OpenCV can read")
            yield frame
    return len(paths), read_folder()


def tracker_settings(params: Params, overrides: list[str], kind: str, released: dict) -> dict:
    """params.yaml's trackers.<kind>, the checkpoint's released settings, then this command's --set."""
    explicit = {o.split("=", 1)[0].removeprefix(f"trackers.{kind}.") for o in overrides
                if o.startswith(f"trackers.{kind}.")}
    own = params.trackers.get(kind, {})
    return {**own, **released, **{k: own[k] for k in explicit if k in own}}


def annotate(frame: np.ndarray, prediction) -> np.ndarray:
    """The frame with the box (yellow), and SiamMask's mask (tinted) and rectangle (green)."""
    image = frame.copy()
    if prediction.mask is not None:
        tint = image.copy()
        tint[prediction.mask > 0] = (0, 0, 255)
        image = cv2.addWeighted(image, 0.6, tint, 0.4, 0)
    if prediction.polygon is not None:
        cv2.polylines(image, [np.round(prediction.polygon - 0.5).astype(np.int32)], True, (0, 255, 0), 2)
    x, y, w, h = prediction.box
    cv2.rectangle(image, (round(x), round(y)), (round(x + w) - 1, round(y + h) - 1), (0, 255, 255), 2)
    return image


def write_video(path: Path, frames: list[np.ndarray], fps: float) -> None:
    """An annotated mp4 (OpenCV, mp4v) or gif (Pillow), written under a temporary name and renamed."""
    tmp = path.with_name(f".{path.stem}.partial{path.suffix}")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        if path.suffix.lower() == ".gif":
            from PIL import Image
            images = [Image.fromarray(cv2.cvtColor(f, cv2.COLOR_BGR2RGB)) for f in frames]
            images[0].save(tmp, save_all=True, append_images=images[1:], duration=round(1000 / fps), loop=0)
        else:
            height, width = frames[0].shape[:2]
            writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
            for frame in frames:
                writer.write(frame)
            writer.release()
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def run(checkpoint: str, source: tuple[str | None, str | None], box_text: str, out: Path, show: Path | None,
        params: Params, overrides: list[str], device: str = "cpu") -> np.ndarray:
    """Track, write the box file (and polygons, video) and return the boxes (n, 4)."""
    from models.checkpoint import load_checkpoint
    from models.trackers import make_tracker
    from models.trackers.siammask import box_corners
    count, frames = open_frames(*source)
    first = next(frames, None)
    if first is None:
        raise UserError(f"{source[0] or source[1]}: no frames")
    box = parse_box(box_text, first)
    if device.startswith("cuda"):
        import torch
        if not torch.cuda.is_available():
            raise UserError(f"--device {device}: no CUDA device on this machine")
    model, saved = load_checkpoint(checkpoint, map_location=device)
    tracker = make_tracker(model, tracker_settings(params, overrides, model.kind, saved.get("tracker", {})), device)
    tracker.init(first, box)
    boxes, polygons, shown = [box], [box_corners(box)], []
    with tqdm(frames, total=max(count - 1, 0) or None, desc="track", unit="frame") as bar:
        start = time.perf_counter()
        for number, frame in enumerate(bar, start=1):
            if frame.shape != first.shape:
                raise UserError(f"{source[0] or source[1]}: frame {number} is {frame.shape[1]} x {frame.shape[0]}, "
                                f"the first {first.shape[1]} x {first.shape[0]}")
            prediction = tracker.update(frame)
            boxes.append(prediction.box)
            polygons.append(prediction.polygon if prediction.polygon is not None else box_corners(prediction.box))
            if show is not None:
                shown.append(annotate(frame, prediction))
            bar.set_postfix(fps=f"{len(boxes[1:]) / (time.perf_counter() - start):.1f}")
    write_atomic(out, "".join(",".join(f"{v:.3f}" for v in b) + "\n" for b in boxes).encode())
    if model.kind == "siammask":
        write_atomic(out.with_name(out.name + ".polygons.txt"),
                     "".join(",".join(f"{v:.3f}" for v in np.ravel(p)) + "\n" for p in polygons).encode())
    if show is not None:
        write_video(show, [annotate(first, _first_prediction(box))] + shown, 30.0)
    print(f"track: {len(boxes)} frames -> {out}" + (f", {show}" if show is not None else ""))
    return np.array(boxes)


def _first_prediction(box):
    from models.trackers.base import Prediction
    return Prediction(np.asarray(box, float), 1.0)


def main() -> None:
    parser = cli.stage_parser("pipeline.track", __doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", required=True, help="a siamflow checkpoint (trained, or pipeline.convert's)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--video", help="any video OpenCV reads")
    source.add_argument("--frames", help="a folder of jpg/png/bmp images, tracked in name order")
    parser.add_argument("--box", required=True, help="the first frame's box, 0-based x,y,w,h")
    parser.add_argument("--out", help="the box file (default: <input name>.txt here)")
    parser.add_argument("--show", help="also write the annotated frames: OUT.mp4 or OUT.gif")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default: %(default)s)")
    args = parser.parse_args()
    if args.show and Path(args.show).suffix.lower() not in (".mp4", ".gif"):
        raise UserError(f"--show {args.show}: the annotated video is an .mp4 or a .gif")
    params, _ = cli.params_from_args(args)
    name = Path(args.video or args.frames.rstrip("/"))
    out = Path(args.out or f"{name.stem if args.video else name.name}.txt")
    run(args.checkpoint, (args.video, args.frames), args.box, out, Path(args.show) if args.show else None,
        params, args.overrides, args.device)


if __name__ == "__main__":
    cli.run(main, "track")
