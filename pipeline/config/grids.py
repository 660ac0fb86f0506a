"""The ablation grids of params.yaml's `ablation` section, expanded into cells for the Snakefile and the report.

A cell is one training and its evaluations under <ablation.out>/<grid>/<cell>/ (runs/, results/, metrics/),
run by the ordinary stage commands with the cell's --set overrides and --tag lineage:
- fraction (SiamFC Table 3): `train.fraction` per cell, named by its percentage (2pct ... 100pct);
- layers (SiamRPN++ Table 1): the variant's `layers` x `corr` x finetuning (off: the backbone stays frozen
  for every epoch), named like L3+L4-dw-ft or L5-up-frozen;
- any grid of ablation.grids: the product of its axes' values, each axis a params key set per cell, named by
  the keys' last parts and the values, like corr-up or corr-dw_negative-0.4.
Every cell's params are loaded and checked here, so a bad grid stops Snakemake before anything runs.
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path

from pipeline.config.params import ParamsError, load_params, missing_benchmark_root

from pipeline.config.schema import Params

GRIDS = ("fraction", "layers")   # the grids with a code of their own; ablation.grids adds more by params alone


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


def _param_cells(params: Params, name: str) -> list[Cell]:
    grid = params.ablation.grids[name]
    found = []
    for values in itertools.product(*grid.axes.values()):
        pairs = [(key.rsplit(".", 1)[-1], value) for key, value in zip(grid.axes, values)]
        folder = "_".join(f"{short}-{_folder_text(value)}" for short, value in pairs)
        found.append(Cell(name, folder, grid.variant, [f"{k}={v}" for k, v in zip(grid.axes, values)], dict(pairs)))
    return found


def _folder_text(value: str) -> str:
    """A value as a folder name's part: [3,4] -> 3+4."""
    return re.sub(r"[^A-Za-z0-9.+-]", "", value.replace(",", "+"))


def grid_names(params: Params) -> tuple[str, ...]:
    return (*GRIDS, *params.ablation.grids)


def _grid_cells(params: Params, grid: str) -> list[Cell]:
    if grid == "fraction":
        return _fraction_cells(params)
    return _layer_cells(params) if grid == "layers" else _param_cells(params, grid)


def grid_key(params: Params, grid: str) -> str:
    """Where a grid is defined in params.yaml: ablation.fraction, ablation.layers or ablation.grids.<name>."""
    return f"ablation.grids.{grid}" if grid in params.ablation.grids else f"ablation.{grid}"


def _grid_problem(params: Params, grid: str) -> str | None:
    """Why a known grid cannot be expanded, or None."""
    ablation, key = params.ablation, grid_key(params, grid)
    if grid in ablation.grids and (grid in (*GRIDS, "results") or not re.fullmatch(r"[a-z][a-z0-9_]*", grid)):
        return f"{key}: a grid's name is lower-case letters, digits and _, and not fraction, layers or results"
    variant = ablation.grids[grid].variant if grid in ablation.grids else getattr(ablation, grid).variant
    if variant not in params.variants:
        return f"{key}.variant: {variant!r} is not a variant"
    if grid == "fraction" and not all(0 < f <= 1 for f in ablation.fraction.fractions):
        return f"ablation.fraction.fractions must lie in (0, 1], got {ablation.fraction.fractions}"
    return None


def cells(params_path: str | Path = "params.yaml", grids: tuple[str, ...] | None = None,
          overrides: list[str] = ()) -> list[Cell]:
    """The cells of the named grids (default: every grid); each cell's params loaded with its overrides, so
    that an unknown variant, an empty grid, a bad layer set or an axis that is no params key is one ParamsError
    naming it."""
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
    for grid in grid_names(base) if grids is None else grids:
        if grid not in grid_names(base):
            raise ParamsError(f"unknown grid {grid!r} ({', '.join(grid_names(base))})")
        if problem := _grid_problem(base, grid):
            raise ParamsError(f"{params_path}: {problem}")
        grid_cells = _grid_cells(base, grid)
        if not grid_cells:
            raise ParamsError(f"{params_path}: {grid_key(base, grid)} has no cell (an empty list in its definition)")
        if len({cell.name for cell in grid_cells}) < len(grid_cells):
            raise ParamsError(f"{params_path}: {grid_key(base, grid)}: two cells share a folder name "
                              f"({', '.join(cell.name for cell in grid_cells)}): give each cell distinct values")
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
