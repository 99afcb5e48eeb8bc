"""Restricted evaluation of model expressions and scripts.

Uploaded BPMN/DMN models are untrusted code (ARCHITECTURE.md, decision 5): gateway conditions,
timer expressions, script tasks and DMN cells all run here instead of through Python's
``eval``/``exec``. Three layers:

1. **Static check** (deploy time, and again before every run, cached per source): RestrictedPython's
   ``compile_restricted`` plus our rules - no imports, no names or attributes starting with ``_``,
   no ``getattr``/``vars``/``eval``..., no ``str.format``. :func:`check_expression` and
   :func:`check_script` raise :class:`SandboxViolation` with the reason in plain words.
2. **In-process fast path** for expressions that are provably cheap: only constants, names,
   attribute and item access, comparisons, boolean logic, ``+ - / // %`` and calls to a few
   linear-time builtins, with small inputs. Gateway conditions run on every engine step, so they
   must not pay for a process round trip. :meth:`Sandbox.is_fast_path` tells whether an
   expression qualifies.
3. **Worker processes** for everything else: ``while True: pass`` or ``"a" * 10**10`` cannot be
   stopped inside the process (a single C call ignores ``sys.settrace``, nothing caps memory), so
   such code runs in a child process under ``RLIMIT_AS`` and a CPU limit, and the parent kills
   it when the wall-clock limit passes. Names and results cross as JSON.
4. **Operating-system fence** around each worker (:mod:`engine.bpmn.os_fence`): after start-up the
   worker installs a seccomp allow-list, so code that got past RestrictedPython still cannot open
   files, use the network or start programs. A worker that cannot install it refuses to start, and
   the sandbox raises :class:`SandboxUnavailableError` instead of running model code unfenced.
   ``KIM_SANDBOX_FENCE=off`` (for development on a machine without seccomp, never in production)
   runs the workers without it and says so in the log.

Values: only JSON-like data goes in and comes out (str, int, float, bool, None, list, dict).
Dates, datetimes and durations are converted to ISO 8601 text (``"2026-01-01"``,
``"2026-01-01T09:00:00+01:00"``, ``"P14D"``); other values are invisible to model code.
"""

from __future__ import annotations

import ast
import contextlib
import json
import logging
import math
import os
import select
import signal
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import CodeType
from typing import Any, Final
from zoneinfo import ZoneInfo

from engine import clock
from engine.bpmn import sandbox_worker as core

__all__ = [
    "Sandbox",
    "SandboxUnavailableError",
    "SandboxViolation",
    "ScriptError",
    "ScriptMemoryExceeded",
    "ScriptTimeout",
    "check_expression",
    "check_script",
    "default_sandbox",
]

_WORKER_PATH: Final = os.path.abspath(core.__file__)
_STARTUP_TIMEOUT: Final = 15.0
_GRACE: Final = 0.25  # IPC and scheduling slack on top of the time limit
_MIN_MEMORY: Final = 64 * 1024 * 1024
FENCE_SETTING: Final = "KIM_SANDBOX_FENCE"

_log = logging.getLogger(__name__)

MAX_FAST_NODES: Final = 100
FAST_INPUT_BUDGET: Final = 8192  # roughly characters of input the fast path may look at
_FAST_CALLS: Final = frozenset(
    {"len", "str", "int", "float", "bool", "abs", "min", "max", "round", "any", "all",
     "date", "datetime", "timedelta", "today", "now"}
)
_KEYWORD_CALLS: Final = frozenset({"date", "datetime", "timedelta"})
_FAST_NODE_TYPES: Final = (
    ast.Expression, ast.Constant, ast.Name, ast.Load, ast.Attribute, ast.Subscript, ast.Slice,
    ast.Compare, ast.BoolOp, ast.UnaryOp, ast.BinOp, ast.IfExp, ast.List, ast.Tuple, ast.Set,
    ast.Dict, ast.Call, ast.keyword, ast.And, ast.Or, ast.Not, ast.USub, ast.UAdd, ast.Add, ast.Sub,
    ast.Div, ast.FloorDiv, ast.Mod, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Is,
    ast.IsNot, ast.In, ast.NotIn,
)


class SandboxViolation(ValueError):  # reason: name fixed by the public interface
    """Model code the sandbox refuses (deploy time); ``reason`` says why in plain words."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        shown = reason if line is None or reason.startswith("syntax error") else f"{reason} (line {line})"
        super().__init__(shown)
        self.reason = reason
        self.line = line


class ScriptError(Exception):
    """Model code failed at run time, e.g. ``NameError: name 'x' is not defined``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ScriptTimeout(ScriptError):  # reason: name fixed by the public interface
    """Model code ran longer than the time limit."""


class ScriptMemoryExceeded(ScriptError):  # reason: name fixed by the public interface
    """Model code needed more memory than the limit."""


class SandboxUnavailableError(RuntimeError):
    """No worker can run model code here, e.g. the kernel refuses the seccomp fence.

    A fault of the installation, not of the model. In a running case SpiffWorkflow turns it into
    an incident with this message; the step did not run, and a retry after the fix continues.
    """


def fence_from_environment(environ: Mapping[str, str] = os.environ) -> bool:
    """``KIM_SANDBOX_FENCE``: ``on`` (the default) requires the fence, ``off`` runs without it.

    There is deliberately no "use it when available": a missing fence must be noticed, not
    silently accepted on exactly the machine that lacks it.
    """
    value = environ.get(FENCE_SETTING, core.FENCE_ON).strip().lower() or core.FENCE_ON
    if value not in (core.FENCE_ON, core.FENCE_OFF):
        raise ValueError(f"{FENCE_SETTING} must be '{core.FENCE_ON}' or '{core.FENCE_OFF}', not {value!r}")
    return value == core.FENCE_ON


@dataclass(frozen=True)
class _Analysis:
    code: CodeType
    names: frozenset[str]  # every variable the code can read or write: there is no dynamic lookup
    fast: bool


@lru_cache(maxsize=2048)
def _analyze(source: str, mode: core.Mode) -> _Analysis:
    try:
        code = core.compile_source(source, mode)
        tree = core.parse_source(source, mode)
    except core.CodeRejectedError as err:
        one_line = "\n" not in source.strip()
        raise SandboxViolation(err.reason, None if one_line else err.line) from None
    names = frozenset(node.id for node in ast.walk(tree) if isinstance(node, ast.Name))
    return _Analysis(code, names, mode == "eval" and _is_bounded(tree))


def check_expression(source: str) -> None:
    """Deploy-time check of a condition, timer expression or DMN cell."""
    _analyze(source, "eval")


def check_script(source: str) -> None:
    """Deploy-time check of a script task's script."""
    _analyze(source, "exec")


# --- fast path ---------------------------------------------------------------------------------


def _is_bounded(tree: ast.AST) -> bool:
    """Whether evaluating the expression costs time and memory linear in its inputs."""
    nodes = list(ast.walk(tree))
    return len(nodes) <= MAX_FAST_NODES and all(_bounded_node(node) for node in nodes)


def _bounded_node(node: ast.AST) -> bool:
    if not isinstance(node, _FAST_NODE_TYPES):
        return False
    if isinstance(node, ast.Constant):
        return _small_constant(node.value)
    if isinstance(node, ast.Call):
        return _bounded_call(node)
    if isinstance(node, ast.Dict):
        return None not in node.keys  # no ** unpacking
    return True


def _small_constant(value: object) -> bool:
    if value is None or isinstance(value, bool | float):
        return True
    if isinstance(value, int):
        return value.bit_length() <= 64
    return isinstance(value, str) and len(value) <= 1000


def _bounded_call(node: ast.Call) -> bool:
    if not isinstance(node.func, ast.Name) or node.func.id not in _FAST_CALLS:
        return False
    if node.keywords and (node.func.id not in _KEYWORD_CALLS or any(k.arg is None for k in node.keywords)):
        return False
    if node.func.id == "round" and len(node.args) == 2:  # round(5, -10**9) computes 10**10**9
        digits = node.args[1]
        return isinstance(digits, ast.Constant) and type(digits.value) is int and abs(digits.value) <= 100
    return True


def _input_weight(value: object, budget: int) -> int:
    """Approximate size of an input, counting no further than just past ``budget``."""
    total, stack = 0, [value]
    while stack and total <= budget:
        item = stack.pop()
        total += 1
        if isinstance(item, str | bytes):
            total += len(item)
        elif isinstance(item, int):
            total += item.bit_length() // 8
        elif isinstance(item, dict | list | tuple | set | frozenset):
            if len(item) > budget:
                return budget + 1
            stack.extend(item.items() if isinstance(item, dict) else item)
    return total


class _NeedsWorkerError(Exception):
    """Raised inside the fast path for an operation only a worker may run."""


def _fast_mod(left: Any, right: Any) -> Any:
    if isinstance(left, str | bytes):  # %-formatting: a width like %0999999999d allocates gigabytes
        raise _NeedsWorkerError
    return left % right


# --- worker processes --------------------------------------------------------------------------


class _WorkerGoneError(Exception):
    """The worker died; ``before_start`` if it was already dead when we sent the request."""

    def __init__(self, before_start: bool) -> None:
        super().__init__("the sandbox worker is gone")
        self.before_start = before_start


class _Worker:
    """One child process running ``sandbox_worker.py``."""

    def __init__(self, memory_limit: int, zone_key: str, fenced: bool) -> None:
        self.owner_pid = os.getpid()
        fence = core.FENCE_ON if fenced else core.FENCE_OFF
        self.process = subprocess.Popen(  # noqa: S603  # reason: fixed argv, our own interpreter and module
            [sys.executable, "-I", _WORKER_PATH, str(memory_limit), zone_key, fence],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            bufsize=0, close_fds=True, cwd="/", env={}, start_new_session=True,
        )
        try:
            ready = self._read_message(time.monotonic() + _STARTUP_TIMEOUT)
        except (_WorkerGoneError, TimeoutError, ScriptError, ValueError) as err:
            self.kill()
            raise RuntimeError("the sandbox worker could not start") from err
        if not ready.get("ready"):
            self.kill()
            raise _refusal(ready)

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def call(self, frame: bytes, time_limit: float) -> dict[str, Any]:
        try:
            self._write(frame)
        except (BrokenPipeError, ConnectionResetError):
            raise _WorkerGoneError(before_start=True) from None
        return self._read_message(time.monotonic() + time_limit + _GRACE)

    def _write(self, frame: bytes) -> None:
        assert self.process.stdin is not None  # noqa: S101  # reason: Popen with stdin=PIPE
        fd, view = self.process.stdin.fileno(), memoryview(frame)
        while view:
            view = view[os.write(fd, view):]

    def _read_message(self, deadline: float) -> dict[str, Any]:
        (size,) = core.HEADER.unpack(self._read_exactly(core.HEADER.size, deadline))
        if size > core.MAX_RESPONSE_BYTES:
            self.kill()
            raise ScriptMemoryExceeded("the result is too large")
        message = json.loads(self._read_exactly(size, deadline))
        if not isinstance(message, dict):
            raise _WorkerGoneError(before_start=False)
        return message

    def _read_exactly(self, size: int, deadline: float) -> bytes:
        assert self.process.stdout is not None  # noqa: S101  # reason: Popen with stdout=PIPE
        fd, missing = self.process.stdout.fileno(), size
        chunks: list[bytes] = []
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        while missing:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not poller.poll(math.ceil(remaining * 1000)):
                raise TimeoutError
            chunk = os.read(fd, min(missing, 1 << 20))
            if not chunk:
                raise _WorkerGoneError(before_start=False)
            chunks.append(chunk)
            missing -= len(chunk)
        return b"".join(chunks)

    def exit_signal(self) -> int | None:
        """After the worker died: the signal that ended it, if any."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=2.0)
        code = self.process.returncode
        return -code if code is not None and code < 0 else None

    def kill(self) -> None:
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()

    def abandon(self) -> None:
        """In a forked child: let go of the parent's worker without touching it."""
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()
        _ABANDONED.append(self.process)  # never collected here, so no "still running" warning


def _refusal(message: Mapping[str, Any]) -> RuntimeError:
    reason = message.get("error")
    if not reason:
        return RuntimeError("the sandbox worker could not start")
    return SandboxUnavailableError(
        f"the sandbox worker cannot fence itself off from the operating system: {reason}. "
        f"Model code does not run without that fence; on a machine without seccomp (e.g. for "
        f"development) {FENCE_SETTING}=off allows it"
    )


_ABANDONED: list[subprocess.Popen[bytes]] = []
_POOLS: weakref.WeakSet[_WorkerPool] = weakref.WeakSet()


class _WorkerPool:
    """Up to ``size`` workers shared by all threads; each serves one request at a time."""

    def __init__(self, memory_limit: int, size: int, zone_key: str, fenced: bool) -> None:
        self._memory_limit = memory_limit
        self._size = size
        self._zone_key = zone_key
        self._fenced = fenced
        self._closed = False
        self._reset()
        _POOLS.add(self)

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._cond = threading.Condition()
        self._idle: list[_Worker] = []
        self._count = 0

    def after_fork(self) -> None:
        for worker in self._idle:
            worker.abandon()
        self._reset()

    def pids(self) -> list[int]:
        with self._cond:
            return [worker.pid for worker in self._idle]

    def acquire(self) -> _Worker:
        if self._pid != os.getpid():
            self.after_fork()
        with self._cond:
            while True:
                if self._closed:
                    raise RuntimeError("the sandbox is closed")
                while self._idle:
                    worker = self._idle.pop()
                    if worker.alive():
                        return worker
                    self._discard(worker)
                if self._count < self._size:
                    self._count += 1
                    break
                self._cond.wait()
        try:
            return _Worker(self._memory_limit, self._zone_key, self._fenced)
        except BaseException:
            with self._cond:
                self._count -= 1
                self._cond.notify()
            raise

    def release(self, worker: _Worker, healthy: bool) -> None:
        if worker.owner_pid != os.getpid():
            worker.abandon()
            return
        with self._cond:
            if healthy and not self._closed:
                self._idle.append(worker)
            else:
                self._discard(worker)
            self._cond.notify()

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        self._count -= 1

    def close(self) -> None:
        with self._cond:
            self._closed = True
            if self._pid == os.getpid():
                while self._idle:
                    self._discard(self._idle.pop())
            self._cond.notify_all()


def _after_fork_in_child() -> None:
    for pool in list(_POOLS):
        pool.after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)


# --- the sandbox -------------------------------------------------------------------------------


class Sandbox:
    """Evaluates expressions and runs scripts from models under time and memory limits."""

    def __init__(
        self,
        time_limit: float = 2.0,
        memory_limit_bytes: int = 256 * 1024 * 1024,
        *,
        max_workers: int = 4,
        zone: ZoneInfo = clock.BERLIN,
        fence: bool | None = None,
    ) -> None:
        """``fence``: None reads ``KIM_SANDBOX_FENCE`` (see :func:`fence_from_environment`)."""
        if time_limit <= 0:
            raise ValueError("time_limit must be positive")
        if memory_limit_bytes < _MIN_MEMORY:
            raise ValueError(f"memory_limit_bytes must be at least {_MIN_MEMORY}")
        self.time_limit = time_limit
        self.memory_limit_bytes = memory_limit_bytes
        self._zone = zone
        self.fenced = fence_from_environment() if fence is None else fence
        if not self.fenced:
            _log.warning("%s=off: model code runs without the operating-system fence", FENCE_SETTING)
        self._pool = _WorkerPool(memory_limit_bytes, max(1, max_workers), zone.key, self.fenced)
        self._fast_builtins = core.make_builtins(clock.now, zone, _fast_mod)
        self._finalizer = weakref.finalize(self, self._pool.close)

    @staticmethod
    def is_fast_path(source: str) -> bool:
        """Whether ``source`` qualifies for in-process evaluation (given small inputs)."""
        return _analyze(source, "eval").fast

    def evaluate(self, source: str, names: Mapping[str, Any]) -> Any:
        """Value of the expression ``source`` with ``names`` as variables, as JSON-like data."""
        analysis = _analyze(source, "eval")
        if analysis.fast:
            scope = _fast_scope(analysis.names, names)
            if scope is not None:
                with contextlib.suppress(_NeedsWorkerError):
                    return self._evaluate_here(analysis.code, scope)
        reply = self._call_worker("eval", source, analysis, names)
        return reply["value"]

    def execute(self, source: str, names: dict[str, Any]) -> None:
        """Run the script ``source``; ``names`` then holds its resulting variables."""
        analysis = _analyze(source, "exec")
        reply = self._call_worker("exec", source, analysis, names)
        for name in reply["deleted"]:
            names.pop(name, None)
        names.update(reply["set"])

    def worker_pids(self) -> list[int]:
        """Process ids of the idle workers (for operators and tests)."""
        return self._pool.pids()

    def close(self) -> None:
        """Stop the workers; further worker-path calls raise RuntimeError."""
        self._finalizer()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _evaluate_here(self, code: CodeType, scope: dict[str, Any]) -> Any:
        try:
            value = core.run_expression(code, scope, self._fast_builtins)
        except _NeedsWorkerError:
            raise
        except MemoryError as err:
            raise ScriptMemoryExceeded(str(err) or "the expression needed too much memory") from None
        except Exception as err:
            raise ScriptError(core.describe_exception(err)) from None
        try:
            return core.to_json_like(value)
        except core.UnstorableValueError as err:
            raise ScriptError(core.unstorable_result(err)) from None

    def _call_worker(
        self, op: str, source: str, analysis: _Analysis, names: Mapping[str, Any]
    ) -> dict[str, Any]:
        request = {
            "op": op, "source": source, "names": _worker_names(analysis.names, names),
            "now": clock.now().isoformat(), "tz": self._zone.key, "time_limit": self.time_limit,
        }
        frame = core.encode_frame(request)
        try:
            reply = self._send(frame)
        except _WorkerGoneError as gone:
            if not gone.before_start:
                raise
            reply = self._send(frame)  # the idle worker had died: the code never ran, so retry once
        return self._check(reply)

    def _send(self, frame: bytes) -> dict[str, Any]:
        worker = self._pool.acquire()
        healthy = False
        try:
            reply = worker.call(frame, self.time_limit)
            healthy = reply.get("kind") != "memory"  # a worker that hit its limit is replaced
            return reply
        except TimeoutError:
            worker.kill()
            raise ScriptTimeout(f"the code ran longer than {self.time_limit:g} s and was stopped") from None
        except _WorkerGoneError as gone:
            if not gone.before_start:
                raise self._death_error(worker) from None
            raise
        finally:
            self._pool.release(worker, healthy)

    def _death_error(self, worker: _Worker) -> ScriptError:
        stopped_by = worker.exit_signal()
        if stopped_by == signal.SIGXCPU:
            return ScriptTimeout(f"the code used more than {self.time_limit:g} s of CPU time")
        if stopped_by == signal.SIGKILL:
            return ScriptMemoryExceeded("the code was stopped by the operating system, probably for memory")
        if stopped_by == signal.SIGSYS:
            return ScriptError("the code was stopped by the sandbox's operating-system fence")
        return ScriptError("the sandbox worker stopped unexpectedly")

    def _check(self, reply: dict[str, Any]) -> dict[str, Any]:
        if reply.get("ok"):
            return reply
        kind, message = reply.get("kind"), str(reply.get("message") or "")
        if kind == "violation":
            raise SandboxViolation(message, reply.get("line"))
        if kind == "memory":
            mib = self.memory_limit_bytes // (1024 * 1024)
            raise ScriptMemoryExceeded(message or f"the code needed more than {mib} MiB of memory")
        raise ScriptError(message)


def _fast_scope(wanted: frozenset[str], names: Mapping[str, Any]) -> dict[str, Any] | None:
    """The referenced variables as JSON-like data, or None when they are too big to run here."""
    budget = FAST_INPUT_BUDGET
    scope: dict[str, Any] = {}
    for name in wanted:
        if name not in names:
            continue
        value = names[name]
        budget -= _input_weight(value, budget)
        if budget < 0:
            return None
        with contextlib.suppress(core.UnstorableValueError):
            scope[name] = core.to_json_like(value)
    return scope


def _worker_names(wanted: frozenset[str], names: Mapping[str, Any]) -> dict[str, Any]:
    scope: dict[str, Any] = {}
    for name in wanted:
        if name in names:
            with contextlib.suppress(core.UnstorableValueError):
                scope[name] = core.to_json_like(names[name])
    return scope


_default: Sandbox | None = None
_default_lock = threading.Lock()


def default_sandbox() -> Sandbox:
    """The process-wide sandbox, created on first use."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Sandbox()
    return _default
