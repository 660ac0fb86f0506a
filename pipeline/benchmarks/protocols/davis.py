"""DAVIS semi-supervised video object segmentation (Perazzi et al. 2016; Pont-Tuset et al. 2017): each object of
the first frame's mask is tracked from that mask's bounding box (SiamMask section 4.3 initialises so), the
objects' masks of a frame are merged into one label image (a pixel claimed by several goes to the most
confident tracker) and written as <results>/<seq>/<frame>.png, DAVIS's indexed-PNG result layout; the first
frame's file is its given mask. A tracker without masks gives its box as the mask. Scored by J and F (mean,
recall, decay) and J&F over the frames between the first and the last, as the official evaluation does."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from pipeline.benchmarks import metrics as M
from pipeline.benchmarks.datasets import BenchmarkError, Sequence, read_label_image
from pipeline.benchmarks.protocols.base import Protocol, plain, pyplot, read_image
from pipeline.common.files import write_atomic, write_figure
from pipeline.common.labels import encode_labels, mask_box
from pipeline.config.schema import EvaluateParams, ScoreParams


def first_frame_objects(sequence: Sequence, shape) -> tuple[np.ndarray, list[int]]:
    """The first frame's label image (void and, for one-object benchmarks, every label folded into the
    objects' ids) and the ids of its objects."""
    labels = read_label_image(sequence.annotations[0], shape)
    labels = (labels > 0).astype(np.uint8) if sequence.single_object else np.where(labels == 255, 0, labels)
    return labels, [int(k) for k in np.unique(labels) if k > 0]


def box_mask(box, shape) -> np.ndarray:
    """The pixels whose centres lie inside a box."""
    x, y, w, h = box
    mask = np.zeros(shape, bool)
    mask[max(int(np.ceil(y - 0.5)), 0):max(int(np.ceil(y + h - 0.5)), 0),
         max(int(np.ceil(x - 0.5)), 0):max(int(np.ceil(x + w - 0.5)), 0)] = True
    return mask


def merge(predictions: list, ids: list[int], shape) -> np.ndarray:
    """One label image from every object's prediction, overlaps to the highest score."""
    labels, best = np.zeros(shape, np.uint8), np.full(shape, -np.inf)
    for k, prediction in zip(ids, predictions):
        mask = prediction.mask > 0 if prediction.mask is not None else box_mask(prediction.box, shape)
        claimed = mask & (prediction.score > best)
        labels[claimed], best[claimed] = k, prediction.score
    return labels


class DavisSemiSupervised(Protocol):
    name = "davis"
    columns = (("jf_mean", "J&F"), ("j_mean", "J"), ("f_mean", "F"))

    def track(self, make_tracker, sequence: Sequence, folder: Path, options: EvaluateParams) -> np.ndarray:
        image = read_image(sequence.frames[0])
        start = time.perf_counter()
        first, ids = first_frame_objects(sequence, image.shape[:2])
        trackers = [make_tracker() for _ in ids]
        for k, tracker in zip(ids, trackers):
            tracker.init(image, mask_box(first == k))
        times, labels = [time.perf_counter() - start], [first]
        for path in sequence.frames[1:]:
            image = read_image(path)
            if image.shape[:2] != first.shape:
                raise BenchmarkError(f"{path}: a frame of another size than the first mask")
            start = time.perf_counter()
            predictions = [tracker.update(image) for tracker in trackers]
            labels.append(merge(predictions, ids, first.shape))
            times.append(time.perf_counter() - start)
        for path, label in zip(sequence.frames, labels):
            write_atomic(self.result_file(folder, sequence.name) / f"{path.stem}.png", encode_labels(label))
        return np.array(times)

    def result_file(self, folder: Path, name: str) -> Path:
        """The sequence's folder of result PNGs."""
        return folder / name

    def sequence_labels(self, sequence: Sequence, folder: Path) -> tuple[np.ndarray, np.ndarray]:
        """(ground truth, result) label images (T, H, W); the first and last result frames are not read, as
        the official evaluation does not score them."""
        if not sequence.has_ground_truth:
            raise BenchmarkError(f"{sequence.name}: masks of the first frame only (a test split): DAVIS test-dev "
                                 "is scored by its evaluation server")
        shape = read_image(sequence.frames[0]).shape[:2]
        gt = np.stack([read_label_image(p, shape) for p in sequence.annotations])
        if sequence.single_object:
            gt = (gt > 0).astype(np.uint8)
        pred = np.zeros_like(gt)
        for t, frame in enumerate(sequence.frames[1:-1], start=1):
            path = self.result_file(folder, sequence.name) / f"{frame.stem}.png"
            if not path.exists():
                raise BenchmarkError(f"{path}: result mask missing")
            pred[t] = read_label_image(path, shape)
        return gt, pred

    def score(self, sequences: list[Sequence], folder: Path, params: ScoreParams, eao_interval: str = "") -> dict:
        per_object = {}
        for s in sequences:
            gt, pred = self.sequence_labels(s, folder)  # its errors name their file already
            try:
                objects = M.davis_semi_supervised(gt, pred, decay=params.davis_decay)
            except ValueError as err:
                raise BenchmarkError(f"{self.result_file(folder, s.name)}: {err}") from None
            for k, scores in enumerate(objects, start=1):
                per_object[f"{s.name}_{k}"] = {key: scores[key] for key in M.DAVIS_KEYS}
        overall = M.davis_overall(list(per_object.values()))
        return {"overall": plain(overall), "curves": {}, "per_sequence": {n: plain(o) for n, o in per_object.items()}}

    def plot(self, result: dict, title: str, path: Path) -> None:
        """J and F mean of every object, as bars."""
        plt = pyplot()
        names = list(result["per_sequence"])
        fig, axis = plt.subplots(figsize=(max(6, 0.5 * len(names) + 2), 4))
        x = np.arange(len(names))
        for offset, key, label in ((-0.2, "j_mean", "J (region)"), (0.2, "f_mean", "F (contour)")):
            axis.bar(x + offset, [result["per_sequence"][n][key] for n in names], width=0.4, label=label)
        axis.set_xticks(x, names, rotation=60, ha="right", fontsize=7)
        axis.set(ylim=(0, 1), ylabel="mean over frames", title=f"{title}: J&F {result['overall']['jf_mean']:.3f}")
        axis.legend()
        fig.tight_layout()
        write_figure(fig, path)
        plt.close(fig)
