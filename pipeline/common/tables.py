"""Markdown tables, as the --summary commands and the report print them."""
from __future__ import annotations


def markdown_table(header: list, rows: list[list]) -> str:
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join("| " + " | ".join(str(c) for c in line) + " |" for line in lines)
