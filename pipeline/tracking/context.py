"""The run context a stage command hands to its MLflow runs: the tags of its command line (--tag) and the
sweep run it belongs to (--parent). Passed explicitly; nothing is kept in module state."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.common.errors import UserError


@dataclass(frozen=True)
class RunContext:
    tags: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_command(cls, tags: list[str], parent: str | None) -> "RunContext":
        """From the stage command's --tag KEY=VALUE options and --parent sweep file."""
        found = {}
        for tag in tags:
            key, sep, value = tag.partition("=")
            if not sep or not key:
                raise UserError(f"--tag {tag!r}: expected KEY=VALUE")
            found[key] = value
        if parent:
            try:
                sweep = json.loads(Path(parent).read_text())
            except (OSError, ValueError) as err:
                raise UserError(f"{parent}: not a sweep file ({type(err).__name__})") from None
            if sweep.get("run_id"):
                found["mlflow.parentRunId"] = sweep["run_id"]
        return cls(found)
