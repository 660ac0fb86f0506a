"""Evaluation protocols, one file each (a Protocol: track, result files, score, table columns, plot), in the
layouts pysot's and got10k's toolkits read. A new protocol is one file with its Protocol subclass, listed
here, and the benchmarks that name it in params.yaml (benchmarks.<name>.protocol)."""
from __future__ import annotations

from pipeline.benchmarks.protocols.base import Protocol
from pipeline.benchmarks.protocols.davis import DavisSemiSupervised
from pipeline.benchmarks.protocols.got10k import Got10k
from pipeline.benchmarks.protocols.ope import OnePass
from pipeline.benchmarks.protocols.vot import VotSupervised

PROTOCOLS: dict[str, Protocol] = {p.name: p for p in (OnePass(), VotSupervised(), Got10k(), DavisSemiSupervised())}
