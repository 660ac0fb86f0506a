"""Snakemake and DVC run the same stage commands; the grids run for real under Snakemake (a 2-cell grid with
a failed cell that a rerun mends), a bad grid stops before anything runs, and `snakemake --lint` is clean."""
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import psutil

import yaml
from mlflow.tracking import MlflowClient

from pipeline.config import grids
from tests.conftest import REPO, dataset_specs
from tests.pipeline.test_train import FAST

BIN = Path(sys.executable).parent
ENV = {**os.environ, "PYTHONPATH": str(REPO)}
STAGES = {"synth", "index", "curate", "train", "evaluate", "score", "report"}


def snakemake(*args, workdir=REPO):
    return subprocess.run([str(BIN / "snakemake"), "-s", str(REPO / "Snakefile"), "-d", str(workdir), *args],
                          env=ENV, capture_output=True, text=True)


def planned(output: str) -> dict[str, list[str]]:
    """rule -> the shell commands of a `snakemake -n -p` plan, without their log redirection."""
    found = {}
    for rule, command in re.findall(r"^(?:local)?rule (\w+):\n(?:    .*\n)*?Shell command: (.*)$", output, re.M):
        if command != "None":  # a target rule without a command
            found.setdefault(rule, []).append(command.split(" > logs/")[0])
    return found


def test_snakefile_and_dvc_yaml_run_the_same_command_for_every_stage():
    dvc = subprocess.run([str(BIN / "dvc"), "repro", "--dry", "--force"], cwd=REPO, env=ENV, capture_output=True,
                         text=True)
    assert dvc.returncode == 0, dvc.stderr
    stages = {}
    for stage, command in re.findall(r"^Running stage '([^'@]+)[^']*':\n> (.*)$", dvc.stdout, re.M):
        # dvc.yaml's evaluate, evaluate-untrained and evaluate-identity are Snakemake's one evaluate rule (score too)
        stages.setdefault(stage.split("-")[0], []).append(command)
    plan = snakemake("-n", "-p", "--forceall", "all")
    assert plan.returncode == 0, plan.stderr
    rules = planned(plan.stdout)
    # 4 variants and identity on 3 benchmarks, the variants' initial weights on 1
    assert set(stages) == STAGES and len(stages["evaluate"]) == len(stages["score"]) == 5 * 3 + 4
    assert {k: sorted(v) for k, v in rules.items()} == {k: sorted(v) for k, v in stages.items()}


def test_retraining_one_variant_reaches_its_own_evaluations_only():
    dag = subprocess.run([str(BIN / "dvc"), "dag", "--dot"], cwd=REPO, env=ENV, capture_output=True, text=True)
    assert dag.returncode == 0, dag.stderr
    edges = re.findall(r'^"([^"]+)" -> "([^"]+)";$', dag.stdout, re.M)
    after = {target for source, target in edges if source == "train@siamfc_alexnet"}
    assert after == {f"evaluate@siamfc_alexnet-{benchmark}" for benchmark in ("synth-otb", "synth-vot", "synth-davis")
                     } | {"evaluate-untrained@siamfc_alexnet-synth-otb"}
    assert not {t for s, t in edges if s == "train@siamrpn_alexnet_dw"} & after


def test_grid_cells_run_the_stage_commands_with_their_overrides_tags_and_sweep():
    templates = {name: stage.get("cmd") or stage["do"]["cmd"]
                 for name, stage in yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"].items()}
    plan = snakemake("-n", "-p", "--forceall", "ablation")
    assert plan.returncode == 0, plan.stderr
    rules, cells = planned(plan.stdout), grids.cells(REPO / "params.yaml")
    # the fraction grid in full; the layer sets with DW correlation and finetuning; UP against DW (ablation.grids)
    assert len(cells) == 6 + 7 + 2
    assert {r: len(c) for r, c in rules.items() if r.startswith("cell_")} == {
        "cell_train": len(cells), "cell_evaluate": 2 * len(cells), "cell_score": 2 * len(cells)}
    for rule in ("train", "evaluate", "score"):
        stage = re.sub(r"\\\$\\\{[^}]*\\\}", r"\\S+", re.escape(templates[rule]))
        for command in rules[f"cell_{rule}"]:
            assert re.fullmatch(rf"{stage}( --(set|tag) '[^']+'| --parent \S+)+", command), command
    assert any("--set 'train.fraction=0.02'" in c and "--tag 'cell=2pct'" in c for c in rules["cell_train"])
    assert any("layers=[3,5]'" in c and "--tag 'corr=dw'" in c for c in rules["cell_train"])
    assert any("--variant siamrpnpp_r18" in c and "--set 'variants.siamrpnpp_r18.corr=up'" in c
               and "--tag 'cell=corr-up'" in c for c in rules["cell_train"])


def test_snakemake_lint_is_clean():
    lint = snakemake("--lint")
    assert lint.returncode == 0 and "Congratulations" in lint.stdout + lint.stderr, lint.stdout + lint.stderr


def write_params(folder: Path, change) -> None:
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    change(raw)
    (folder / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))


def test_a_bad_grid_stops_snakemake_before_anything_runs_with_one_line(tmp_path):
    cases = [(lambda raw: raw["ablation"]["fraction"].update(fractions=[]), "ablation.fraction has no cell"),
             (lambda raw: raw["ablation"]["layers"].update(variant="siamrpnpp_r51"), "'siamrpnpp_r51' is not a variant"),
             (lambda raw: raw["ablation"]["layers"].update(layers=[[2, 3]]), "layers must be a non-empty subset"),
             (lambda raw: raw["benchmarks"]["synth-otb"].update(root="/no/such/otb"),
              "benchmarks.synth-otb.root: /no/such/otb is not a folder"),
             (lambda raw: raw["ablation"]["grids"]["correlation"].update(axes={"variants.siamrpnpp_r18.corz": ["up"]}),
              "ablation cell correlation/corz-up: --set 'variants.siamrpnpp_r18.corz=up': unknown key"),
             (lambda raw: raw["ablation"]["grids"]["correlation"].update(axes={"train.seed": []}),
              "'ablation.grids.correlation.axes' must map params keys to non-empty lists of values"),
             (lambda raw: raw["ablation"]["grids"].update(layers=raw["ablation"]["grids"]["correlation"]),
              "a grid's name is lower-case letters, digits and _, and not fraction, layers or results")]
    for change, message in cases:
        write_params(tmp_path, change)
        plan = snakemake("-n", "ablation", workdir=tmp_path)
        assert plan.returncode != 0
        lines = [line for line in plan.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("snakemake: error:") and message in lines[0], plan.stderr
        assert not (tmp_path / "ablation").exists()


def tiny_paths(raw, tiny_world, tiny_index, tiny_shards, store) -> None:
    """params for grids on the tiny world's VID, one-epoch cells."""
    raw["synth"]["out"] = str(tiny_world)
    raw["datasets"] = {"vid": vars(dataset_specs(tiny_world)["vid"])}
    raw["index"] = {"out": tiny_index.out, "metrics": tiny_index.metrics}
    raw["curate"].update(out=str(tiny_shards), metrics=str(tiny_shards.parent / "metrics"))
    for name in ("synth-otb", "synth-vot", "synth-davis"):
        raw["benchmarks"][name]["root"] = str(tiny_world / "benchmarks" / name)
    raw["benchmarks"]["synth-vot"]["eao_interval"] = "5-25"  # the tiny sequences have 30 frames
    raw["mlflow"]["tracking_uri"] = store
    raw["ablation"]["set"] = [*FAST, "train_profiles.demo.siamfc.epochs=1", "evaluate.backend=serial"]


def test_a_two_cell_grid_runs_in_parallel_and_a_rerun_redoes_only_the_failed_cell(tiny_world, tiny_index,
                                                                                     tiny_shards, tmp_path):
    store = f"sqlite:///{tmp_path}/mlflow.db"

    def tiny_grid(raw, fractions):
        tiny_paths(raw, tiny_world, tiny_index, tiny_shards, store)
        raw["ablation"]["fraction"]["fractions"] = fractions

    write_params(tmp_path, lambda raw: tiny_grid(raw, [0.5, 1.0]))
    # The first run loses the 50 % cell's training to a SIGKILL (as the OOM killer would); the other goes on.
    command = [str(BIN / "snakemake"), "-s", str(REPO / "Snakefile"), "-d", str(tmp_path), "--cores", "2",
               "--keep-going", "reports/ablation_fraction.md"]
    first = subprocess.Popen(command, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    killed = False
    while first.poll() is None and not killed:
        for process in psutil.Process(first.pid).children(recursive=True):
            try:
                if "pipeline.train" in process.cmdline() and "train.fraction=0.5" in process.cmdline():
                    process.kill()
                    killed = True
            except psutil.Error:
                pass
        time.sleep(0.05)
    output = first.communicate()[0]
    assert killed and first.returncode != 0, output[-3000:]
    assert (tmp_path / "ablation/fraction/100pct/metrics/siamfc_alexnet/synth-vot.json").exists(), output[-3000:]
    assert not (tmp_path / "reports/ablation_fraction.md").exists()

    second = snakemake("--cores", "2", "--keep-going", "reports/ablation_fraction.md", workdir=tmp_path)
    assert second.returncode == 0, second.stderr[-3000:]
    done = re.findall(r"^(?:local)?rule (\w+):\n(?:    .*\n)*?    wildcards: (.*)$", second.stderr + second.stdout, re.M)
    assert sorted(done) == sorted([("cell_train", "grid=fraction, cell=50pct, variant=siamfc_alexnet")]
                                  + [("cell_evaluate", f"grid=fraction, cell=50pct, tracker=siamfc_alexnet, "
                                      f"benchmark={b}") for b in ("synth-otb", "synth-vot")]
                                  + [("cell_score", f"grid=fraction, cell=50pct, tracker=siamfc_alexnet, "
                                      f"benchmark={b}") for b in ("synth-otb", "synth-vot")]
                                  + [("ablation_report", "table=fraction")]), done

    report = (tmp_path / "reports/ablation_fraction.md").read_text()
    ours = report.split("Published, for reference")[0]  # the grid's own table, not the paper's below it
    rows = [line for line in ours.splitlines() if re.match(r"\| (50|100) \|", line)]
    assert len(rows) == 2 and "-" not in [c.strip() for row in rows for c in row.split("|")[1:-1]], report
    videos = {row.split("|")[1].strip(): int(row.split("|")[2]) for row in rows}
    assert videos == {"50": 4, "100": 8}  # the tiny world's 8 VID training videos
    assert (tmp_path / "reports/ablation_fraction.png").stat().st_size > 0
    assert "Published, for reference: SiamFC Table 3" in report and "| 100 | 4417 | 2m | 0.524 | 87 | 0.274 |" in report

    client = MlflowClient(store)
    runs = client.search_runs([client.get_experiment_by_name("siamflow").experiment_id], max_results=1000)
    sweep = json.loads((tmp_path / "ablation/fraction/sweep.json").read_text())
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == sweep["run_id"]]
    assert sorted((r.data.tags["stage"], r.data.tags["cell"]) for r in children if r.info.status == "FINISHED") \
        == sorted((stage, cell) for cell in ("50pct", "100pct") for stage in ("train", "evaluate", "evaluate",
                                                                              "score", "score"))
    assert client.get_run(sweep["run_id"]).info.status == "FINISHED"
    assert [a.path for a in client.list_artifacts(sweep["run_id"], "report")] == [
        "report/ablation_fraction.md", "report/ablation_fraction.png"]
    assert len({r.data.tags["pipeline_id"] for r in children}) == 2  # one per snakemake invocation


def test_a_grid_that_is_a_params_entry_runs_and_reports_a_column_per_axis(tiny_world, tiny_index, tiny_shards,
                                                                         tmp_path):
    def negatives_grid(raw):
        tiny_paths(raw, tiny_world, tiny_index, tiny_shards, f"sqlite:///{tmp_path}/mlflow.db")
        raw["ablation"]["grids"] = {"negatives": {"variant": "siamfc_alexnet", "axes": {
            "train_profiles.demo.siamfc.negative": [0.0, 0.4]}}}

    write_params(tmp_path, negatives_grid)
    run = snakemake("--cores", "2", "reports/ablation_negatives.md", workdir=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    for cell in ("negative-0.0", "negative-0.4"):
        assert (tmp_path / f"ablation/negatives/{cell}/runs/siamfc_alexnet/checkpoint.pt").exists()
    report = (tmp_path / "reports/ablation_negatives.md").read_text()
    assert "| negative | synth-vot accuracy | synth-vot failures | synth-vot EAO | synth-otb AUC |" in report
    rows = [[c.strip() for c in line.split("|")[1:-1]] for line in report.splitlines() if line.startswith("| 0.")]
    assert [row[0] for row in rows] == ["0.0", "0.4"] and all(re.fullmatch(r"\d\.\d{3}", row[-1]) for row in rows)
    assert (tmp_path / "reports/ablation_negatives.png").stat().st_size > 0
    train = json.loads((tmp_path / "ablation/negatives/negative-0.4/runs/siamfc_alexnet/train.json").read_text())
    assert train["epochs"][0]["loss_total"] != json.loads((tmp_path / "ablation/negatives/negative-0.0/runs/"
                                                           "siamfc_alexnet/train.json").read_text())["epochs"][0][
        "loss_total"]  # the axis reached the training


def test_the_slurm_profile_plans_the_same_grid_jobs_with_their_resources():
    """No Slurm here: a dry run through the executor plugin, which plans what sbatch would get."""
    on_slurm = snakemake("--profile", str(REPO / "workflow/profiles/slurm"), "-n", "-p", "--forceall", "ablation")
    assert on_slurm.returncode == 0, on_slurm.stderr[-2000:]
    local = snakemake("-n", "-p", "--forceall", "ablation")
    assert {r: sorted(c) for r, c in planned(on_slurm.stdout).items()} == \
        {r: sorted(c) for r, c in planned(local.stdout).items()}
    assert "resources: " in on_slurm.stdout and "cpus=1, gpu=0" in on_slurm.stdout
