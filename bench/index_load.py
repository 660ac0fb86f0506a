"""Loading a large index: pipeline.data.index.load against pysot-style nested JSON with one object per box.

    python bench/index_load.py [--frames 2000000]

Writes an index of N object-frames (VID-like: 40 frames per track, 2 tracks per video) both ways into a
temporary folder and prints the load times and their ratio, measured in the same run.
"""
import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pipeline.data import index as dataset_index  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=2_000_000, help="object-frames (default: %(default)s)")
    n = parser.parse_args().frames
    per_track, tracks_per_video = 40, 2
    n_tracks = n // per_track
    videos = [f"ILSVRC2015_VID_train_{v * 4 // (n_tracks // 2):04d}/ILSVRC2015_train_{v:08d}"
              for v in range(n_tracks // tracks_per_video)]
    images = [f"Data/VID/train/{v}/{t:06d}.JPEG" for v in videos for t in range(per_track)]
    frames = np.zeros(n_tracks * per_track, dataset_index.FRAME_DTYPE)
    frames["track"] = np.repeat(np.arange(n_tracks), per_track)
    frames["frame"] = np.tile(np.arange(per_track), n_tracks)
    frames["image"] = (frames["track"] // tracks_per_video) * per_track + frames["frame"]
    frames["box"] = [10, 20, 30, 40]
    frames["visible"] = 1
    meta = {"categories": ["n02958343"], "videos": videos,
            "tracks": [[t // tracks_per_video, str(t % tracks_per_video), 0] for t in range(n_tracks)]}
    # The previous approach (pysot's train.json): video -> track -> frame -> box, all in one JSON file.
    nested = {v: {str(k): {f"{t:06d}": [10, 20, 40, 60] for t in range(per_track)} for k in range(tracks_per_video)}
              for v in videos}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        np.save(tmp / "vid.frames.npy", frames)
        (tmp / "vid.json").write_text(json.dumps(meta))
        (tmp / "vid.images.txt").write_text("".join(f"{p}\n" for p in images))
        (tmp / "nested.json").write_text(json.dumps(nested))
        t0 = time.perf_counter()
        loaded = dataset_index.load(tmp, "vid")
        rows = sum(len(loaded.track_frames(t)) for t in range(0, n_tracks, 97))
        t1 = time.perf_counter()
        json.loads((tmp / "nested.json").read_text())
        t2 = time.perf_counter()
        sizes = [(tmp / f).stat().st_size for f in ("vid.frames.npy", "vid.json", "vid.images.txt", "nested.json")]
    assert rows == len(range(0, n_tracks, 97)) * per_track
    print(f"{n} object-frames: index.load {t1 - t0:.2f} s ({sum(sizes[:3]) / 1e6:.0f} MB), "
          f"nested JSON {t2 - t1:.2f} s ({sizes[3] / 1e6:.0f} MB); load time ratio {(t2 - t1) / (t1 - t0):.1f}x")


if __name__ == "__main__":
    main()
