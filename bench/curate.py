"""The curate stage against its floor: crops per second with 1 and 2 Ray workers and a bare loop.

    python bench/curate.py [--videos 960]

Writes a synthetic ImageNet VID of N videos and its index into a temporary folder, then measures, in one
run and on the same frames:
  - the bare loop: read, decode, crop and encode every object-frame in one process on one core, nothing
    else (the floor of this work);
  - `python -m pipeline.curate` with curate.workers=1 and =2, the whole command (interpreter start,
    Ray start, LMDB writes, checksums, manifest, stats and preview);
and prints stage(1 worker) / bare loop and stage(2 workers) / stage(1 worker) as crop rates.
"""
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from models.geometry import crop_around_box  # noqa: E402
from pipeline import index, world  # noqa: E402
from pipeline.config.params import load_params  # noqa: E402
from pipeline.data import index as dataset_index  # noqa: E402

import common  # noqa: E402


def bare_loop(vid: dataset_index.DatasetIndex, root: Path, size: int, quality: int) -> int:
    rows = vid.frames[vid.frames["visible"] == 1]
    crops = 0
    for image_id in np.unique(rows["image"]):
        image = cv2.imdecode(np.frombuffer((root / vid.images[image_id]).read_bytes(), np.uint8), cv2.IMREAD_COLOR)
        for row in rows[rows["image"] == image_id]:
            crop = crop_around_box(image, row["box"].astype(float), size)[0]
            crops += len(cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, quality])[1]) > 0
    return crops


def main():
    parser = common.parser(__doc__)
    parser.add_argument("--videos", type=int, default=960, help="synthetic VID videos (default: %(default)s)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        sets = [f"synth.out={tmp}/synthetic", f"synth.vid_train_videos={args.videos}", "synth.vid_val_videos=1",
                "synth.det_images=1", "synth.coco_images=1", "synth.ytbb_videos=1", "synth.otb_sequences=1",
                "synth.vot_sequences=1", "synth.got10k_sequences=1", "synth.lasot_sequences=1",
                f"datasets.vid.root={tmp}/synthetic/ILSVRC2015", f"index.out={tmp}/index",
                f"index.metrics={tmp}/metrics/index", f"curate.metrics={tmp}/metrics/curate"]
        params = load_params(REPO / "params.yaml", sets)
        world.run(params.synth)
        index.run("vid", params.datasets["vid"], params.index)
        vid = dataset_index.load(params.index.out, "vid")
        crops = int(vid.frames["visible"].sum())

        cv2.setNumThreads(1)
        start = time.perf_counter()
        assert bare_loop(vid, Path(params.datasets["vid"].root), params.curate.search_size,
                         params.curate.jpeg_quality) == crops
        rates = {"bare loop": crops / (time.perf_counter() - start)}
        for workers in (1, 2):
            command = [sys.executable, "-m", "pipeline.curate", "--dataset", "vid",
                       *(a for s in [*sets, f"curate.out={tmp}/shards{workers}", "curate.backend=ray",
                                     f"curate.workers={workers}"] for a in ("--set", s))]
            start = time.perf_counter()
            subprocess.run(command, cwd=REPO, check=True, env=common.subprocess_env(REPO),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            rates[f"curate, {workers} worker{'s' * (workers > 1)}"] = crops / (time.perf_counter() - start)

    common.report(args, f"curate: {crops} crops of {params.curate.search_size} px from {args.videos} synthetic VID "
                  f"videos, JPEG decode + warp + encode", [(name, rate, "crops/s") for name, rate in rates.items()],
                  [("curate 1 worker / bare loop (1 core)", rates["curate, 1 worker"] / rates["bare loop"]),
                   ("curate 2 workers / 1 worker", rates["curate, 2 workers"] / rates["curate, 1 worker"])])

if __name__ == "__main__":
    main()
