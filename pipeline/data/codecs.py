"""JPEG decode and encode for curation: OpenCV (default) or Pillow (curate.image_backend)."""
from __future__ import annotations

import io

import cv2
import numpy as np


class SkipImage(Exception):
    """An image that cannot be curated: counted under `reason` in the shard record."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(reason, detail)
        self.reason, self.detail = reason, detail


class OpenCVCodec:
    """JPEG decode and encode with OpenCV; arrays are BGR."""
    name = "opencv"
    version = cv2.__version__

    @staticmethod
    def decode(data: bytes) -> np.ndarray:
        # libjpeg only warns on a truncated JPEG and fills the rest with grey: a JPEG must end in EOI.
        if data[:2] == b"\xff\xd8" and b"\xff\xd9" not in data[-1024:]:
            raise SkipImage("image_unreadable", "truncated JPEG (no end-of-image marker)")
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            raise SkipImage("image_unreadable", "OpenCV cannot decode it")
        return image

    @staticmethod
    def encode(image: np.ndarray, quality: int) -> bytes:
        ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise RuntimeError("cv2.imencode failed")
        return buffer.tobytes()


class PillowCodec:
    """JPEG decode and encode with Pillow (or Pillow-SIMD); arrays are RGB, which the crop ignores."""
    name = "pillow"

    @staticmethod
    def decode(data: bytes) -> np.ndarray:
        from PIL import Image
        try:
            with Image.open(io.BytesIO(data)) as img:
                return np.asarray(img.convert("RGB"))
        except (OSError, Image.DecompressionBombError) as err:
            raise SkipImage("image_unreadable", f"Pillow: {err}") from None

    @staticmethod
    def encode(image: np.ndarray, quality: int) -> bytes:
        from PIL import Image
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, "JPEG", quality=quality)
        return buffer.getvalue()


def pillow_version() -> str:
    import PIL
    return PIL.__version__


CODECS = {"opencv": OpenCVCodec, "pillow": PillowCodec}
