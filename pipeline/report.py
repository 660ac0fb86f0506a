"""python -m pipeline.report [--table results|fraction|layers|GRID]: Markdown reports from the MLflow store.

- reports/results.md: every tracker of repro on each of its benchmarks (the main metrics and the
  tracker's speed), from the newest score run of each pair outside the ablation grids and
  of the same DVC experiment as this command (none in the workspace);
- reports/ablation_fraction.md (+ .png, AUC and EAO against the share of videos): SiamFC Table 3's columns;
- reports/ablation_layers.md (+ .png): SiamRPN++ Table 1's columns;
the two with the paper's own table beside theirs (pipeline/common/papers.py), and its values in the plot;
- reports/ablation_<grid>.md (+ .png) for each grid of ablation.grids: a column per axis;
one row per cell of the grid as params.yaml defines it now, from the cell's newest train and score runs
('-' where a cell has not finished). The report is logged as a run of its own, and an ablation report ends
its sweep run. The runs of this DVC pipeline get their dvc.lock entry hash as a tag.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from pipeline import cli, tracking
from pipeline.benchmarks.protocols import PROTOCOLS
from pipeline.common.errors import UserError
from pipeline.common import papers
from pipeline.common.files import write_atomic, write_figure
from pipeline.common.tables import markdown_table
from pipeline.config import grids
from pipeline.config.params import ParamsError, load_params, repro_cells
from pipeline.config.schema import Params
from pipeline.tracking import RunContext


def _newest(runs: list[dict], **tags: str) -> dict | None:
    """The newest run (runs come newest first) whose tags include `tags`."""
    return next((r for r in runs if all(r["tags"].get(k) == v for k, v in tags.items())), None)


def _value(run: dict | None, metric: str, digits: int = 3) -> str:
    if run is None or metric not in run["metrics"]:
        return "-"
    value = run["metrics"][metric]
    return f"{value:.{digits}f}" if value == value else "nan"


def results_table(params: Params, runs: list[dict]) -> str:
    """dvc repro's trackers x benchmarks (repro_cells) from the newest score runs of this DVC experiment (or
    workspace); '-' where a tracker is not evaluated on a benchmark or not scored yet."""
    exp = os.environ.get("DVC_EXP_NAME", "")
    runs = [r for r in runs if "grid" not in r["tags"] and r["tags"].get("dvc_exp_name", "") == exp]
    header, rows = ["tracker"], []
    for benchmark in params.repro.benchmarks:
        protocol = params.benchmarks[benchmark].protocol
        header += [f"{benchmark} {name}" for _, name in PROTOCOLS[protocol].columns] + [f"{benchmark} fps"]
    cells = repro_cells(params.repro)
    missing = []
    for tracker, benchmarks in cells.items():
        row = [tracker]
        for benchmark in params.repro.benchmarks:
            run = None
            if benchmark in benchmarks and (run := _newest(runs, tracker=tracker, benchmark=benchmark)) is None:
                missing.append(f"{tracker} on {benchmark}")
            protocol = params.benchmarks[benchmark].protocol
            row += [_value(run, key) for key, _ in PROTOCOLS[protocol].columns] + [_value(run, "fps", 0)]
        rows.append(row)
    if len(missing) == sum(map(len, cells.values())):
        raise UserError("no score runs in the MLflow store for the trackers and benchmarks of repro (run: dvc "
                        "repro; a deleted store refills with: dvc repro --force --glob 'score*')")
    note = f"\n\nNot scored yet: {', '.join(missing)}." if missing else ""
    return markdown_table(header, rows) + note


def _cell_runs(runs: list[dict], cell: grids.Cell, benchmark: str) -> dict | None:
    return _newest(runs, grid=cell.grid, cell=cell.name, stage="score", benchmark=benchmark)


def fraction_table(params: Params, cells: list[grids.Cell], runs: list[dict]) -> tuple[str, dict]:
    """SiamFC Table 3's columns, plus the OTB AUC; and the plot's (percent, value) points per metric."""
    ablation, rows, points = params.ablation, [], {"AUC": [], "EAO": []}
    for cell in cells:
        train = _newest(runs, grid=cell.grid, cell=cell.name, stage="train")
        vot, otb = _cell_runs(runs, cell, ablation.vot), _cell_runs(runs, cell, ablation.otb)
        videos = objects = "-"
        if train is not None:
            counts = {k: int(v) for k, v in train["params"].items() if k.startswith("data.")}
            videos = str(sum(v for k, v in counts.items() if k.endswith(".videos")))
            objects = str(sum(v for k, v in counts.items() if k.endswith(".objects")))
        fraction = float(cell.tags["fraction"])
        rows.append([f"{fraction * 100:g}", videos, objects, _value(vot, "accuracy"), _value(vot, "failures", 0),
                     _value(vot, "eao"), _value(otb, "success_auc")])
        for label, run, metric in (("AUC", otb, "success_auc"), ("EAO", vot, "eao")):
            if run is not None and metric in run["metrics"]:
                points[label].append((fraction * 100, run["metrics"][metric]))
    header = ["dataset %", "videos", "objects", f"{ablation.vot} accuracy", f"{ablation.vot} failures",
              f"{ablation.vot} EAO", f"{ablation.otb} AUC"]
    return markdown_table(header, rows), points


def fraction_trend(params: Params, points: list) -> str:
    """SiamFC Table 3's shape in two numbers: the Spearman rank correlation of the AUC with the share of videos,
    and the AUC of the largest share over the smallest's."""
    if len(points) < 3:
        return ""
    from scipy.stats import spearmanr  # ties get their mean rank
    (low, low_auc), (high, high_auc) = min(points), max(points)
    rho = spearmanr([p for p, _ in points], [auc for _, auc in points]).statistic
    return (f"\n\n{params.ablation.otb} AUC against the share of videos: Spearman rank correlation {rho:.2f}; "
            f"{high:g} % over {low:g} %: {high_auc - low_auc:+.3f}.")


def layers_table(params: Params, cells: list[grids.Cell], runs: list[dict]) -> str:
    """SiamRPN++ Table 1's columns: backbone, L3, L4, L5, finetune, corr, VOT EAO, OTB AUC."""
    ablation, rows = params.ablation, []
    backbone = params.variants[ablation.layers.variant]["backbone"]
    for cell in cells:
        layers = cell.tags["layers"].split(",")
        rows.append([backbone, *("✓" if n in layers else "" for n in "345"),
                     "✓" if cell.tags["finetune"] == "true" else "", cell.tags["corr"].upper(),
                     _value(_cell_runs(runs, cell, ablation.vot), "eao"),
                     _value(_cell_runs(runs, cell, ablation.otb), "success_auc")])
    header = ["backbone", "L3", "L4", "L5", "finetune", "corr", f"{ablation.vot} EAO", f"{ablation.otb} AUC"]
    return markdown_table(header, rows)


def axes_table(params: Params, cells: list[grids.Cell], runs: list[dict]) -> str:
    """A grid of ablation.grids: a column per axis, then the VOT accuracy, failures and EAO and the OTB AUC."""
    ablation, rows = params.ablation, []
    axes = list(cells[0].tags)  # the cells' tags are their axes, in the grid's order
    for cell in cells:
        vot, otb = _cell_runs(runs, cell, ablation.vot), _cell_runs(runs, cell, ablation.otb)
        rows.append([*(cell.tags[axis] for axis in axes), _value(vot, "accuracy"), _value(vot, "failures", 0),
                     _value(vot, "eao"), _value(otb, "success_auc")])
    header = [*axes, f"{ablation.vot} accuracy", f"{ablation.vot} failures", f"{ablation.vot} EAO",
              f"{ablation.otb} AUC"]
    return markdown_table(header, rows)


def plot_cells(params: Params, cells: list[grids.Cell], runs: list[dict], path: Path, title: str,
               paper: list | None = None) -> None:
    """A grid's OTB AUC and VOT EAO per cell, as bars ('-' cells are left out), and a paper's value per cell
    where it has one."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    fig, ax = plt.subplots(figsize=(max(4.0, 0.9 * len(cells) + 1.5), 4))
    for offset, (benchmark, metric, label) in ((-0.2, (params.ablation.otb, "success_auc", "AUC")),
                                               (0.2, (params.ablation.vot, "eao", "EAO"))):
        found = [(i, run["metrics"][metric]) for i, cell in enumerate(cells)
                 if (run := _cell_runs(runs, cell, benchmark)) is not None and metric in run["metrics"]]
        if found:
            ax.bar([i + offset for i, _ in found], [v for _, v in found], width=0.4, label=f"{benchmark} {label}")
    if paper:
        found = [(i, auc) for i, auc in enumerate(paper) if auc is not None]
        ax.plot(*zip(*found), "k_", markersize=18, label="SiamRPN++ Table 1, OTB2015 AUC")
    ax.set_xticks(range(len(cells)), [cell.name for cell in cells], rotation=30, ha="right")
    ax.set(ylim=(0, 1), title=title)
    ax.legend()
    fig.tight_layout()
    write_figure(fig, path)
    plt.close(fig)


def plot_fraction(params: Params, points: dict, path: Path) -> None:
    """AUC and EAO against the share of videos, with SiamFC Table 3's VOT-15 EAO dashed."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for label, benchmark in (("AUC", params.ablation.otb), ("EAO", params.ablation.vot)):
        if points[label]:
            ax.plot(*zip(*sorted(points[label])), marker="o", label=f"{benchmark} {label}")
    ax.plot([row[0] for row in papers.SIAMFC_TABLE3], [row[5] for row in papers.SIAMFC_TABLE3], "k--", marker=".",
            label="SiamFC Table 3, VOT-15 EAO")
    ax.set(xscale="log", xlabel="training videos (%)", ylabel="score", ylim=(0, 1),
           title="Dataset fraction (SiamFC Table 3)")
    shares = sorted({p for series in points.values() for p, _ in series} | {row[0] for row in papers.SIAMFC_TABLE3})
    ax.set_xticks(shares, [f"{p:g}" for p in shares])
    ax.minorticks_off()
    ax.legend()
    fig.tight_layout()
    write_figure(fig, path)
    plt.close(fig)


def grid_body(params: Params, table: str, cells: list[grids.Cell], runs: list[dict], plot: Path, title: str) -> str:
    """A grid's table (with the paper's beside it for fraction and layers); writes its plot."""
    if table == "fraction":
        body, points = fraction_table(params, cells, runs)
        plot_fraction(params, points, plot)
        return body + fraction_trend(params, points["AUC"]) + _published(
            papers.SIAMFC_TABLE3_SOURCE, papers.SIAMFC_TABLE3_HEADER, papers.siamfc_table3_rows())
    if table == "layers":
        plot_cells(params, cells, runs, plot, title, [
            papers.siamrpnpp_table1_auc(tuple(map(int, c.tags["layers"].split(","))), c.tags["finetune"] == "true",
                                        c.tags["corr"]) for c in cells])
        return layers_table(params, cells, runs) + _published(
            papers.SIAMRPNPP_TABLE1_SOURCE, papers.SIAMRPNPP_TABLE1_HEADER, papers.siamrpnpp_table1_rows())
    plot_cells(params, cells, runs, plot, title)
    return axes_table(params, cells, runs)


def run(params_path: str, table: str, overrides: list[str] = (), context: RunContext | None = None) -> list[Path]:
    """Writes one report (and its plot) and returns its files."""
    params = load_params(params_path, overrides)
    out = Path(params.report.out)
    try:
        runs = tracking.search(params.mlflow, {} if table == "results" else {"grid": table})
    except OSError as err:
        raise UserError(str(err)) from None
    if table == "results":
        text, files = f"# Results\n\n{results_table(params, runs)}\n", [out / "results.md"]
    else:
        try:
            cells = grids.cells(params_path, (table,), overrides)
        except ParamsError as err:
            raise UserError(str(err)) from None
        files = [out / f"ablation_{table}.md", out / f"ablation_{table}.png"]
        title = {"fraction": "Dataset fraction (SiamFC Table 3)",
                 "layers": "Backbone layers (SiamRPN++ Table 1)"}.get(table, f"Grid {table}")
        body = grid_body(params, table, cells, runs, files[1], title)
        text = (f"# {title}\n\n{cells[0].variant}, one row per cell of {grids.grid_key(params, table)} in "
                f"{params_path}, each cell trained with ablation.set (make ablation).\n\n{body}\n")
    write_atomic(files[0], text.encode())
    print(text)
    with tracking.RunLog(params.mlflow, f"report-{table}", {"table": table}, context=context) as run:
        for path in files:
            run.artifact(path)
    if table != "results":
        _end_sweep(params, table, files)
    elif os.environ.get("DVC_STAGE"):
        pipeline = tracking.pipeline_id()
        own = [r for r in runs if pipeline and r["tags"].get("pipeline_id") == pipeline]
        tracking.tag_lock_entries(params.mlflow, tracking.project_root() / "dvc.lock", own)
    return files


def _published(source: str, header: list, rows: list[list]) -> str:
    """A paper's table under the grid's own, for reference."""
    return f"\n\nPublished, for reference: {source}, on real data with the full-size networks.\n\n" + \
        markdown_table(header, rows)


def _end_sweep(params: Params, table: str, files: list[Path]) -> None:
    """The grid's sweep run gets the report and ends."""
    sweep_file = Path(params.ablation.out) / table / "sweep.json"
    if not sweep_file.exists():
        return
    run_id = json.loads(sweep_file.read_text()).get("run_id")
    if run_id:
        with tracking.RunLog(params.mlflow, f"sweep-{table}", {}, run_id=run_id) as sweep:
            for path in files:
                sweep.artifact(path, "report")


def main() -> None:
    parser = cli.stage_parser("pipeline.report", __doc__.split("\n\n")[0])
    parser.add_argument("--table", action="append", metavar="NAME",
                        help="build this report only: results or a grid's name (fraction, layers, or one of "
                             "ablation.grids); repeatable (default: all)")
    args = parser.parse_args()
    params, context = cli.params_from_args(args)  # checks params and takes --tag / --parent
    for table in args.table or ("results", *grids.grid_names(params)):
        run(args.params, table, args.overrides, context)


if __name__ == "__main__":
    cli.run(main, "report")
