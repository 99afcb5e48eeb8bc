"""Clients and phases of the HTTP benchmark (bench/http.py).

One client is one thread with one keep-alive connection (http.client) to one server process and
the API token of one caseworker: what an integrating program of an office holds. Clients only
talk REST (/api/v1); the database is read between phases, never while a phase is timed.
"""

from __future__ import annotations

import http.client
import itertools
import json
import math
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from _cpu import CpuMeter
from _http_rig import HOST, PROCESS_ID, RigError, Store

INBOX_PAGE = 100
INBOX_PATH = f"/api/v1/tasks?view=office&per_page={INBOX_PAGE}"
STEPS = 4
PREPARE_CLIENTS = 8
PREPARE_ROUNDS = 5
GIVEN_NAMES = ("Amina", "Yusuf", "Darya", "Tesfay", "Leyla", "Omar", "Nour", "Bashir")
FORM_DATA: dict[str, dict[str, Any]] = {  # per step of bench/data/bench_four_steps.bpmn
    "aufnahme": {"erstkontakt_am": "2025-03-04", "sprache": "Arabisch", "dolmetscher": True,
                 "notiz": "Erstgespräch mit Sprachmittlung; Unterlagen zur Duldung liegen vor."},
    "beratung": {},
    "planung": {"ziel": "SPRACHE", "naechster_termin": "2025-04-01"},
    "abschluss": {},
}


@dataclass(frozen=True)
class Phase:
    name: str
    kind: str              # start | inbox | complete
    count: int             # case starts, inbox reads, or cases to take through all four steps
    clients: int
    open_target: int = 0   # inbox: open tasks wanted before the reads


PHASES = (
    Phase("start_1", "start", 200, 1),
    Phase("inbox_200", "inbox", 200, 1, open_target=200),
    Phase("start_8", "start", 1_800, 8),
    Phase("start_16", "start", 800, 16),
    Phase("inbox_2000", "inbox", 200, 1, open_target=2_000),
    Phase("complete_1", "complete", 200, 1),
    Phase("complete_8", "complete", 800, 8),
)


@dataclass
class Tally:
    """What one client saw in one phase."""

    requests: int = 0
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests only
    errors: Counter[str] = field(default_factory=Counter)
    samples: dict[str, str] = field(default_factory=dict)  # the first message of each kind of error
    cut: bool = False                                      # the deadline stopped it with work left

    def ok(self, seconds: float) -> None:
        self.requests += 1
        self.latencies.append(seconds)

    def fail(self, kind: str, message: str) -> None:
        self.requests += 1
        self.errors[kind] += 1
        self.samples.setdefault(kind, message[:300])

    def wrong(self, kind: str, message: str) -> None:
        """The last request succeeded, but its answer is not what the next step needs."""
        self.latencies.pop()
        self.requests -= 1
        self.fail(kind, message)


class Quota:
    """A number of requests shared by the clients of a phase: whoever is free takes the next."""

    def __init__(self, count: int) -> None:
        self.left = count
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            if self.left <= 0:
                return False
            self.left -= 1
            return True


class Client:
    """One keep-alive connection; reconnects after the server closed it."""

    def __init__(self, port: int, token: str, timeout: float) -> None:
        self.port, self.timeout = port, timeout
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self.conn: http.client.HTTPConnection | None = None

    def call(self, tally: Tally, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        """The JSON answer when the status is ``expect``; otherwise the error is tallied and None returned."""
        payload = None if body is None else json.dumps(body).encode()
        headers = self.headers if payload is None else {**self.headers, "Content-Type": "application/json"}
        began = time.perf_counter()
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
            self.conn.request(method, path, payload, headers)
            response = self.conn.getresponse()
            raw = response.read()
            if response.will_close:
                self.close()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            tally.fail(f"conn:{type(exc).__name__}", str(exc))
            return None
        seconds = time.perf_counter() - began
        if response.status != expect:
            tally.fail(str(response.status), raw.decode("utf-8", "replace"))
            return None
        try:
            answer = json.loads(raw)
        except ValueError:
            tally.fail("bad:not-json", raw[:300].decode("utf-8", "replace"))
            return None
        tally.ok(seconds)
        return answer

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


@dataclass(frozen=True)
class OpenCase:
    case_id: str
    task: dict[str, Any]  # its open first task, as POST /cases answered it


def new_case(serial: int) -> dict[str, Any]:
    return {"person": {"given_name": GIVEN_NAMES[serial % len(GIVEN_NAMES)], "family_name": f"Lastprofil {serial}",
                       "date_of_birth": "1994-05-17", "nationality": "SYR"},
            "referral": {"source": "Jobcenter", "reason": "Zuweisung zur Beratung (Lastprofil über HTTP)"},
            "process_id": PROCESS_ID}


def percentile(ordered: list[float], p: float) -> float | None:
    """Nearest rank, in milliseconds."""
    if not ordered:
        return None
    return round(ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] * 1000, 2)


def summarize(phase: Phase, planned: int, tallies: list[Tally], seconds: float) -> dict[str, Any]:
    latencies = sorted(x for t in tallies for x in t.latencies)
    errors: Counter[str] = sum((t.errors for t in tallies), Counter())
    samples: dict[str, str] = {}
    for t in tallies:
        for kind, message in t.samples.items():
            samples.setdefault(kind, message)
    requests = sum(t.requests for t in tallies)
    return {"phase": phase.name, "kind": phase.kind, "clients": phase.clients, "planned": planned,
            "requests": requests, "ok": len(latencies), "error_count": sum(errors.values()), "errors": dict(errors),
            "error_samples": samples, "seconds": round(seconds, 3),
            "throughput": round(requests / seconds, 2) if seconds else 0.0,
            "ok_throughput": round(len(latencies) / seconds, 2) if seconds else 0.0,
            "p50_ms": percentile(latencies, 50), "p95_ms": percentile(latencies, 95),
            "p99_ms": percentile(latencies, 99), "max_ms": percentile(latencies, 100),
            "deadline_hit": any(t.cut for t in tallies)}


Work = Callable[[int, Client, Tally], None]


class Load:
    """Runs the phases against the servers; remembers the started cases whose first task is open."""

    def __init__(self, ports: list[int], tokens: list[str], store: Store, options: Any,
                 meter: CpuMeter | None = None) -> None:
        self.ports, self.tokens, self.store = ports, tokens, store
        self.meter = meter
        self.scale: float = options.scale
        self.phase_timeout: float = options.phase_timeout
        self.request_timeout: float = options.request_timeout
        self.pool: deque[OpenCase] = deque()
        self.pool_lock = threading.Lock()
        self.serial = itertools.count(1)
        self.stop = threading.Event()

    def running(self, deadline: float) -> bool:
        return not self.stop.is_set() and time.monotonic() < deadline

    # -- the work of one client ---------------------------------------------------------------

    def start_cases(self, client: Client, tally: Tally, quota: Quota, deadline: float) -> None:
        while self.running(deadline) and quota.take():
            case = client.call(tally, "POST", "/api/v1/cases", new_case(next(self.serial)), expect=201)
            if case is None:
                continue
            first = [t for t in case.get("tasks", []) if t.get("state") == "open"]
            if len(first) != 1:
                tally.wrong("bad:first-task", f"{len(first)} open tasks after the start")
                continue
            with self.pool_lock:
                self.pool.append(OpenCase(case["id"], first[0]))
        tally.cut = tally.cut or quota.left > 0

    def read_inbox(self, client: Client, tally: Tally, quota: Quota, deadline: float, expected: int) -> None:
        while self.running(deadline) and quota.take():
            page = client.call(tally, "GET", INBOX_PATH)
            if page is not None and len(page.get("items", [])) != expected:
                tally.wrong("bad:page-size", f"{len(page.get('items', []))} tasks on the page, {expected} expected")
        tally.cut = tally.cut or quota.left > 0

    def complete_cases(self, client: Client, tally: Tally, cases: list[OpenCase], deadline: float) -> None:
        """Each case through its four steps; a failed step ends that case (its next task is unknown)."""
        for case in cases:
            task = case.task
            for step in range(1, STEPS + 1):
                if not self.running(deadline):
                    tally.cut = True
                    return
                body = {"data": FORM_DATA.get(task.get("bpmn_id", ""), {})}
                done = client.call(tally, "POST", f"/api/v1/tasks/{task['id']}/complete", body)
                if done is None:
                    break
                following = done.get("next_tasks") or []
                if step < STEPS and not following:
                    tally.wrong("bad:no-next-task", f"step {step} ({task.get('bpmn_id')}) gave no next task")
                    break
                if step == STEPS and following:
                    tally.wrong("bad:extra-task", f"the last step gave {len(following)} more tasks")
                task = following[0] if following else task

    # -- running clients ----------------------------------------------------------------------

    def _client(self, index: int) -> Client:
        return Client(self.ports[index % len(self.ports)], self.tokens[index % len(self.tokens)],
                      self.request_timeout)

    def _guarded(self, work: Work, index: int, tally: Tally) -> None:
        client = self._client(index)
        try:
            work(index, client, tally)
        except Exception as exc:  # a fault of the benchmark itself shows up as errors, never as silence
            tally.fail(f"client:{type(exc).__name__}", str(exc))
        finally:
            client.close()

    def _clients(self, count: int, work: Work) -> tuple[list[Tally], float]:
        tallies = [Tally() for _ in range(count)]
        threads = [threading.Thread(target=self._guarded, args=(work, i, tallies[i]), daemon=True,
                                    name=f"bench-client-{i}") for i in range(count)]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        try:
            for thread in threads:
                while thread.is_alive():
                    thread.join(0.25)  # short joins: Ctrl-C and the global timeout get through
        except BaseException:
            self.stop.set()
            raise
        return tallies, time.perf_counter() - began

    def _starter(self, quota: Quota, deadline: float) -> Work:
        return lambda _index, client, tally: self.start_cases(client, tally, quota, deadline)

    def _start_untimed(self, missing: Callable[[], int], why: str) -> dict[str, Any]:
        """Cases a phase needs before its timing starts, in a few rounds because concurrent starts
        can fail; their errors are printed and kept in the report, but not counted in the phase."""
        attempted, errors, began = 0, Counter[str](), time.perf_counter()
        for _ in range(PREPARE_ROUNDS):
            count = missing()
            if count <= 0:
                break
            quota, deadline = Quota(count), time.monotonic() + self.phase_timeout
            tallies, _ = self._clients(min(PREPARE_CLIENTS, count), self._starter(quota, deadline))
            attempted += count
            errors += sum((t.errors for t in tallies), Counter())
        if not attempted:
            return {}
        note = f", errors {dict(errors)}" if errors else ""
        print(f"  (untimed: {attempted} case starts {why} in {time.perf_counter() - began:.1f} s{note})", flush=True)
        return {"untimed_starts": attempted, "untimed_errors": dict(errors)}

    def warm_up(self) -> None:
        """One case per server through all four steps and one inbox page, one server after the
        other, so that no phase pays for first imports and parsed-model caches. A server that
        cannot do this stops the run with its error."""
        deadline = time.monotonic() + self.phase_timeout
        for index in range(len(self.ports)):
            client, tally = self._client(index), Tally()
            try:
                self.start_cases(client, tally, Quota(1), deadline)
                cases = [self.pool.popleft() for _ in range(len(self.pool))]
                self.complete_cases(client, tally, cases, deadline)
                client.call(tally, "GET", INBOX_PATH)
            finally:
                client.close()
            if tally.errors or len(cases) != 1:
                raise RigError(f"the warm-up on port {self.ports[index]} failed: {tally.samples or 'no case started'}")

    # -- phases -------------------------------------------------------------------------------

    def run_phase(self, phase: Phase) -> dict[str, Any]:
        count = max(1, round(phase.count * self.scale))
        extra = self._prepare(phase, count)
        deadline = time.monotonic() + self.phase_timeout
        work: Work
        if phase.kind == "inbox":
            quota, planned, expected = Quota(count), count, min(INBOX_PAGE, extra["open_tasks"])
            work = lambda _i, c, t: self.read_inbox(c, t, quota, deadline, expected)  # noqa: E731
        elif phase.kind == "start":
            quota, planned = Quota(count), count
            work = self._starter(quota, deadline)
        else:
            cases = [self.pool.popleft() for _ in range(min(count, len(self.pool)))]
            chunks = [cases[i::phase.clients] for i in range(phase.clients)]
            planned, extra["cases"] = len(cases) * STEPS, len(cases)
            work = lambda i, c, t: self.complete_cases(c, t, chunks[i], deadline)  # noqa: E731
        if self.meter is not None:
            self.meter.start()
        tallies, seconds = self._clients(phase.clients, work)
        result = {**summarize(phase, planned, tallies, seconds), **extra}
        if self.meter is not None:
            result.update(self.meter.per_request(result["requests"]))
        return result

    def _prepare(self, phase: Phase, count: int) -> dict[str, Any]:
        """Untimed: the open tasks an inbox phase reads, the started cases a completion phase needs."""
        if phase.kind == "inbox":
            target = max(1, round(phase.open_target * self.scale))
            extra = self._start_untimed(lambda: target - self.store.open_tasks(), f"to reach {target} open tasks")
            return {**extra, "open_tasks": self.store.open_tasks()}
        if phase.kind == "complete":
            return self._start_untimed(lambda: count - len(self.pool), f"to have {count} cases to complete")
        return {}
