"""Bad benchmark input: ground truth with NaN or empty rows, result files of the wrong length, and names in
benchmark files that lead out of the root. Each ends in one line naming the file, or scores by the stated rule.

Tested elsewhere (docs/reliability.md): a bad ground-truth line or a ground truth longer than the images
(tests/pipeline/benchmarks/test_datasets.py), result files with fewer or more boxes than the ground truth or a
NaN box (tests/pipeline/benchmarks/test_protocols.py), the OTB rule against the toolkits' own numbers
(tests/pipeline/benchmarks/test_metrics.py).
"""
import json

import cv2
import numpy as np
import pytest

from tests.badinput import error_line
from tests.conftest import run_module

BOX = "10,10,20,20"  # 1-based, as OTB files hold it


def frames(folder, count):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(1, count + 1):
        cv2.imwrite(str(folder / f"{i:08d}.jpg"), np.full((60, 80, 3), 100, np.uint8))


def otb_sequence(root, rows, name="A"):
    frames(root / name / "img", len(rows))
    (root / name / "groundtruth_rect.txt").write_text("\n".join(rows) + "\n")
    return root / name / "groundtruth_rect.txt"


def stage(module, tmp_path, benchmark, *sets, variant="identity"):
    sets = [f"evaluate.results={tmp_path / 'results'}", f"score.out={tmp_path / 'metrics'}", "evaluate.backend=serial",
            *sets]
    return run_module(module, "--variant", variant, "--benchmark", benchmark, *(a for s in sets for a in ("--set", s)))


def test_nan_and_all_zero_ground_truth_rows_are_scored_by_the_otb_rule(tmp_path):
    """Frames 3 (NaN) and 4 (0,0,0,0) have no box: they fail every overlap threshold and pass every distance one
    (the OTB toolkit and pysot), and stay in the denominator."""
    otb_sequence(tmp_path / "otb", [BOX, BOX, "NaN,NaN,NaN,NaN", "0,0,0,0", BOX])
    root = f"benchmarks.synth-otb.root={tmp_path / 'otb'}"
    assert stage("pipeline.evaluate", tmp_path, "synth-otb", root).returncode == 0
    done = stage("pipeline.score", tmp_path, "synth-otb", root)
    assert done.returncode == 0, done.stderr
    overall = json.loads((tmp_path / "metrics/identity/synth-otb.json").read_text())["overall"]
    # The identity tracker keeps the first box: overlap 1 on the 3 valid frames, which pass 20 of 21 thresholds.
    assert overall["success_auc"] == pytest.approx(3 / 5 * 20 / 21) and overall["precision_20"] == 1.0


@pytest.mark.parametrize("first", ["NaN,NaN,NaN,NaN", "0,0,0,0", "10,10,-5,20"])
def test_a_first_box_that_is_nan_or_empty_is_refused_before_tracking(tmp_path, first):
    gt = otb_sequence(tmp_path / "otb", [first, BOX, BOX])
    done = stage("pipeline.evaluate", tmp_path, "synth-otb", f"benchmarks.synth-otb.root={tmp_path / 'otb'}")
    assert error_line(done, "evaluate") == (f"{gt}: the first box of A is NaN or has no positive width and height: "
                                            "a tracker cannot start from it")
    assert not (tmp_path / "results").exists()


def test_result_files_of_the_wrong_length_stop_the_score_command_with_one_line(tmp_path):
    otb_sequence(tmp_path / "otb", [BOX] * 5)
    results = tmp_path / "results/identity/synth-otb"
    results.mkdir(parents=True)
    (results / "A.txt").write_text(f"{BOX}\n" * 6)
    done = stage("pipeline.score", tmp_path, "synth-otb", f"benchmarks.synth-otb.root={tmp_path / 'otb'}")
    assert error_line(done, "score") == f"{results / 'A.txt'}: 6 boxes for 5 ground-truth frames"
    # VOT: a repetition's record, one line per frame, cut short.
    vot = tmp_path / "vot"
    frames(vot / "ball" / "color", 5)
    (vot / "list.txt").write_text("ball\n")
    (vot / "ball" / "groundtruth.txt").write_text(f"{BOX}\n" * 5)
    run_file = tmp_path / "results/identity/synth-vot/baseline/ball/ball_001.txt"
    run_file.parent.mkdir(parents=True)
    run_file.write_text("1\n" + f"{BOX}\n" * 2)
    done = stage("pipeline.score", tmp_path, "synth-vot", f"benchmarks.synth-vot.root={vot}")
    assert error_line(done, "score") == f"{run_file}: 3 lines for 5 ground-truth frames"
    assert not (tmp_path / "metrics").exists()


@pytest.mark.parametrize("video, image", [("V", "/etc/passwd"), ("V", "../../etc/passwd"), ("../../../etc/passwd", "a.jpg")])
def test_a_dataset_json_naming_paths_outside_its_root_is_refused(tmp_path, video, image):
    """pysot's dataset files name each video's frames (VOT scoring opens the first) and the video name becomes
    a result file's path: neither may lead out of the root."""
    dataset = tmp_path / "VOT2018.json"
    dataset.write_text(json.dumps({video: {"img_names": [image, "b.jpg"], "gt_rect": [[1, 1, 10, 1, 10, 10, 1, 10]] * 2}}))
    (tmp_path / "run/baseline/V").mkdir(parents=True)
    (tmp_path / "run/baseline/V/V_001.txt").write_text("1\n1,1,10,1,10,10,1,10\n")
    done = run_module("pipeline.score", "--dataset-json", str(dataset), "--results", str(tmp_path / "run"),
                      "--out", str(tmp_path / "out.json"))
    outside = image if video == "V" else video
    assert error_line(done, "score") == f"{dataset}: video {video!r}: {outside!r} leads outside {tmp_path}"
    assert not (tmp_path / "out.json").exists()


def test_a_sequence_list_naming_a_folder_outside_the_root_is_refused(tmp_path):
    root = tmp_path / "got10k"
    frames(root / "GOT-10k_Val_000001", 3)
    (root / "GOT-10k_Val_000001" / "groundtruth.txt").write_text(f"{BOX}\n" * 3)
    (root / "list.txt").write_text("GOT-10k_Val_000001\n../../etc\n")
    done = stage("pipeline.evaluate", tmp_path, "synth-got10k", f"benchmarks.synth-got10k.root={root}")
    assert error_line(done, "evaluate") == f"{root / 'list.txt'}: 1 sequences not in the benchmark root (../../etc)"


@pytest.mark.parametrize("name, folder", [("../../../etc/passwd", "bird1"), ("bird1_1", "..")])
def test_a_uav123_config_naming_paths_outside_the_root_is_refused(tmp_path, name, folder):
    root = tmp_path / "uav"
    frames(root / "data_seq/UAV123/bird1", 3)
    (root / "anno/UAV123").mkdir(parents=True)
    (root / "anno/UAV123/bird1_1.txt").write_text(f"{BOX}\n" * 3)
    config = root / "configSeqs.m"
    config.write_text(f"seqUAV123={{struct('name','{name}','path','D:\\UAV123\\data_seq\\UAV123\\{folder}\\',"
                      "'startFrame',1,'endFrame',3,'nz',6,'ext','jpg','init_rect',[0,0,0,0])};\n")
    done = stage("pipeline.evaluate", tmp_path, "synth-otb", f"benchmarks.synth-otb.root={root}",
                 "benchmarks.synth-otb.format=uav123", f"benchmarks.synth-otb.sequences={config}")
    assert error_line(done, "evaluate") == (f"{config}: sequence {name!r} (folder {folder!r}) leads outside the "
                                            "benchmark root")
