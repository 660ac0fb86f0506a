"""evaluate and score end to end: the synthetic benchmark sets, the real OTB sequence Crossing, a pysot-style
dataset JSON, and bad inputs."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from models.checkpoint import save_checkpoint
from models.variants import build_model
from pipeline import evaluate, score
from pipeline.benchmarks.catalogue import load_benchmark
from pipeline.benchmarks import metrics
from pipeline.benchmarks.loaders import load_otb
from tests.conftest import SHARED, needs_shared, run_module, tiny_params, tree_hash

BENCHMARKS = {"synth-otb": "synth-otb", "synth-vot": "synth-vot", "synth-got10k": "synth-got10k/val",
              "synth-lasot": "synth-lasot"}


def params_for(world, tmp_path, *extra):
    roots = [f"benchmarks.{name}.root={world / 'benchmarks' / folder}" for name, folder in BENCHMARKS.items()]
    return tiny_params(*roots, "benchmarks.synth-vot.eao_interval=5-25", f"evaluate.results={tmp_path / 'results'}", f"evaluate.runs={tmp_path / 'runs'}",
                       f"score.out={tmp_path / 'metrics'}", "evaluate.backend=serial", *extra)


def score_of(params, variant, benchmark):
    spec = params.benchmarks[benchmark]
    folder = Path(params.evaluate.results) / variant / benchmark
    return score.score(load_benchmark(benchmark, spec), folder, spec.protocol, params.score, spec.eao_interval)


def test_identity_on_every_synthetic_benchmark(tiny_world, tmp_path):
    params = params_for(tiny_world, tmp_path)
    for benchmark in BENCHMARKS:
        speed = evaluate.run("identity", benchmark, params)
        assert speed["frames"] > 0 and speed["device"].startswith("cpu")
        result = score_of(params, "identity", benchmark)
        overall = result["overall"]
        if benchmark == "synth-vot":
            assert set(overall) == {"accuracy", "robustness", "failures", "eao"} and 0 <= overall["eao"] <= 1
        else:
            assert {"success_auc", "precision_20", "norm_precision_20"} <= set(overall)
            assert 0 <= overall["success_auc"] < 1
        if benchmark == "synth-got10k":
            assert {"ao", "sr50", "sr75"} <= set(overall)
    results = tmp_path / "results" / "identity"
    assert (results / "synth-vot" / "baseline").is_dir() and (results / "synth-otb" / "speed.json").exists()
    got = next(p for p in (results / "synth-got10k").iterdir() if p.is_dir())
    assert got.is_dir() and {p.name for p in got.iterdir()} == {f"{got.name}_001.txt", f"{got.name}_time.txt"}


@pytest.fixture
def checkpoints(tmp_path):
    torch.manual_seed(0)
    small = {"siamfc_alexnet": {"width": 0.25}, "siamrpn_alexnet_dw": {"width": 0.25, "hidden": 16},
             "siammask_r50": {"width": 0.125, "hidden": 16, "neck_channels": 16}}
    for variant, overrides in small.items():
        save_checkpoint(tmp_path / "runs" / variant / "checkpoint.pt", build_model(variant, **overrides),
                        epoch=0, step=0, params_hash="", git_commit="")


def test_networks_on_ray_and_serially_give_identical_results(tiny_world, tmp_path, checkpoints):
    serial = params_for(tiny_world, tmp_path)
    parallel = params_for(tiny_world, tmp_path / "ray", f"evaluate.runs={tmp_path / 'runs'}", "evaluate.backend=ray")
    for variant, benchmark in [("siamfc_alexnet", "synth-otb"), ("siamrpn_alexnet_dw", "synth-vot"),
                               ("siammask_r50", "synth-vot")]:
        evaluate.run(variant, benchmark, serial)
        evaluate.run(variant, benchmark, parallel)
        a = tmp_path / "results" / variant / benchmark
        b = tmp_path / "ray" / "results" / variant / benchmark
        assert tree_hash(a, "*.txt") == tree_hash(b, "*.txt") and any(a.rglob("*.txt"))
        score_of(serial, variant, benchmark)  # the network's results score without error


@needs_shared
def test_crossing_evaluate_and_score_commands(tmp_path):
    overrides = [f"--set=benchmarks.synth-otb.root={SHARED / 'data' / 'otb'}",
                 f"--set=evaluate.results={tmp_path / 'results'}", f"--set=score.out={tmp_path / 'metrics'}",
                 "--set=evaluate.backend=ray"]  # the command line on Ray, as a user runs it
    done = run_module("pipeline.evaluate", "--variant", "identity", "--benchmark", "synth-otb", *overrides)
    assert done.returncode == 0, done.stderr
    assert run_module("pipeline.score", "--variant", "identity", "--benchmark", "synth-otb", *overrides).returncode == 0
    result = json.loads((tmp_path / "metrics" / "identity" / "synth-otb.json").read_text())
    (crossing,) = load_otb(SHARED / "data" / "otb")
    expected = metrics.ope_sequence(np.repeat(crossing.gt[:1], len(crossing.gt), 0), crossing.gt)
    assert result["per_sequence"]["Crossing"]["success_auc"] == pytest.approx(expected["success_auc"])
    assert (tmp_path / "metrics" / "identity" / "synth-otb.png").stat().st_size > 1000

    # A truncated result file: one line naming it, exit status 2.
    path = tmp_path / "results" / "identity" / "synth-otb" / "Crossing.txt"
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:100]))
    failed = run_module("pipeline.score", "--variant", "identity", "--benchmark", "synth-otb", *overrides)
    assert failed.returncode == 2 and failed.stderr.strip().count("\n") == 0
    assert f"{path}: 100 boxes for 120 ground-truth frames" in failed.stderr


@needs_shared
def test_score_a_pysot_result_folder_against_a_dataset_json(tmp_path):
    (crossing,) = load_otb(SHARED / "data" / "otb")
    file_boxes = crossing.gt + [1, 1, 0, 0]  # pysot's OTB100.json keeps OTB's 1-based values
    names = [f"Crossing/img/{p.name}" for p in crossing.frames]
    (tmp_path / "OTB100.json").write_text(json.dumps({"Crossing": {
        "video_dir": "Crossing", "init_rect": file_boxes[0].tolist(), "img_names": names,
        "gt_rect": file_boxes.tolist(), "attr": []}}))
    predictions = file_boxes + np.array([3.0, -2.0, 1.0, 0.0])
    (tmp_path / "SiamX").mkdir()
    (tmp_path / "SiamX" / "Crossing.txt").write_text("".join(",".join(map(str, b)) + "\n" for b in predictions))
    for first_frame, scored in (("official", np.concatenate([file_boxes[:1], predictions[1:]])),
                                ("as_written", predictions)):
        done = run_module("pipeline.score", "--dataset-json", str(tmp_path / "OTB100.json"), "--results",
                          str(tmp_path / "SiamX"), "--out", str(tmp_path / "SiamX.json"),
                          "--set", f"score.first_frame={first_frame}")
        assert done.returncode == 0, done.stderr
        result = json.loads((tmp_path / "SiamX.json").read_text())
        expected = metrics.ope_sequence(scored, file_boxes)
        assert result["overall"]["success_auc"] == pytest.approx(expected["success_auc"])
        assert result["overall"]["precision_20"] == pytest.approx(expected["precision_20"])


def test_score_of_a_dataset_json_replaces_frame_1_unless_told_to_score_it_as_written(tmp_path):
    gt = np.array([[11.0 + i, 21.0, 30.0, 40.0] for i in range(10)])  # 1-based, as pysot's OTB files
    (tmp_path / "tiny.json").write_text(json.dumps({"seq": {
        "video_dir": "seq", "init_rect": gt[0].tolist(), "img_names": [f"seq/{i:04d}.jpg" for i in range(10)],
        "gt_rect": gt.tolist(), "attr": []}}))
    predictions = gt.copy()
    predictions[0] += [15.0, 20.0, 0, 0]  # frame 1 off: IoU 1/7, centre 25 px away; the others exact
    (tmp_path / "T").mkdir()
    (tmp_path / "T" / "seq.txt").write_text("".join(",".join(map(str, b)) + "\n" for b in predictions))
    overall = {}
    for extra in ([], ["--set", "score.first_frame=as_written"]):
        out = tmp_path / f"T{len(extra)}.json"
        done = run_module("pipeline.score", "--dataset-json", str(tmp_path / "tiny.json"), "--results",
                          str(tmp_path / "T"), "--out", str(out), *extra)
        assert done.returncode == 0, done.stderr
        overall[len(extra)] = json.loads(out.read_text())["overall"]
    assert overall[0]["success_auc"] == pytest.approx(20 / 21) and overall[0]["precision_20"] == 1.0  # default
    assert overall[2]["success_auc"] == pytest.approx((9 * 20 + 3) / 10 / 21)
    assert overall[2]["success_auc"] < overall[0]["success_auc"]
    assert overall[2]["precision_20"] == pytest.approx(0.9)
    bad = run_module("pipeline.score", "--dataset-json", str(tmp_path / "tiny.json"), "--results",
                     str(tmp_path / "T"), "--out", str(tmp_path / "bad.json"), "--set", "score.first_frame=first")
    assert bad.returncode == 2 and "score.first_frame: 'first' must be one of official, as_written" in bad.stderr


def test_test_splits_are_packed_for_their_servers_not_scored(tmp_path):
    """GOT-10k test and TrackingNet TEST give the first box only: pipeline.submit zips the result files in the
    servers' layouts; pipeline.score refuses with one line."""
    import zipfile

    import cv2
    rng = np.random.default_rng(0)
    for split, name, first in [("got-test", "GOT-10k_Test_000001", "11,21,30,40"), ("tn-test", "abc_0", "10,20,30,40")]:
        folder = tmp_path / split / (name if split == "got-test" else f"frames/{name}")
        folder.mkdir(parents=True)
        for i in range(5):
            cv2.imwrite(str(folder / (f"{i + 1:08d}.jpg" if split == "got-test" else f"{i}.jpg")),
                        rng.integers(0, 255, (64, 80, 3), np.uint8))
    (tmp_path / "got-test" / "list.txt").write_text("GOT-10k_Test_000001\n")
    (tmp_path / "got-test" / "GOT-10k_Test_000001" / "groundtruth.txt").write_text("11,21,30,40\n")
    (tmp_path / "tn-test" / "anno").mkdir()
    (tmp_path / "tn-test" / "anno" / "abc_0.txt").write_text("10,20,30,40\n")
    overrides = [f"--set=benchmarks.synth-got10k.root={tmp_path / 'got-test'}",
                 f"--set=benchmarks.synth-lasot.root={tmp_path / 'tn-test'}", "--set=benchmarks.synth-lasot.format=trackingnet",
                 f"--set=evaluate.results={tmp_path / 'results'}", f"--set=score.out={tmp_path / 'metrics'}",
                 "--set=evaluate.backend=serial"]
    for benchmark in ("synth-got10k", "synth-lasot"):
        done = run_module("pipeline.evaluate", "--variant", "identity", "--benchmark", benchmark, *overrides)
        assert done.returncode == 0, done.stderr
        done = run_module("pipeline.submit", "--variant", "identity", "--benchmark", benchmark, *overrides)
        assert done.returncode == 0, done.stderr
        failed = run_module("pipeline.score", "--variant", "identity", "--benchmark", benchmark, *overrides)
        assert failed.returncode == 2 and "pipeline.submit" in failed.stderr, failed.stderr
    with zipfile.ZipFile(tmp_path / "results" / "identity" / "synth-got10k.zip") as archive:
        assert sorted(archive.namelist()) == ["GOT-10k_Test_000001/GOT-10k_Test_000001_001.txt",
                                              "GOT-10k_Test_000001/GOT-10k_Test_000001_time.txt"]
        lines = archive.read("GOT-10k_Test_000001/GOT-10k_Test_000001_001.txt").decode().split()
        assert len(lines) == 5 and lines[0] == "11.0000,21.0000,30.0000,40.0000"
    with zipfile.ZipFile(tmp_path / "results" / "identity" / "synth-lasot.zip") as archive:
        assert archive.namelist() == ["abc_0.txt"]
        assert archive.read("abc_0.txt").decode().split()[0] == "10.0000,20.0000,30.0000,40.0000"  # as held
    # An incomplete result folder is not packed.
    (tmp_path / "results" / "identity" / "synth-lasot" / "abc_0.txt").write_text("10,20,30,40\n")
    failed = run_module("pipeline.submit", "--variant", "identity", "--benchmark", "synth-lasot", *overrides)
    assert failed.returncode == 2 and "abc_0.txt: 1 boxes for 5 ground-truth frames" in failed.stderr
    failed = run_module("pipeline.submit", "--variant", "identity", "--benchmark", "synth-otb", *overrides)
    assert failed.returncode == 2 and "public ground truth" in failed.stderr


def test_bad_evaluate_arguments_are_one_line(tmp_path):
    for args, message in [(["--variant", "siamfc_alexnet", "--benchmark", "synth-otb",
                            f"--set=evaluate.runs={tmp_path}"], "no checkpoint for siamfc_alexnet"),
                          (["--variant", "identity", "--benchmark", "otb"], "unknown benchmark 'otb'"),
                          (["--variant", "siamfc", "--benchmark", "synth-otb"], "unknown variant 'siamfc'")]:
        done = run_module("pipeline.evaluate", *args)
        assert done.returncode == 2 and message in done.stderr and done.stderr.strip().count("\n") == 0
