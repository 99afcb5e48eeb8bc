"""The HTTP benchmark (bench/http.py) still runs end to end: a tiny run (--scale 0.02) starts its
own database and server, drives every phase through the REST API and writes its JSON report.

A benchmark nobody runs rots silently when the API, the CLI or the set-up changes; this test
catches that, and a run with errors (a 409 under concurrent case starts, a 500) fails it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench" / "http.py"
PHASES = ("start_1", "inbox_200", "start_8", "start_16", "inbox_2000", "complete_1", "complete_8")
BENCH_TIMEOUT = 240   # the benchmark's own deadline: it tears its rig down before ours strikes
TEST_TIMEOUT = 300


def run_bench(db: str, results: Path) -> dict[str, Any]:
    command = [sys.executable, str(BENCH), "--db", db, "--scale", "0.02", "--timeout", str(BENCH_TIMEOUT),
               "--phase-timeout", "60", "--results-dir", str(results)]
    with subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        try:
            output, _ = proc.communicate(timeout=TEST_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGTERM)  # the benchmark stops its servers and drops its database
            try:
                output, _ = proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                output, _ = proc.communicate()
            pytest.fail(f"bench/http.py did not finish in {TEST_TIMEOUT} s:\n{output[-3000:]}")
    assert proc.returncode == 0, output[-3000:]
    reports = sorted(results.glob(f"http-{db}-*.json"))
    assert len(reports) == 1, output[-3000:]
    report: dict[str, Any] = json.loads(reports[0].read_text(encoding="utf-8"))
    return report


@pytest.mark.slow
@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_every_phase_runs_without_errors(db: str, tmp_path: Path) -> None:
    if db == "postgres" and not os.environ.get("KIM_TEST_POSTGRES_URL"):
        pytest.skip("KIM_TEST_POSTGRES_URL is not set: the HTTP benchmark on PostgreSQL is skipped")
    report = run_bench(db, tmp_path)
    assert report["completed"] is True
    assert report["database"]["kind"] == db
    assert [p["phase"] for p in report["phases"]] == list(PHASES)
    problems = {p["phase"]: {"requests": p["requests"], "errors": p["errors"], "samples": p["error_samples"],
                             "deadline_hit": p["deadline_hit"]}
                for p in report["phases"] if p["requests"] == 0 or p["error_count"] or p["deadline_hit"]}
    assert problems == {}
    assert all(p["ok"] == p["requests"] == p["planned"] for p in report["phases"])
    assert all(p["p50_ms"] is not None and p["p50_ms"] <= p["p95_ms"] <= p["p99_ms"] for p in report["phases"])
    assert report["server"]["stopped"] == ["exit 0"]  # SIGTERM stopped the server cleanly, no SIGKILL
    # CPU per request of the server processes (and of the PostgreSQL backends): the figures a
    # capacity estimate multiplies; a request costs something, and not seconds
    # (a tiny phase may fall between two clock ticks: each at least 0, all together more)
    assert all(0 <= p["server_cpu_ms"] < 1000 for p in report["phases"]), [p["server_cpu_ms"] for p in report["phases"]]
    assert sum(p["server_cpu_ms"] for p in report["phases"]) > 0
    if db == "postgres":
        assert sum(p["db_cpu_ms"] for p in report["phases"]) > 0
        assert all(0 <= p["db_cpu_ms"] < 1000 for p in report["phases"])
    else:
        assert all(p["db_cpu_ms"] is None for p in report["phases"])
    assert report["machine"]["cores"] >= 1
