"""Atomic writes, checksums and path checks, shared by the stages."""
from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path


def write_atomic(path: str | Path, data: bytes) -> None:
    """Write under a temporary name in the same folder, then rename: readers see all or nothing."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def json_digest(value) -> str:
    """sha256 of the canonical JSON of `value` (anything JSON cannot hold, by its str())."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


def write_figure(figure, path: str | Path, dpi: int = 80) -> None:
    """A matplotlib figure as PNG, written atomically."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    write_atomic(path, buffer.getvalue())


def escapes_root(relpath: str) -> bool:
    """Whether a path that data names relative to a root (an annotation's image, a benchmark's sequence or
    frame) leads out of it: absolute, or up through '..'. Judged on the text alone, before anything is opened,
    so that an annotation cannot make a stage read /etc/passwd."""
    norm = os.path.normpath(relpath)
    return os.path.isabs(norm) or norm == ".." or norm.startswith(".." + os.sep)
