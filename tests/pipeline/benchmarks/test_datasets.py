import numpy as np
import pytest

from pipeline.benchmarks.datasets import BenchmarkError, load_dataset_json, read_rows, to_file_box
from pipeline.benchmarks.loaders import load_got10k, load_lasot, load_otb, load_trackingnet, load_uav123, load_vot
from tests.conftest import SHARED, needs_shared

CROSSING = SHARED / "data" / "otb"


@needs_shared
def test_crossing_loads_and_its_boxes_write_back_identically():
    (seq,) = load_otb(CROSSING)
    assert seq.name == "Crossing" and len(seq.frames) == 120 and seq.frames[0].name == "0001.jpg"
    lines = (CROSSING / "Crossing" / "groundtruth_rect.txt").read_text().split()
    assert list(seq.gt[0]) == [float(v) - d for v, d in zip(lines[0].split(","), (1, 1, 0, 0))]
    written = [",".join(f"{v:g}" for v in to_file_box(box)) for box in seq.gt]
    assert written == lines


def otb_folder(root, name, images, gt_files, pattern="{:04d}.jpg"):
    (root / name / "img").mkdir(parents=True)
    for number in images:
        (root / name / "img" / pattern.format(number)).write_bytes(b"")
    for file_name, rows in gt_files.items():
        (root / name / file_name).write_text("\n".join(rows) + "\n")


def test_otb_quirks(tmp_path):
    otb_folder(tmp_path, "David", range(1, 771), {"groundtruth_rect.txt": ["1,2,3,4"] * 471})
    otb_folder(tmp_path, "Diving", range(1, 232), {"groundtruth_rect.txt": ["1\t2\t3\t4"] * 215})
    otb_folder(tmp_path, "Jogging", range(1, 4), {"groundtruth_rect.1.txt": ["1 2 3 4"] * 3,
                                                  "groundtruth_rect.2.txt": ["5,6,7,8"] * 3})
    otb_folder(tmp_path, "Human4", range(1, 4), {"groundtruth_rect.2.txt": ["1,2,3,4"] * 3})
    otb_folder(tmp_path, "Board", range(1, 4), {"groundtruth_rect.txt": ["1,2,3,4"] * 3}, "{:05d}.jpg")
    sequences = {s.name: s for s in load_otb(tmp_path)}
    assert sorted(sequences) == ["Board", "David", "Diving", "Human4", "Jogging-1", "Jogging-2"]
    assert sequences["David"].frames[0].name == "0300.jpg" and sequences["David"].frames[-1].name == "0770.jpg"
    assert len(sequences["Diving"].frames) == 215 and sequences["Board"].frames[0].name == "00001.jpg"
    assert list(sequences["Jogging-2"].gt[0]) == [4, 5, 7, 8]
    (tmp_path / "list.txt").write_text("Jogging-1\nBoard\n")
    assert [s.name for s in load_otb(tmp_path, tmp_path / "list.txt")] == ["Jogging-1", "Board"]


@pytest.mark.parametrize("line, message", [("1,2,x,4", r"groundtruth_rect.txt:2: not numbers"),
                                           ("1,2,3", r"groundtruth_rect.txt:2: expected 4 values, got 3")])
def test_a_bad_ground_truth_line_is_named(tmp_path, line, message):
    otb_folder(tmp_path, "Car", range(1, 3), {"groundtruth_rect.txt": ["1,2,3,4", line]})
    with pytest.raises(BenchmarkError, match=message):
        load_otb(tmp_path)


def test_otb_too_few_images_is_one_line(tmp_path):
    otb_folder(tmp_path, "Car", range(1, 3), {"groundtruth_rect.txt": ["1,2,3,4"] * 3})
    with pytest.raises(BenchmarkError, match="3 ground-truth rows for 2 frames of Car"):
        load_otb(tmp_path)


def test_vot_polygons_and_boxes_in_either_layout(tmp_path):
    (tmp_path / "list.txt").write_text("ball\nbag\n")
    (tmp_path / "ball" / "color").mkdir(parents=True)
    (tmp_path / "bag").mkdir()
    for i in (1, 2):
        (tmp_path / "ball" / "color" / f"{i:08d}.jpg").write_bytes(b"")
        (tmp_path / "bag" / f"{i:08d}.jpg").write_bytes(b"")
    (tmp_path / "ball" / "groundtruth.txt").write_text("11,21,31,21,31,41,11,41\n11,21,31,21,31,41,11,41\n")
    (tmp_path / "bag" / "groundtruth.txt").write_text("11,21,20,20\n12,22,20,20\n")
    ball, bag = load_vot(tmp_path)
    assert ball.polygons[0].tolist() == [10, 20, 30, 20, 30, 40, 10, 40]
    assert np.allclose(ball.gt[0], [10, 20, 20, 20])  # an upright rectangle is its own box
    assert bag.polygons[1].tolist() == [11, 21, 31, 21, 31, 41, 11, 41] and len(bag.frames) == 2


def test_rotated_polygon_becomes_a_box_of_equal_area(tmp_path):
    from pipeline.benchmarks.datasets import polygon_to_box
    diamond = np.array([[10.0, 0, 20, 10, 10, 20, 0, 10]])  # area 200, bounding square 20 x 20
    assert np.allclose(polygon_to_box(diamond), [[10 - np.sqrt(50), 10 - np.sqrt(50), np.sqrt(200), np.sqrt(200)]])


def test_synthetic_benchmarks_load(tiny_world):
    root = tiny_world / "benchmarks"
    assert all(len(s.frames) == len(s.gt) for s in load_otb(root / "synth-otb"))
    got = load_got10k(root / "synth-got10k" / "val")
    assert got and all(s.visible is not None and len(s.visible) == len(s.gt) for s in got)
    lasot = load_lasot(root / "synth-lasot")
    assert lasot and all(s.visible is not None for s in lasot)
    assert all(s.polygons.shape == (len(s.frames), 8) for s in load_vot(root / "synth-vot"))


def test_got10k_test_split_has_only_the_first_box(tmp_path):
    (tmp_path / "list.txt").write_text("GOT-10k_Test_000001\n")
    folder = tmp_path / "GOT-10k_Test_000001"
    folder.mkdir()
    for i in range(1, 4):
        (folder / f"{i:08d}.jpg").write_bytes(b"")
    (folder / "groundtruth.txt").write_text("11,21,30,40\n")
    (seq,) = load_got10k(tmp_path)
    assert seq.gt[0].tolist() == [10, 20, 30, 40] and np.isnan(seq.gt[1:]).all() and seq.visible is None


def uav_folder(root, folder, frames, annotations):
    (root / "data_seq" / "UAV123" / folder).mkdir(parents=True, exist_ok=True)
    for number in frames:
        (root / "data_seq" / "UAV123" / folder / f"{number:06d}.jpg").write_bytes(b"")
    (root / "anno" / "UAV123").mkdir(parents=True, exist_ok=True)
    for name, rows in annotations.items():
        (root / "anno" / "UAV123" / f"{name}.txt").write_text("\n".join(rows) + "\n")


def test_uav123_sub_sequences_take_their_ranges_from_the_toolkit_config(tmp_path):
    uav_folder(tmp_path, "bird1", range(1, 11), {"bird1_1": ["1,2,3,4"] * 3, "bird1_2": ["5,6,7,8", "NaN,NaN,NaN,NaN"]})
    uav_folder(tmp_path, "car1", range(1, 4), {"car1": ["1,1,5,5"] * 3})
    with pytest.raises(BenchmarkError, match="bird1_1.txt: no folder .*configSeqs.m"):
        load_uav123(tmp_path)
    # The toolkit's MATLAB entries (Windows paths and all), one per sub-sequence; car1 is not in this one.
    config = tmp_path / "configSeqs.m"
    config.write_text("seqUAV123={struct('name','bird1_1','path','D:\\UAV123\\data_seq\\UAV123\\bird1\\',"
                      "'startFrame',1,'endFrame',3,'nz',6,'ext','jpg','init_rect',[0,0,0,0]),...\n"
                      "struct('name','bird1_2','path','D:\\UAV123\\data_seq\\UAV123\\bird1\\',"
                      "'startFrame',8,'endFrame',9,'nz',6,'ext','jpg','init_rect',[0,0,0,0])};\n")
    sequences = {s.name: s for s in load_uav123(tmp_path)}
    assert [p.name for p in sequences["bird1_2"].frames] == ["000008.jpg", "000009.jpg"]
    assert sequences["bird1_2"].gt[0].tolist() == [4, 5, 7, 8] and np.isnan(sequences["bird1_2"].gt[1]).all()
    assert len(sequences["car1"].frames) == 3 and len(sequences["bird1_1"].frames) == 3
    # The config as the sequence list selects its own sequences.
    assert [s.name for s in load_uav123(tmp_path, config)] == ["bird1_1", "bird1_2"]
    config.write_text("nothing here")
    with pytest.raises(BenchmarkError, match="configSeqs.m: no 'name', 'path'"):
        load_uav123(tmp_path)


def trackingnet_split(root, names, frames=12, rows=1):
    for name in names:
        (root / "frames" / name).mkdir(parents=True)
        for i in range(frames):
            (root / "frames" / name / f"{i}.jpg").write_bytes(b"")
        (root / "anno").mkdir(exist_ok=True)
        (root / "anno" / f"{name}.txt").write_text("10.5,20,30,40\n" * rows)


def test_trackingnet_frames_in_numeric_order_and_boxes_as_held(tmp_path):
    trackingnet_split(tmp_path, ["-0hVbFNqnJk_0"])
    (seq,) = load_trackingnet(tmp_path)
    assert [p.name for p in seq.frames[:3]] + [seq.frames[-1].name] == ["0.jpg", "1.jpg", "2.jpg", "11.jpg"]
    assert seq.gt[0].tolist() == [10.5, 20, 30, 40] and seq.file_offset == 0
    assert np.isnan(seq.gt[1:]).all() and not seq.has_ground_truth
    (tmp_path / "anno" / "-0hVbFNqnJk_0.txt").write_text("1,2,3,4\n" * 11)
    with pytest.raises(BenchmarkError, match="11 ground-truth rows for 12 frames"):
        load_trackingnet(tmp_path)


def test_dataset_json_reads_pysot_files_and_names_bad_ones(tmp_path):
    path = tmp_path / "OTB100.json"
    path.write_text('{"Car": {"img_names": ["Car/img/0001.jpg", "Car/img/0002.jpg"], '
                    '"gt_rect": [[1, 2, 3, 4], [2, 3, 4, 5]], "init_rect": [1, 2, 3, 4]}}')
    (seq,) = load_dataset_json(path)
    assert seq.name == "Car" and seq.gt.tolist() == [[1, 2, 3, 4], [2, 3, 4, 5]]
    assert seq.frames[0] == tmp_path / "Car" / "img" / "0001.jpg"
    path.write_text('{"Car": {"gt_rect": []}}')
    with pytest.raises(BenchmarkError, match="video 'Car' lacks img_names or gt_rect"):
        load_dataset_json(path)
    path.write_text("{")
    with pytest.raises(BenchmarkError, match="OTB100.json: not JSON"):
        load_dataset_json(path)


def test_read_rows_accepts_nan_and_mixed_separators(tmp_path):
    path = tmp_path / "anno.txt"
    path.write_text("1, 2,3 ,4\nNaN,NaN,NaN,NaN\n")
    rows = read_rows(path)
    assert rows[0].tolist() == [1, 2, 3, 4] and np.isnan(rows[1]).all()
