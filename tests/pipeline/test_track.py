"""python -m pipeline.track, as a user runs it: a video or a folder of frames, boxes out, an annotated video."""
from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from models.checkpoint import save_checkpoint
from models.variants import build_model
from tests.conftest import REPO, SHARED, needs_shared

FRAMES = 6


def track(*args):
    return subprocess.run([sys.executable, "-m", "pipeline.track", *map(str, args)], cwd=REPO, capture_output=True,
                          text=True)


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """A small checkpoint, a square moving right over noise as a folder of frames and as an mp4."""
    folder = tmp_path_factory.mktemp("track")
    torch.manual_seed(0)
    save_checkpoint(folder / "siamfc.pt", build_model("siamfc_alexnet", width=0.25), epoch=0, step=0,
                    params_hash="", git_commit="")
    rng = np.random.default_rng(0)
    (folder / "frames").mkdir()
    writer = cv2.VideoWriter(str(folder / "clip.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 10, (160, 120))
    for i in range(FRAMES):
        frame = rng.integers(0, 60, (120, 160, 3), dtype=np.uint8)
        frame[50:70, 40 + 3 * i:60 + 3 * i] = (40, 200, 240)
        cv2.imwrite(str(folder / "frames" / f"{i:04d}.png"), frame)
        writer.write(frame)
    writer.release()
    return folder


def test_a_folder_of_frames_gives_a_box_per_frame_and_an_annotated_gif(scene, tmp_path):
    out, gif = tmp_path / "boxes.txt", tmp_path / "shown.gif"
    done = track("--checkpoint", scene / "siamfc.pt", "--frames", scene / "frames", "--box", "40,50,20,20",
                 "--out", out, "--show", gif)
    assert done.returncode == 0, done.stderr
    boxes = np.loadtxt(out, delimiter=",")
    assert boxes.shape == (FRAMES, 4) and np.isfinite(boxes).all()
    assert boxes[0].tolist() == [40, 50, 20, 20]
    assert Image.open(gif).n_frames == FRAMES


def test_a_video_gives_an_mp4_that_opens(scene, tmp_path):
    out, mp4 = tmp_path / "boxes.txt", tmp_path / "shown.mp4"
    done = track("--checkpoint", scene / "siamfc.pt", "--video", scene / "clip.mp4", "--box", "40,50,20,20",
                 "--out", out, "--show", mp4, "--set", "trackers.siamfc.scales=5")
    assert done.returncode == 0, done.stderr
    assert len(out.read_text().splitlines()) == FRAMES
    capture = cv2.VideoCapture(str(mp4))
    assert capture.isOpened() and int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == FRAMES


def test_siammask_writes_its_rotated_rectangles(scene, tmp_path):
    torch.manual_seed(0)
    model = build_model("siammask_r50", width=0.125, hidden=16, neck_channels=16)
    save_checkpoint(tmp_path / "mask.pt", model, epoch=0, step=0, params_hash="", git_commit="")
    out = tmp_path / "boxes.txt"
    done = track("--checkpoint", tmp_path / "mask.pt", "--frames", scene / "frames", "--box", "40,50,20,20",
                 "--out", out, "--set", "trackers.siammask.rotated=true")
    assert done.returncode == 0, done.stderr
    polygons = np.loadtxt(tmp_path / "boxes.txt.polygons.txt", delimiter=",")
    assert polygons.shape == (FRAMES, 8) and np.isfinite(polygons).all()


@pytest.mark.parametrize("args,message", [
    (["--video", "{scene}/missing.mp4"], "missing.mp4: not a video OpenCV can open"),
    (["--video", "{scene}/frames/0000.png.txt"], "not a video OpenCV can open"),
    (["--frames", "{scene}/empty"], "empty: no jpg/jpeg/png/bmp images"),
    (["--frames", "{scene}/frames", "--box", "1,2,3"], "expected four numbers"),
    (["--frames", "{scene}/frames", "--box", "10,10,0,5"], "is not positive"),
    (["--frames", "{scene}/frames", "--box", "500,10,5,5"], "outside the first frame (160 x 120)"),
    (["--frames", "{scene}/frames", "--checkpoint", "{scene}/frames/0000.png"], "0000.png: not a readable checkpoint"),
])
def test_bad_input_is_one_line_and_writes_nothing(scene, tmp_path, args, message):
    (scene / "empty").mkdir(exist_ok=True)
    (scene / "frames" / "0000.png.txt").write_text("not a video")
    args = [a.format(scene=scene) for a in args]
    defaults = {"--checkpoint": str(scene / "siamfc.pt"), "--box": "40,50,20,20"}
    for key, value in defaults.items():
        if key not in args:
            args += [key, value]
    out = tmp_path / "boxes.txt"
    done = track(*args, "--out", out, "--show", tmp_path / "shown.gif")
    (scene / "frames" / "0000.png.txt").unlink()
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert not out.exists() and not (tmp_path / "shown.gif").exists()


def test_frames_of_another_size_a_broken_mp4_and_a_missing_gpu_are_one_line(scene, tmp_path):
    (tmp_path / "frames").mkdir()
    for i, size in enumerate([(120, 160), (100, 160)]):
        cv2.imwrite(str(tmp_path / "frames" / f"{i}.png"), np.zeros((*size, 3), np.uint8))
    (tmp_path / "broken.mp4").write_bytes(b"not a video at all")
    cases = [(["--frames", tmp_path / "frames"], "frame 1 is 160 x 100, the first 160 x 120"),
             (["--video", tmp_path / "broken.mp4"], "broken.mp4: not a video OpenCV can open")]
    if not torch.cuda.is_available():
        cases.append((["--frames", scene / "frames", "--device", "cuda"], "no CUDA device"))
    for args, message in cases:
        done = track("--checkpoint", scene / "siamfc.pt", *args, "--box", "40,50,20,20", "--out", tmp_path / "o.txt",
                     "--show", tmp_path / "o.mp4")
        assert done.returncode == 2 and message in done.stderr, done.stderr
        # one error line (a frame found bad mid-way follows the progress bar) and nothing written
        lines = [line for line in done.stderr.splitlines() if line.strip() and "frame/s]" not in line]
        assert len(lines) == 1 and lines[0].startswith("track: error: "), done.stderr
        assert not (tmp_path / "o.txt").exists() and not (tmp_path / "o.mp4").exists()


@needs_shared
def test_the_official_siamfc_tracks_crossing(tmp_path):
    """The README's demo: the converted official weights on the real OTB sequence, 120 boxes, success AUC
    0.7714 (the default warp crop; siamfc-pytorch's own tracker: 0.7710)."""
    from pipeline.benchmarks.loaders import load_otb
    from pipeline.benchmarks.metrics import iou_xywh, success_curve
    from pipeline.convert import import_checkpoint
    checkpoint = tmp_path / "siamfc_official.pt"
    import_checkpoint(str(SHARED / "weights" / "siamfc_alexnet_official2016_siamfc-pytorch.pth"), "siamfc-pytorch",
                      None, str(checkpoint))
    out = tmp_path / "Crossing.txt"
    done = track("--checkpoint", checkpoint, "--frames", SHARED / "data/otb/Crossing/img", "--box", "204,150,17,50",
                 "--out", out)
    assert done.returncode == 0, done.stderr
    boxes = np.loadtxt(out, delimiter=",")
    (crossing,) = [s for s in load_otb(SHARED / "data" / "otb") if s.name == "Crossing"]
    assert boxes.shape == (120, 4)
    assert success_curve(iou_xywh(boxes, crossing.gt)).mean() == pytest.approx(0.7714, abs=5e-4)
