"""GOT-10k (Huang et al. 2019): one pass like OTB, <results>/<seq>/<seq>_001.txt and <seq>_time.txt (seconds
per frame); average overlap (AO) and success rates at 0.5 and 0.75 on top of the one-pass metrics. AO and the
success rates leave frame 1 out, so score.first_frame changes only the one-pass metrics."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.benchmarks import metrics as M
from pipeline.benchmarks.datasets import Sequence
from pipeline.benchmarks.protocols.base import write_boxes
from pipeline.benchmarks.protocols.ope import OnePass
from pipeline.common.files import write_atomic
from pipeline.config.schema import ScoreParams


class Got10k(OnePass):
    name = "got10k"
    columns = (("ao", "AO"), ("sr50", "SR0.5"))

    def write(self, folder: Path, sequence: Sequence, boxes: np.ndarray, times: np.ndarray) -> None:
        write_boxes(self.result_file(folder, sequence.name), boxes, sequence.file_offset)
        write_atomic(self.time_file(folder, sequence.name), "".join(f"{t:.6f}\n" for t in times).encode())

    def result_file(self, folder: Path, name: str) -> Path:
        return folder / name / f"{name}_001.txt"

    def time_file(self, folder: Path, name: str) -> Path:
        return folder / name / f"{name}_time.txt"

    def sequence_scores(self, boxes: np.ndarray, sequence: Sequence, params: ScoreParams) -> dict:
        return super().sequence_scores(boxes, sequence, params) | M.got10k_sequence(boxes, sequence.gt,
                                                                                   sequence.visible)

    def overall(self, per_sequence: dict) -> dict:
        return super().overall(per_sequence) | M.got10k_overall(per_sequence)
