"""CPU time the server processes and the database spend per request, read from /proc (Linux).

Throughput and latency on a shared machine move with whatever else runs; the CPU seconds a
request costs the web processes and the PostgreSQL backends do not (much). They are what a
capacity estimate multiplies (docs/scaling.md): requests per second one core carries.
Elsewhere than Linux the figures are None.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: str) -> tuple[int, int] | None:
    """(parent pid, user + system ticks) of a live process."""
    try:
        fields = (PROC / pid / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), int(fields[11]) + int(fields[12])


def _pids() -> list[str]:
    return [p.name for p in PROC.iterdir() if p.name.isdigit()] if PROC.is_dir() else []


def tree_ticks(roots: Iterable[int]) -> int | None:
    """CPU ticks of the processes ``roots`` and all their descendants (gunicorn's workers)."""
    if not PROC.is_dir():
        return None
    stats = {int(pid): s for pid in _pids() if (s := _stat(pid)) is not None}
    members, frontier = set(), [r for r in roots if r in stats]
    while frontier:
        pid = frontier.pop()
        members.add(pid)
        frontier.extend(child for child, (parent, _) in stats.items() if parent == pid and child not in members)
    return sum(stats[pid][1] for pid in members)


def database_ticks(database: str | None) -> int | None:
    """CPU ticks of the PostgreSQL backends connected to ``database`` (its own name in their
    process title); the WAL writer and checkpointer, shared by all databases, are not counted."""
    if not database or not PROC.is_dir():
        return None
    marker = f" {database} ".encode()
    total = 0
    for pid in _pids():
        try:
            title = (PROC / pid / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if title.startswith(b"postgres:") and marker in title + b" ":
            total += (_stat(pid) or (0, 0))[1]
    return total


@dataclass
class CpuMeter:
    """Ticks before a phase; :meth:`per_request` after it."""

    server_pids: list[int]
    database: str | None
    _server: int | None = None
    _database: int | None = None
    _clients: float = 0.0

    def start(self) -> None:
        self._server, self._database = tree_ticks(self.server_pids), database_ticks(self.database)
        self._clients = time.process_time()

    def per_request(self, requests: int) -> dict[str, float | None]:
        """Also the benchmark's own clients (this process): on a machine of few cores they take
        CPU from the server and the database too, so a throughput figure is read against all three."""
        server, db = tree_ticks(self.server_pids), database_ticks(self.database)
        clients = time.process_time() - self._clients
        return {"server_cpu_ms": _per(self._server, server, requests),
                "db_cpu_ms": _per(self._database, db, requests),
                "client_cpu_ms": round(clients * 1000 / requests, 2) if requests > 0 else None}


def _per(before: int | None, after: int | None, requests: int) -> float | None:
    if before is None or after is None or requests <= 0:
        return None
    return round((after - before) * 1000 / TICKS / requests, 2)
