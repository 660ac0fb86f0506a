import numpy as np
import pytest

from models.trackers.base import Prediction
from pipeline.benchmarks.protocols import PROTOCOLS
from pipeline.benchmarks.protocols.base import read_boxes
from pipeline.benchmarks.protocols.ope import scored_boxes
from pipeline.benchmarks.protocols.vot import read_vot, run_vot, write_vot
from pipeline.benchmarks.datasets import BenchmarkError, Sequence
from pipeline.config.params import load_params
from tests.conftest import REPO


class Scripted:
    """A tracker that returns the ground truth, except a box far away on the frames in `lost`."""

    def __init__(self, sequence, lost):
        self.sequence, self.lost, self.frame = sequence, lost, 0

    def init(self, image, box):
        self.frame = next(i for i, g in enumerate(self.sequence.gt) if np.array_equal(g, box) and i >= self.frame)

    def update(self, image):
        self.frame += 1
        box = self.sequence.gt[self.frame] + (np.array([200.0, 200, 0, 0]) if self.frame in self.lost else 0)
        return Prediction(box, 1.0)


@pytest.fixture
def sequence(tmp_path):
    import cv2
    frames = []
    for i in range(30):
        path = tmp_path / f"{i:08d}.jpg"
        cv2.imwrite(str(path), np.zeros((100, 120, 3), np.uint8))
        frames.append(path)
    gt = np.array([[10.0 + i, 20.0, 30.0, 40.0] for i in range(30)])
    x, y, w, h = gt.T
    polygons = np.stack([x, y, x + w, y, x + w, y + h, x, y + h], 1)
    return Sequence("seq", frames, gt, polygons=polygons)


def test_vot_protocol_records_failures_skips_and_reinitializations(sequence):
    runs, times = run_vot(lambda: Scripted(sequence, lost={7, 27}), sequence, skip=5, repetitions=15)
    assert len(runs) == 3  # a deterministic tracker: three identical runs end the experiment
    records = runs[0]
    assert len(records) == 30 and records[0] == [1] and records[7] == [2]
    assert records[8:12] == [[0]] * 4 and records[12] == [1]  # re-initialized 5 frames after the failure
    assert records[27] == [2] and records[28:] == [[0]] * 2  # a failure near the end: skipped to the end
    assert records[1] == list(sequence.gt[1])
    assert len(times) == 3 * (7 + 15)  # updates of frames 1-7 and 13-27, in each of the three runs


def test_result_files_round_trip_in_the_toolkit_layouts(sequence, tmp_path):
    boxes = sequence.gt + 0.25
    PROTOCOLS["ope"].write(tmp_path / "ope", sequence, boxes, np.full(30, 0.01))
    assert (tmp_path / "ope" / "seq.txt").read_text().splitlines()[0] == "11.2500,21.2500,30.2500,40.2500"
    assert np.allclose(read_boxes(tmp_path / "ope" / "seq.txt", 30), boxes)
    PROTOCOLS["got10k"].write(tmp_path / "got", sequence, boxes, np.full(30, 0.01))
    assert np.allclose(read_boxes(PROTOCOLS["got10k"].result_file(tmp_path / "got", "seq"), 30), boxes)
    assert (tmp_path / "got" / "seq" / "seq_time.txt").read_text().count("\n") == 30
    runs, _ = run_vot(lambda: Scripted(sequence, lost={7}), sequence)
    write_vot(tmp_path / "vot", sequence, runs)
    assert sorted(p.name for p in (tmp_path / "vot" / "baseline" / "seq").iterdir()) == [
        "seq_001.txt", "seq_002.txt", "seq_003.txt"]
    back = read_vot(tmp_path / "vot", "seq", 30)
    assert back[0][:8] == [[1.0]] + [pytest.approx(r) for r in runs[0][1:7]] + [[2.0]]



def test_one_vot_run_of_a_deterministic_tracker_scores_as_the_toolkits_three(sequence, tmp_path):
    """evaluate.vot_repetitions: 1 (pysot's practice, the default) against the VOT toolkit's 15 with its stop
    after 3 identical runs."""
    for repetitions in (1, 15):
        runs, _ = run_vot(lambda: Scripted(sequence, lost={7, 27}), sequence, skip=5, repetitions=repetitions)
        write_vot(tmp_path / str(repetitions), sequence, runs)
    one, three = (PROTOCOLS["vot"].score([sequence], tmp_path / r, score_params("official"), "5-25")["overall"]
                  for r in ("1", "15"))
    assert len(list((tmp_path / "15" / "baseline" / "seq").iterdir())) == 3
    assert one == pytest.approx(three, rel=1e-12)  # the sums over three runs round differently, nothing more
    assert one["failures"] == 2 and 0 < one["eao"] < 1

@pytest.mark.parametrize("content, message", [
    ("1,2,3,4\n" * 29, "29 boxes for 30 ground-truth frames"),
    ("1,2,3,4\n" * 31, "31 boxes for 30 ground-truth frames"),
    ("1,2,3,4\n" * 5 + "NaN,2,3,4\n" + "1,2,3,4\n" * 24, r"seq.txt:6: NaN in a result box"),
    ("1,2,3,4\n" * 5 + "1,2;3,4\n" + "1,2,3,4\n" * 24, r"seq.txt:6: not numbers"),
])
def test_bad_result_files_are_named_with_their_line(tmp_path, content, message):
    (tmp_path / "seq.txt").write_text(content)
    with pytest.raises(BenchmarkError, match=message):
        read_boxes(tmp_path / "seq.txt", 30)
    with pytest.raises(BenchmarkError, match="result file missing"):
        read_boxes(tmp_path / "absent.txt", 30)


def score_params(first_frame):
    return load_params(REPO / "params.yaml", [f"score.first_frame={first_frame}"]).score


@pytest.mark.parametrize("protocol", ["ope", "got10k"])
def test_first_frame_is_scored_as_the_ground_truth_or_as_written(sequence, tmp_path, protocol):
    boxes = sequence.gt.copy()
    boxes[0] += [15.0, 20.0, 0, 0]  # frame 1 written 15 x 20 px off: IoU 300 / 2100 = 1/7, centre 25 px away
    PROTOCOLS[protocol].write(tmp_path, sequence, boxes, np.full(30, 0.01))
    official = PROTOCOLS[protocol].score([sequence], tmp_path, score_params("official"))["overall"]
    written = PROTOCOLS[protocol].score([sequence], tmp_path, score_params("as_written"))["overall"]
    # official: every frame is its ground truth; as written, frame 1 passes only the IoU thresholds 0, 0.05, 0.1
    # and fails 20 px
    assert official["success_auc"] == pytest.approx(20 / 21)
    assert written["success_auc"] == pytest.approx((29 * 20 + 3) / 30 / 21)
    assert written["success_auc"] < official["success_auc"]
    assert official["precision_20"] == 1.0 and written["precision_20"] == pytest.approx(29 / 30)
    if protocol == "got10k":  # AO and the success rates leave frame 1 out under either rule
        assert official["ao"] == written["ao"] == 1.0 and official["sr50"] == written["sr50"] == 1.0
    assert np.array_equal(boxes[0], sequence.gt[0] + [15.0, 20.0, 0, 0])  # the caller's boxes are not changed


def test_scored_boxes_replace_only_frame_1_and_only_when_official(sequence):
    boxes = sequence.gt + 0.5
    official = scored_boxes(boxes, sequence, "official")
    assert np.array_equal(official[0], sequence.gt[0]) and np.array_equal(official[1:], boxes[1:])
    assert scored_boxes(boxes, sequence, "as_written") is boxes
    with pytest.raises(ValueError, match="unknown first_frame rule 'first'"):
        scored_boxes(boxes, sequence, "first")
