"""Test splits without ground truth (GOT-10k test, TrackingNet TEST): the zip their evaluation servers take."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

from pipeline.benchmarks.datasets import BenchmarkError, Sequence
from pipeline.benchmarks.protocols import PROTOCOLS
from pipeline.benchmarks.protocols.base import read_boxes


def submission(folder: Path, sequences: list[Sequence], protocol: str) -> bytes:
    """The zip of the result files of every sequence (each checked against its frame count): GOT-10k's
    <seq>/<seq>_001.txt and <seq>_time.txt, or TrackingNet's <seq>.txt."""
    files_of = PROTOCOLS[protocol]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for s in sequences:
            path = files_of.result_file(folder, s.name)
            read_boxes(path, len(s.frames), s.file_offset)
            files = [path] + ([files_of.time_file(folder, s.name)] if protocol == "got10k" else [])
            for file in files:
                if not file.exists():
                    raise BenchmarkError(f"{file}: result file missing")
                # fixed timestamps: the same results give the same zip
                info = zipfile.ZipInfo(file.relative_to(folder).as_posix(), date_time=(1980, 1, 1, 0, 0, 0))
                archive.writestr(info, file.read_bytes(), zipfile.ZIP_DEFLATED)
    return buffer.getvalue()
