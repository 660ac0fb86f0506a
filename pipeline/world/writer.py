"""Where the world is written: the output folder, the parameters and every item's own random generator."""
from __future__ import annotations

import os
from dataclasses import dataclass

import cv2
import numpy as np

from pipeline.config.schema import SynthParams


@dataclass(frozen=True)
class World:
    root: str           # the partial output folder being written
    params: SynthParams

    def rng(self, stream: int, index: int):
        """The generator of one item (video, image or sequence): from (seed, its dataset's stream, index) alone."""
        return np.random.default_rng(np.random.SeedSequence([self.params.seed, stream, index]))

    def encode(self, image) -> bytes:
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.params.jpeg_quality])
        if not ok:
            raise RuntimeError("OpenCV could not encode a JPEG")
        return data.tobytes()

    def write_jpeg(self, relpath: str, image):
        self.write_bytes(relpath, self.encode(image))

    def write_frames(self, pattern: str, frames):
        """Frames as pattern.format(1-based frame number), the benchmarks' numbering."""
        for t, frame in enumerate(frames):
            self.write_jpeg(pattern.format(t + 1), frame)

    def write_bytes(self, relpath: str, data: bytes):
        path = os.path.join(self.root, relpath)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)

    def write_text(self, relpath: str, text: str):
        self.write_bytes(relpath, text.encode())

    def write_lines(self, relpath: str, lines):
        """One line each, every line ending in a newline (a lone newline when there are none)."""
        self.write_text(relpath, "\n".join(lines) + "\n")
