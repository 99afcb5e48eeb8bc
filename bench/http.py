"""KIM Casework over HTTP: case starts, the office inbox and task completions through the REST
API of real server processes, with several clients at once.

The in-process benchmarks (inbox.py, overhead.py) measure the engine; this one measures what a
caseworker's program sees: the web server, its threads and processes, the database's locking
under concurrent writers. It prints figures and ratios; it is not a timed test.

Rig (bench/_http_rig.py): a fresh database (SQLite file in a temporary folder, or a new
PostgreSQL database ``kim_bench_<random>`` on the server of KIM_TEST_POSTGRES_URL, dropped
afterwards), set up with the engine's own functions (schema, offices, the four-step model of
bench/data with its forms, one caseworker of office CM with an API token per client), and N
server processes ``kim serve`` on consecutive loopback ports. Every client thread holds one
keep-alive connection (http.client) to one server, the clients spread over the servers.
Before the first phase every server takes one case through all four steps and reads the inbox
once (untimed), so that no phase pays for first imports and model caches.

Phases (counts are multiplied by --scale):

    start_1     200 case starts, 1 client        (POST /api/v1/cases)
    inbox_200   office inbox page at ~200 open tasks, 200 times, 1 client
                (GET /api/v1/tasks?view=office&per_page=100)
    start_8     1,800 case starts, 8 clients
    start_16    800 case starts, 16 clients
    inbox_2000  office inbox page at ~2,000+ open tasks, 200 times, 1 client
    complete_1  200 cases x 4 completions, 1 client   (POST /api/v1/tasks/{id}/complete,
                the next task comes from the answer's next_tasks)
    complete_8  800 cases x 4 completions, 8 clients, each client its own cases

A phase that finds too few open tasks or started cases (run alone with --phases, or after
failed starts) first starts the missing cases untimed, in a few rounds; the report keeps them.
Per phase: requests, errors by status code (connection failures as ``conn:<error>``, wrong
answers as ``bad:<what>``), throughput over all requests, and p50/p95/p99 latency of the
successful requests. At the end a table and
bench/results/http-<db>-<timestamp>.json (figures, machine, database, server command).

    python bench/http.py [--db sqlite|postgres] [--processes N] [--workers N]
                         [--serve-args "serve --host {host} --port {port} --threads 8"]
                         [--scale 1.0] [--phases start_1,inbox_200,...]
                         [--phase-timeout 600] [--timeout 3600]
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file has the name of the standard library's http package, and python puts its folder
# first on the import path: move that folder to the end, so that http.client is the standard
# library's and the benchmark helpers (_common, _http_rig, _http_load) are still found.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE] + [str(_HERE)]

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import traceback  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from shutil import rmtree  # noqa: E402
from types import FrameType  # noqa: E402
from typing import Any, NoReturn  # noqa: E402

from _cpu import CpuMeter  # noqa: E402
from _http_load import PHASES, Load  # noqa: E402
from _http_rig import (  # noqa: E402
    DEFAULT_SERVE_ARGS,
    ROOT,
    RigError,
    Store,
    database,
    server_environment,
    servers,
)

RESULTS = ROOT / "bench" / "results"


class Aborted(Exception):
    """The global timeout or SIGTERM: leave every phase, tear the rig down, keep what was measured."""


def _abort(signum: int, _frame: FrameType | None) -> NoReturn:
    raise Aborted("global timeout" if signum == signal.SIGALRM else signal.Signals(signum).name)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--processes", type=int, default=1, help="server processes, one port each (default 1)")
    parser.add_argument("--workers", type=int, default=None, help="passed to the server as --workers N")
    parser.add_argument("--serve-args", default=DEFAULT_SERVE_ARGS,
                        help="arguments of `kim` for one server; {host} and {port} are filled in "
                             f"(default: {DEFAULT_SERVE_ARGS!r})")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every count (default 1.0)")
    parser.add_argument("--phases", default=",".join(p.name for p in PHASES),
                        help="comma-separated, in this order: " + ", ".join(p.name for p in PHASES))
    parser.add_argument("--phase-timeout", type=float, default=600.0, help="deadline of each phase, seconds")
    parser.add_argument("--timeout", type=float, default=3600.0, help="deadline of the whole run, seconds")
    parser.add_argument("--request-timeout", type=float, default=60.0, help="socket timeout per request, seconds")
    parser.add_argument("--server-start-timeout", type=float, default=90.0)
    parser.add_argument("--results-dir", type=Path, default=RESULTS)
    options = parser.parse_args(argv)
    known = {p.name for p in PHASES}
    chosen = [name.strip() for name in options.phases.split(",") if name.strip()]
    if not chosen or not set(chosen) <= known:
        parser.error(f"--phases takes names out of {', '.join(sorted(known))}")
    if options.processes < 1 or options.scale <= 0:
        parser.error("--processes must be at least 1 and --scale above 0")
    if "{port}" not in options.serve_args:
        parser.error("--serve-args must contain {port}")
    options.selected = [p for p in PHASES if p.name in chosen]
    return options


def machine() -> dict[str, Any]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cores": os.cpu_count(), "cpu_model": model, "python": platform.python_version(),
            "platform": platform.platform(), "load_average_at_start": list(os.getloadavg())}


def commit() -> str | None:
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10,
                              check=False)
    except OSError:
        return None
    return done.stdout.strip() or None


def fmt_ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def phase_line(r: dict[str, Any]) -> str:
    errors = ", ".join(f"{k}: {v}" for k, v in sorted(r["errors"].items())) or "none"
    cut = "  DEADLINE REACHED" if r["deadline_hit"] else ""
    return (f"{r['phase']:<11} {r['clients']:>2} clients  {r['requests']:>6} requests  errors {errors}  "
            f"{r['throughput']:7.1f} req/s  p50 {fmt_ms(r['p50_ms'])}  p95 {fmt_ms(r['p95_ms'])}  "
            f"p99 {fmt_ms(r['p99_ms'])} ms  ({r['seconds']:.1f} s){cut}  "
            f"cpu/request: server {fmt_ms(r.get('server_cpu_ms'))} ms, database {fmt_ms(r.get('db_cpu_ms'))} ms, "
            f"clients {fmt_ms(r.get('client_cpu_ms'))} ms")


def table(results: list[dict[str, Any]]) -> str:
    head = (f"{'phase':<11} {'clients':>7} {'requests':>8} {'errors':>7} {'seconds':>8} {'req/s':>7} {'ok/s':>7} "
            f"{'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'cpu srv':>8} {'cpu db':>7} {'cpu cl':>7}  notes")
    rows = [head, "-" * len(head)]
    for r in results:
        notes = [f"{k}: {v}" for k, v in sorted(r["errors"].items())]
        if r.get("open_tasks") is not None:
            notes.append(f"{r['open_tasks']} open")
        if r["deadline_hit"]:
            notes.append("deadline reached")
        rows.append(f"{r['phase']:<11} {r['clients']:>7} {r['requests']:>8} {r['error_count']:>7} "
                    f"{r['seconds']:>8.1f} {r['throughput']:>7.1f} {r['ok_throughput']:>7.1f} "
                    f"{fmt_ms(r['p50_ms']):>8} {fmt_ms(r['p95_ms']):>8} {fmt_ms(r['p99_ms']):>8} "
                    f"{fmt_ms(r.get('server_cpu_ms')):>8} {fmt_ms(r.get('db_cpu_ms')):>7} "
                    f"{fmt_ms(r.get('client_cpu_ms')):>7}  {'; '.join(notes)}")
    return "\n".join(rows)


def run(options: argparse.Namespace, report: dict[str, Any]) -> None:
    """Rig up, warm up, run the chosen phases; ``report`` collects as it goes (kept on abort)."""
    workdir = Path(tempfile.mkdtemp(prefix="kim-http-bench-"))
    try:
        with database(options.db, workdir) as db:
            report["database"] = {"kind": db.kind, "version": db.version}
            store = Store(db.url)
            try:
                clients = max(p.clients for p in PHASES)
                tokens = store.prepare(clients)
                env = server_environment(db.url, workdir)
                with servers(options.processes, options.serve_args, options.workers, env, workdir,
                             options.server_start_timeout) as started:
                    report["server"]["command"] = started[0].command
                    report["server"]["ports"] = [s.port for s in started]
                    print(f"{len(started)} server process(es): {' '.join(started[0].command)}")
                    meter = CpuMeter([s.process.pid for s in started],
                                     db.url.rsplit("/", 1)[-1] if db.kind == "postgres" else None)
                    load = Load([s.port for s in started], tokens, store, options, meter)
                    load.warm_up()
                    for phase in options.selected:
                        result = load.run_phase(phase)
                        report["phases"].append(result)
                        print(phase_line(result), flush=True)
                report["server"]["stopped"] = [s.stopped for s in started]
            finally:
                store.close()
    finally:
        rmtree(workdir, ignore_errors=True)


def write(report: dict[str, Any], directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = directory / f"http-{report['database']['kind']}-{stamp}.json"
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    report: dict[str, Any] = {
        "benchmark": "http", "started_at": datetime.now(UTC).isoformat(timespec="seconds"), "commit": commit(),
        "scale": options.scale, "machine": machine(), "database": {"kind": options.db},
        "server": {"processes": options.processes, "serve_args": options.serve_args, "workers": options.workers},
        "limits": {"phase_timeout_s": options.phase_timeout, "timeout_s": options.timeout},
        "phases": [], "completed": False}
    for signum in (signal.SIGTERM, signal.SIGALRM):
        signal.signal(signum, _abort)
    signal.setitimer(signal.ITIMER_REAL, options.timeout)
    outcome = 0
    try:
        run(options, report)
        report["completed"] = True
    except (Aborted, KeyboardInterrupt) as exc:
        report["aborted"] = str(exc) or type(exc).__name__
        print(f"aborted: {report['aborted']}", file=sys.stderr)
        outcome = 1
    except RigError as exc:
        print(f"cannot run: {exc}", file=sys.stderr)
        report["aborted"] = str(exc)
        outcome = 1
    except Exception as exc:  # a fault: the traceback says where; what was measured is kept
        traceback.print_exc()
        report["aborted"] = f"{type(exc).__name__}: {exc}"
        outcome = 1
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    report["machine"]["load_average_at_end"] = list(os.getloadavg())
    if report["phases"]:
        print()
        print(f"{report['database'].get('version', options.db)}, {options.processes} server process(es), "
              f"scale {options.scale}, {report['machine']['cores']} cores ({report['machine']['cpu_model']})")
        print(table(report["phases"]))
        print(f"\nwritten: {write(report, options.results_dir)}")
    return outcome


if __name__ == "__main__":
    raise SystemExit(main())
