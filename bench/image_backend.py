"""The image backend of curation, measured: JPEG decode, crop warp and JPEG encode with OpenCV and Pillow.

    python bench/image_backend.py [--frames 400]     # after `make repro` (reads data/index and data/synthetic)

Decodes the first N images of the VID index, crops every object with the search-size crop and encodes the
crops, one core (OpenCV's own threads off), each operation timed over the same frames in one run. The warp
row compares Pillow's own affine transform with cv2.warpAffine for reference only: curation always uses the
one crop function (cv2.warpAffine), so `curate.image_backend` picks the decoder and encoder. Run it again
after `make simd` for Pillow-SIMD.
"""
import argparse
import io
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import PIL
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from models.geometry import EXEMPLAR_SIZE, context_side, crop_around_box, xywh_to_cxcywh  # noqa: E402
from pipeline.config.params import load_params  # noqa: E402
from pipeline.data import index as dataset_index  # noqa: E402


def timed(function, items):
    start = time.perf_counter()
    results = [function(item) for item in items]
    return (time.perf_counter() - start) / len(items) * 1e3, results


def pillow_crop(image: Image.Image, box, out_size: int) -> Image.Image:
    """The same region as crop_around_box, with Pillow's affine transform (output -> input mapping)."""
    cx, cy, w, h = xywh_to_cxcywh(box)
    side = context_side(w, h) * out_size / EXEMPLAR_SIZE
    scale = side / out_size
    data = (scale, 0, cx - side / 2, 0, scale, cy - side / 2)
    return image.transform((out_size, out_size), Image.Transform.AFFINE, data, Image.Resampling.BILINEAR)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=400, help="images to decode (default: %(default)s)")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args()
    params = load_params(args.params)
    cv2.setNumThreads(1)
    vid = dataset_index.load(params.index.out, "vid")
    rows = vid.frames[vid.frames["visible"] == 1]
    images = sorted(set(rows["image"].tolist()))[:args.frames]
    rows = rows[np.isin(rows["image"], images)]
    root = Path(params.datasets["vid"].root)
    data = {i: (root / vid.images[i]).read_bytes() for i in images}
    size, quality = params.curate.search_size, params.curate.jpeg_quality

    cv_decode, cv_images = timed(lambda i: cv2.imdecode(np.frombuffer(data[i], np.uint8), cv2.IMREAD_COLOR), images)
    pil_decode, pil_images = timed(lambda i: np.asarray(Image.open(io.BytesIO(data[i])).convert("RGB")), images)
    by_image = dict(zip(images, cv_images))
    cv_warp, crops = timed(lambda r: crop_around_box(by_image[r["image"]], r["box"].astype(float), size)[0], rows)
    pil_by_image = {i: Image.fromarray(a) for i, a in zip(images, pil_images)}
    pil_warp, _ = timed(lambda r: pillow_crop(pil_by_image[r["image"]], r["box"].astype(float), size), rows)
    cv_encode, _ = timed(lambda c: cv2.imencode(".jpg", c, [cv2.IMWRITE_JPEG_QUALITY, quality])[1], crops)

    def pil_encode_one(crop):
        buffer = io.BytesIO()
        Image.fromarray(crop).save(buffer, "JPEG", quality=quality)
        return buffer

    pil_encode, _ = timed(pil_encode_one, crops)
    per_crop_cv = cv_decode * len(images) / len(rows) + cv_warp + cv_encode
    per_crop_pil = pil_decode * len(images) / len(rows) + cv_warp + pil_encode
    flavour = "Pillow-SIMD" if "post" in PIL.__version__ else "Pillow"
    print(f"{len(images)} images {vid.frames['image_size'][0].tolist()} px, {len(rows)} crops {size} px, "
          f"JPEG quality {quality}, one core; OpenCV {cv2.__version__}, {flavour} {PIL.__version__}")
    print(f"| ms per item | OpenCV | {flavour} | {flavour} / OpenCV |")
    print("|---|---|---|---|")
    table = (("decode (image)", cv_decode, pil_decode),
             ("warp (crop; Pillow's own affine transform, for reference)", cv_warp, pil_warp),
             ("encode (crop)", cv_encode, pil_encode), ("per crop, curation (cv2 warp)", per_crop_cv, per_crop_pil))
    for name, cv, pil in table:
        print(f"| {name} | {cv:.3f} | {pil:.3f} | {pil / cv:.2f} |")


if __name__ == "__main__":
    main()
