"""The in-process inbox benchmark (bench/inbox.py) still runs: a tiny run on SQLite.

It once failed at its first import because bench/http.py shadows the standard library's http
package for scripts run from the bench folder (werkzeug imports http.server); this run catches
that and any change of the API the benchmark drives.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_inbox_benchmark_runs_from_the_bench_folder() -> None:
    command = [sys.executable, str(ROOT / "bench" / "inbox.py"), "--completed", "200", "--open-small", "120",
               "--open-large", "240", "--backends", "sqlite"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert any("120 open: p50" in line for line in lines), done.stdout
    assert any("240 open: p50" in line for line in lines), done.stdout
    assert any("p95 ratio 240 : 120" in line for line in lines), done.stdout
