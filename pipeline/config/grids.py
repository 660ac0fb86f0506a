"""The ablation grids of params.yaml's `ablation` section, expanded into cells for the Snakefile and the report.

A cell is one training and its evaluations under <ablation.out>/<grid>/<cell>/ (runs/, results/, metrics/),
run by the ordinary stage commands with the cell's --set overrides and --tag lineage:
- fraction (SiamFC Table 3): `train.fraction` per cell, named by its percentage (2pct ... 100pct);
- layers (SiamRPN++ Table 1): the variant's `layers` x `corr` x finetuning (off: the backbone stays frozen
  for every epoch), named like L3+L4-dw-ft or L5-up-frozen.
Every cell's params are loaded and checked here, so a bad grid stops Snakemake before anything runs.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.config.params import ParamsError, load_params, missing_benchmark_root

from pipeline.config.schema import Params

GRIDS = ("fraction", "layers")


@dataclass(frozen=True)
class Cell:
    grid: str
    name: str
    variant: str
    overrides: list[str]    # --set options, the grid's and the cell's
    tags: dict[str, str]    # --tag options: what the report's columns need to know about the cell

    @property
    def folder(self) -> str:
        return f"{self.grid}/{self.name}"


def cell_paths(out: str, folder: str) -> list[str]:
    """Where a cell's stage commands read and write, as --set overrides."""
    root = f"{out}/{folder}"
    return [f"train.runs={root}/runs", f"evaluate.runs={root}/runs", f"evaluate.results={root}/results",
            f"score.out={root}/metrics"]


def _fraction_cells(params: Params) -> list[Cell]:
    grid = params.ablation.fraction
    return [Cell("fraction", f"{fraction * 100:g}pct", grid.variant, [f"train.fraction={fraction}"],
                 {"fraction": str(fraction)}) for fraction in grid.fractions]


def _layer_cells(params: Params) -> list[Cell]:
    grid, cells = params.ablation.layers, []
    recipe = params.recipe(grid.variant) if grid.variant in params.variants else None
    for layers in grid.layers:
        for corr in grid.corr:
            for finetune in grid.finetune:
                overrides = [f"variants.{grid.variant}.layers=[{','.join(map(str, layers))}]",
                             f"variants.{grid.variant}.corr={corr}"]
                if not finetune and recipe is not None:
                    kind = params.variants[grid.variant]["head"]
                    overrides.append(f"train_profiles.{params.train.profile}.{kind}.freeze_backbone_epochs="
                                     f"{recipe.epochs}")
                name = "+".join(f"L{n}" for n in layers) + f"-{corr}-{'ft' if finetune else 'frozen'}"
                cells.append(Cell("layers", name, grid.variant, overrides,
                                  {"layers": ",".join(map(str, layers)), "corr": corr,
                                   "finetune": str(finetune).lower()}))
    return cells


def cells(params_path: str | Path = "params.yaml", grids: tuple[str, ...] = GRIDS,
          overrides: list[str] = ()) -> list[Cell]:
    """The cells of the named grids; each cell's params loaded with its overrides, so that an unknown
    variant, an empty grid or a bad layer set is one ParamsError naming it."""
    params = load_params(params_path, overrides)
    ablation = params.ablation
    for key, protocol in (("otb", "ope"), ("vot", "vot")):
        name = getattr(ablation, key)
        if name not in params.benchmarks or params.benchmarks[name].protocol != protocol:
            raise ParamsError(f"{params_path}: ablation.{key}: {name!r} is not a benchmark with the {protocol} "
                              "protocol")
        if problem := missing_benchmark_root(params, name):
            raise ParamsError(f"{params_path}: {problem}")
    base = load_params(params_path, [*overrides, *ablation.set])
    found = []
    for grid in grids:
        if grid not in GRIDS:
            raise ParamsError(f"unknown grid {grid!r} ({', '.join(GRIDS)})")
        variant = getattr(ablation, grid).variant
        if variant not in base.variants:
            raise ParamsError(f"{params_path}: ablation.{grid}.variant: {variant!r} is not a variant")
        if grid == "fraction" and not all(0 < f <= 1 for f in ablation.fraction.fractions):
            raise ParamsError(f"{params_path}: ablation.fraction.fractions must lie in (0, 1], got "
                              f"{ablation.fraction.fractions}")
        grid_cells = _fraction_cells(base) if grid == "fraction" else _layer_cells(base)
        if not grid_cells:
            raise ParamsError(f"{params_path}: ablation.{grid} has no cell (an empty list in its definition)")
        for cell in grid_cells:
            try:
                load_params(params_path, [*overrides, *ablation.set, *cell.overrides])
            except ParamsError as err:
                raise ParamsError(f"ablation cell {cell.folder}: {err}") from None
        found += grid_cells
    return found


def command_options(cell: Cell, out: str, set_options: list[str]) -> str:
    """The options a cell adds to a stage command: overrides (the grid's, the cell's, its paths), tags, and
    the sweep run as parent."""
    sets = [*set_options, *cell.overrides, *cell_paths(out, cell.folder)]
    tags = {"grid": cell.grid, "cell": cell.name, **cell.tags}
    return " ".join([*(f"--set '{s}'" for s in sets), *(f"--tag '{k}={v}'" for k, v in tags.items()),
                     f"--parent {out}/{cell.grid}/sweep.json"])
