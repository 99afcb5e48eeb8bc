"""Restricted execution of model code, and the child process that runs it.

Uploaded models are code (ARCHITECTURE.md, decision 5). SpiffWorkflow would run their conditions,
timer expressions, scripts and DMN cells with ``eval``/``exec``, and swapping the builtins is
escapable (``().__class__.__base__.__subclasses__()`` reaches ``os``). This module holds the rules
shared by the parent (:mod:`engine.bpmn.sandbox`) and the worker process:

* static rules with plain-word reasons (no imports, no names starting with ``_``, no
  ``getattr``/``eval``/``vars``..., no ``str.format``), then RestrictedPython's
  ``compile_restricted`` on top, which rewrites attribute, item and iteration access into calls to
  the guards below;
* the guards and a curated set of builtins, including small date helpers;
* conversion of values to JSON-like data (dates become ISO 8601 text, durations ISO 8601
  durations), because names and results cross the process boundary as JSON;
* the worker loop: length-prefixed JSON over stdin/stdout, under ``RLIMIT_AS``, a CPU limit, no
  core dumps and no file writes, and - once started - behind the seccomp fence of
  :mod:`engine.bpmn.os_fence` (no files, no sockets, no new programs). A worker that cannot install
  the fence refuses to start unless the parent asked for none (``KIM_SANDBOX_FENCE=off``). The
  parent enforces the wall-clock limit and kills the worker.

It deliberately imports only the standard library, RestrictedPython and its sibling ``os_fence``:
the parent starts it by file path with ``python -I``, so the worker loads nothing of the engine
(no database URL, no secrets, no SpiffWorkflow) and starts in a few milliseconds.
"""

from __future__ import annotations

import ast
import contextlib
import json
import math
import operator
import os
import resource
import struct
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime, timedelta, tzinfo
from functools import lru_cache
from types import CodeType
from typing import IO, Any, Final, Literal, cast
from zoneinfo import ZoneInfo

from RestrictedPython.compile import compile_restricted
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safe_builtins,
)
from RestrictedPython.transformer import INSPECT_ATTRIBUTES, RestrictingNodeTransformer, copy_locations

if __package__:  # imported as engine.bpmn.sandbox_worker
    from engine.bpmn import os_fence
else:  # run by file path as the worker; ``python -I`` puts no folder of ours on sys.path
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    try:
        import os_fence  # type: ignore[import-not-found, no-redef]
    finally:
        del sys.path[0]

Mode = Literal["eval", "exec"]

MAX_SOURCE_CHARS: Final = 100_000
RANGE_LIMIT: Final = 1_000_000
MAX_DEPTH: Final = 100
MAX_INT_BITS: Final = 14_000  # below Python's 4300-digit limit for int <-> str, so JSON always works
MAX_MESSAGE_CHARS: Final = 500
MAX_RESPONSE_BYTES: Final = 16 * 1024 * 1024
HEADER: Final = struct.Struct(">I")
FENCE_ON: Final = "on"
FENCE_OFF: Final = "off"

# Names that can never be data worth reading and would open the namespace or the interpreter.
FORBIDDEN_NAMES: Final = frozenset(
    {"eval", "exec", "compile", "getattr", "setattr", "delattr", "hasattr", "vars", "dir",
     "globals", "locals", "breakpoint", "memoryview", "super", "classmethod", "staticmethod"}
)
# Plausible field names ("type", "open", "input"), so only calling them is refused.
FORBIDDEN_CALLS: Final = frozenset(
    {"type", "object", "open", "input", "help", "id", "property", "exit", "quit"}
)
REFUSED_ATTRIBUTES: Final = INSPECT_ATTRIBUTES | {"mro"}
FORMAT_ATTRIBUTES: Final = frozenset({"format", "format_map"})
_ASYNC_NODES: Final = (ast.AsyncFunctionDef, ast.AsyncFor, ast.AsyncWith, ast.Await)


class CodeRejectedError(Exception):
    """Code the sandbox refuses to compile; ``reason`` is plain words, ``line`` 1-based."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


class SandboxLimitError(MemoryError):
    """A sandbox limit (rather than the operating system) refused to allocate."""


class UnstorableValueError(TypeError):
    """A value that cannot travel as JSON-like data."""


# --- static rules and compilation ------------------------------------------------------------

_compile_lock = threading.Lock()


@contextlib.contextmanager
def _quiet_compiler() -> Iterator[None]:
    # Python's parser warns about e.g. invalid escapes ("\d"); whether that is an error must not
    # depend on the host's warning filters. catch_warnings is process-global, hence the lock.
    with _compile_lock, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def parse_source(source: str, mode: Mode) -> ast.Module | ast.Expression:
    """Parse model code, turning every parser failure into a :class:`CodeRejectedError`."""
    if not isinstance(source, str):
        raise TypeError("model code must be text")
    if len(source) > MAX_SOURCE_CHARS:
        raise CodeRejectedError(f"the code is too long: at most {MAX_SOURCE_CHARS} characters are allowed")
    try:
        with _quiet_compiler():
            return cast(ast.Module | ast.Expression, ast.parse(source, "<model>", mode))
    except SyntaxError as err:
        raise CodeRejectedError(f"syntax error at line {err.lineno or 1}: {err.msg}", err.lineno) from None
    except ValueError as err:  # e.g. NUL characters
        raise CodeRejectedError(f"syntax error: {err}") from None
    except (MemoryError, RecursionError):
        raise CodeRejectedError("the code is nested too deeply") from None


def check_rules(tree: ast.AST) -> None:
    """Apply our rules on top of RestrictedPython's; report the first offence in the source."""
    offences = [
        (getattr(node, "lineno", 0), _column(node), reason)
        for node in ast.walk(tree)
        if (reason := _node_reason(node)) is not None
    ]
    if offences:
        line, _, reason = min(offences)
        raise CodeRejectedError(reason, line or None)


def _column(node: ast.AST) -> int:
    # An attribute node starts where its whole chain starts; its own name is at the end.
    if isinstance(node, ast.Attribute) and node.end_col_offset is not None:
        return node.end_col_offset - len(node.attr)
    return getattr(node, "col_offset", 0)


def _node_reason(node: ast.AST) -> str | None:
    if isinstance(node, ast.Import | ast.ImportFrom):
        return "imports are not allowed"
    if isinstance(node, ast.ClassDef):
        return "class definitions are not allowed"
    if isinstance(node, _ASYNC_NODES):
        return "async code is not allowed"
    if isinstance(node, ast.Attribute):
        return attribute_reason(node.attr)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FORBIDDEN_CALLS:
        return f"calling '{node.func.id}' is not allowed"
    for name in _names_of(node):
        if name.startswith("_") and name != "_":
            return f"names starting with '_' are not allowed: {name}"
        if name in FORBIDDEN_NAMES:
            return f"'{name}' is not allowed"
    return None


def _names_of(node: ast.AST) -> list[str]:
    """Every identifier a node reads or binds."""
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.arg):
        return [node.arg]
    if isinstance(node, ast.keyword | ast.ExceptHandler | ast.MatchAs | ast.MatchStar):
        value = node.arg if isinstance(node, ast.keyword) else node.name
        return [value] if value else []
    if isinstance(node, ast.FunctionDef):
        return [node.name]
    if isinstance(node, ast.Global | ast.Nonlocal):
        return list(node.names)
    if isinstance(node, ast.MatchMapping):
        return [node.rest] if node.rest else []
    return []


def attribute_reason(name: str) -> str | None:
    """Why an attribute may not be read, or None; shared by the static check and the guard."""
    if name.startswith("_"):
        return f"names starting with '_' are not allowed: {name}"
    if name in REFUSED_ATTRIBUTES:
        return f"access to '.{name}' is not allowed"
    if name in FORMAT_ATTRIBUTES:
        return "str.format is not allowed, it can reach internal attributes; use an f-string"
    return None


class _Policy(RestrictingNodeTransformer):
    """RestrictedPython's policy, plus ``a % b`` -> ``_mod_(a, b)``.

    The in-process fast path must refuse %-formatting of text: ``"%0999999999d" % 1`` allocates a
    gigabyte in a single C call. Numbers keep their plain ``%``.
    """

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:  # noqa: N802  # reason: ast.NodeVisitor dispatches by this name
        visited = self.node_contents_visit(node)
        if not isinstance(visited.op, ast.Mod):
            return visited
        call = ast.Call(func=ast.Name("_mod_", ast.Load()), args=[visited.left, visited.right], keywords=[])
        copy_locations(call, visited)
        return call


@lru_cache(maxsize=2048)
def compile_source(source: str, mode: Mode) -> CodeType:
    """Check and compile model code with ``compile_restricted``; raise :class:`CodeRejectedError`."""
    tree = parse_source(source, mode)
    check_rules(tree)
    try:
        with _quiet_compiler():
            code: CodeType = compile_restricted(tree, filename="<model>", mode=mode, policy=_Policy)
    except SyntaxError as err:
        raise CodeRejectedError(_compile_error_reason(err), err.lineno) from None
    except (MemoryError, RecursionError):
        raise CodeRejectedError("the code is nested too deeply") from None
    return code


def _compile_error_reason(err: SyntaxError) -> str:
    if err.args and isinstance(err.args[0], tuple | list):  # RestrictedPython's collected errors
        return "not allowed by the sandbox: " + "; ".join(str(item) for item in err.args[0])
    return f"syntax error at line {err.lineno or 1}: {err.msg}"


# --- guards and builtins -----------------------------------------------------------------------

_DATE_ATTRIBUTES: Final = frozenset(
    {"year", "month", "day", "weekday", "isoweekday", "isocalendar", "isoformat", "strftime",
     "replace", "toordinal", "ctime"}
)
_DATETIME_ATTRIBUTES: Final = _DATE_ATTRIBUTES | {
    "hour", "minute", "second", "microsecond", "date", "timestamp", "utcoffset", "tzname", "tzinfo"
}
_TIMEDELTA_ATTRIBUTES: Final = frozenset({"days", "seconds", "microseconds", "total_seconds"})
_TZINFO_ATTRIBUTES: Final = frozenset({"key", "utcoffset", "tzname", "dst"})


def _allowed_attributes(obj: object) -> frozenset[str] | None:
    """Time objects get an allow-list: their classes carry clock readers (``today``, ``now``) that
    would bypass the engine clock, and ``ZoneInfo`` can load files by name."""
    if isinstance(obj, datetime):
        return _DATETIME_ATTRIBUTES
    if isinstance(obj, date):
        return _DATE_ATTRIBUTES
    if isinstance(obj, timedelta):
        return _TIMEDELTA_ATTRIBUTES
    if isinstance(obj, tzinfo):
        return _TZINFO_ATTRIBUTES
    if isinstance(obj, type) and issubclass(obj, date | timedelta | tzinfo):
        return frozenset()
    return None


def guarded_getattr(obj: object, name: str) -> Any:
    """``_getattr_``: every ``a.b`` in model code goes through here."""
    if not isinstance(name, str):
        raise TypeError("attribute names must be text")
    reason = attribute_reason(name)
    allowed = _allowed_attributes(obj)
    if reason is None and allowed is not None and name not in allowed:
        reason = f"'{type(obj).__name__}.{name}' is not allowed; use today(), now(), date() or timedelta()"
    if reason is not None:
        raise AttributeError(reason)
    return getattr(obj, name)


def guarded_getitem(obj: Any, key: Any) -> Any:
    """``_getitem_``: plain item access; the values reachable here are data, not internals."""
    return obj[key]


def bounded_range(*args: int) -> range:
    """``range`` refusing more than RANGE_LIMIT elements: ``sum(range(10**12))`` is one C call."""
    numbers = range(*args)
    try:
        size = len(numbers)
    except OverflowError:
        size = RANGE_LIMIT + 1
    if size > RANGE_LIMIT:
        raise SandboxLimitError(f"range() is limited to {RANGE_LIMIT} elements")
    return numbers


_INPLACE: Final[Mapping[str, Callable[[Any, Any], Any]]] = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
    "//=": operator.ifloordiv, "%=": operator.imod, "**=": operator.ipow, "<<=": operator.ilshift,
    ">>=": operator.irshift, "&=": operator.iand, "|=": operator.ior, "^=": operator.ixor,
}


def inplace_operation(op: str, target: Any, value: Any) -> Any:
    """``_inplacevar_``: ``x += y`` and friends."""
    return _INPLACE[op](target, value)


def internal_import(name: str, *args: object, **kwargs: object) -> Any:
    """``__import__`` for C code only: ``date.strftime`` imports ``time`` through the builtins.

    Model code cannot name ``__import__`` (no names starting with ``_``), so this only serves the
    interpreter, and only with the one module it needs.
    """
    if name == "time":
        return time
    raise ImportError("imports are not allowed")


def apply_call(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``_apply_``: calls with ``*args``/``**kwargs``."""
    return func(*args, **kwargs)


class _DiscardedPrint:
    """``print()`` in a model does nothing: stdout is the worker's protocol channel."""

    def _call_print(self, *args: object, **kwargs: object) -> None:
        return None

    def __call__(self) -> str:
        return ""


def discard_print(*args: object) -> _DiscardedPrint:
    """``_print_``: RestrictedPython's hook for print in scripts (expressions use ``_print``)."""
    return _DiscardedPrint()


_REMOVED_SAFE_BUILTINS: Final = frozenset({"__build_class__", "setattr", "delattr", "_getattr_", "id"})
_EXTRA_BUILTINS: Final[Mapping[str, Any]] = {
    "len": len, "min": min, "max": max, "sum": sum, "abs": abs, "round": round, "sorted": sorted,
    "reversed": reversed, "any": any, "all": all, "enumerate": enumerate, "zip": zip, "list": list,
    "dict": dict, "set": set, "tuple": tuple, "str": str, "int": int, "float": float, "bool": bool,
}


def make_builtins(
    clock: Callable[[], datetime], zone: tzinfo, mod: Callable[[Any, Any], Any]
) -> dict[str, Any]:
    """The whole namespace model code sees besides its own variables."""
    names = {key: value for key, value in safe_builtins.items() if key not in _REMOVED_SAFE_BUILTINS}
    names.update(_EXTRA_BUILTINS)
    names.update(time_helpers(clock, zone))
    names.update(
        range=bounded_range, _getattr_=guarded_getattr, _getitem_=guarded_getitem, _getiter_=iter,
        _write_=full_write_guard, _inplacevar_=inplace_operation, _apply_=apply_call,
        _iter_unpack_sequence_=guarded_iter_unpack_sequence, _unpack_sequence_=guarded_unpack_sequence,
        _print_=discard_print, _print=_DiscardedPrint(), _mod_=mod, __import__=internal_import,
    )
    return names


# --- dates -------------------------------------------------------------------------------------


def time_helpers(clock: Callable[[], datetime], zone: tzinfo) -> dict[str, Callable[..., Any]]:
    """``today()``, ``now()``, ``date()``, ``datetime()``, ``timedelta()`` for date arithmetic.

    Functions rather than the classes: the classes read the system clock (``date.today``), while
    models must follow the engine clock. Datetimes are always aware, in ``zone``.
    """

    def today() -> date:
        return clock().astimezone(zone).date()

    def now() -> datetime:
        return clock().astimezone(zone)

    def make_date(value: object, month: int | None = None, day: int | None = None) -> date:
        if month is None and day is None:
            return _as_date(value, zone)
        return date(*_ints(value, month, day))

    def make_datetime(
        value: object, month: int | None = None, day: int | None = None,
        hour: int = 0, minute: int = 0, second: int = 0,
    ) -> datetime:
        if month is None and day is None:
            return _as_datetime(value, zone)
        year, month, day, hour, minute, second = _ints(value, month, day, hour, minute, second)
        return datetime(year, month, day, hour, minute, second, tzinfo=zone)

    def make_timedelta(
        days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0, weeks: float = 0
    ) -> timedelta:
        return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds, weeks=weeks)

    return {"today": today, "now": now, "date": make_date, "datetime": make_datetime,
            "timedelta": make_timedelta}


def _ints(*values: object) -> list[int]:
    numbers = [value for value in values if isinstance(value, int) and not isinstance(value, bool)]
    if len(numbers) != len(values):
        raise TypeError("expected whole numbers (year, month, day, ...) or one ISO 8601 text")
    return numbers


def _as_date(value: object, zone: tzinfo) -> date:
    if isinstance(value, datetime):
        return _as_datetime(value, zone).date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return _as_datetime(value, zone).date()
    raise TypeError(f"date() cannot read a value of type {type(value).__name__}")


def _as_datetime(value: object, zone: tzinfo) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day, tzinfo=zone)
    elif isinstance(value, str):
        moment = datetime.fromisoformat(value.strip())
    else:
        raise TypeError(f"datetime() cannot read a value of type {type(value).__name__}")
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment.astimezone(zone)


def iso_duration(delta: timedelta) -> str:
    """``timedelta(days=14)`` -> ``"P14D"``: the form BPMN timers understand."""
    if delta < timedelta(0):
        return "-" + iso_duration(-delta)
    hours, rest = divmod(delta.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    clock_part = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    if seconds or delta.microseconds:
        text = f"{seconds}.{delta.microseconds:06d}".rstrip("0").rstrip(".")
        clock_part += f"{text}S"
    day_part = f"{delta.days}D" if delta.days else ""
    if not day_part and not clock_part:
        return "PT0S"
    return "P" + day_part + (f"T{clock_part}" if clock_part else "")


# --- JSON-like values --------------------------------------------------------------------------


def to_json_like(value: object, depth: int = 0) -> Any:
    """The value as str/int/float/bool/None/list/dict; dates as ISO 8601 text."""
    kind = type(value)
    if value is None or kind is bool or kind is str or kind is float:
        return value
    if isinstance(value, int) and kind is int:
        return _checked_int(value)
    if depth >= MAX_DEPTH:
        raise UnstorableValueError("the value is nested too deeply")
    return _convert_other(value, depth)


def _checked_int(value: int) -> int:
    if abs(value).bit_length() > MAX_INT_BITS:
        raise UnstorableValueError("the number is too large to store")
    return value


def _convert_other(value: object, depth: int) -> Any:
    # Subclasses first (StrEnum and IntEnum members from host code): store the plain value.
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return _checked_int(int(value))
    if isinstance(value, float):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return iso_duration(value)
    if isinstance(value, list | tuple):
        return [to_json_like(item, depth + 1) for item in value]
    if isinstance(value, set | frozenset):
        return _sorted_items([to_json_like(item, depth + 1) for item in value])
    if isinstance(value, dict):
        return {_key(key): to_json_like(item, depth + 1) for key, item in value.items()}
    raise UnstorableValueError(f"a value of type {type(value).__name__} cannot be stored")


def _key(key: object) -> str:
    if isinstance(key, str):
        return str.__str__(key)
    if isinstance(key, int) and not isinstance(key, bool):
        return str(int(key))
    raise UnstorableValueError(f"dictionary keys must be text, not {type(key).__name__}")


def _sorted_items(items: list[Any]) -> list[Any]:
    # Set order depends on the hash seed, which differs between processes: sort for determinism.
    try:
        return sorted(items)
    except TypeError:
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))


def same_value(left: Any, right: Any) -> bool:
    """Strict equality of JSON-like values (``1``, ``1.0`` and ``True`` differ)."""
    if type(left) is not type(right):
        return False
    if isinstance(left, list):
        return len(left) == len(right) and all(map(same_value, left, right))
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(same_value(item, right[key]) for key, item in left.items())
    return bool(left == right)


def unstorable_result(err: UnstorableValueError) -> str:
    """The ScriptError text for an expression whose value cannot be stored."""
    return f"the result cannot be stored: {err}"


def describe_exception(err: BaseException) -> str:
    """``NameError: name 'x' is not defined`` - no traceback, bounded length."""
    try:
        text = str(err)
    except Exception:  # a broken __str__ must not break error reporting
        text = ""
    if len(text) > MAX_MESSAGE_CHARS:
        text = text[:MAX_MESSAGE_CHARS] + "..."
    name = type(err).__name__
    return f"{name}: {text}" if text else name


# --- running -----------------------------------------------------------------------------------


def run_expression(code: CodeType, names: Mapping[str, Any], builtins: dict[str, Any]) -> Any:
    """Evaluate compiled model code against ``names``."""
    scope: dict[str, Any] = dict(names)
    scope["__builtins__"] = builtins
    return eval(code, scope)  # noqa: S307  # reason: compiled by compile_restricted, guarded builtins only


def run_script(code: CodeType, names: Mapping[str, Any], builtins: dict[str, Any]) -> dict[str, Any]:
    """Execute compiled model code; return the resulting namespace."""
    scope: dict[str, Any] = dict(names)
    scope["__builtins__"] = builtins
    exec(code, scope)  # noqa: S102  # reason: compiled by compile_restricted, guarded builtins only
    return scope


def script_changes(before: Mapping[str, Any], scope: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """What a script set or changed, and which of its input variables are gone.

    Only JSON-like values are kept; functions, iterators and the like are dropped as temporaries.
    """
    kept: dict[str, Any] = {}
    for name, value in scope.items():
        if name.startswith("_"):
            continue
        with contextlib.suppress(UnstorableValueError):
            kept[name] = to_json_like(value)
    changed = {name: value for name, value in kept.items()
               if name not in before or not same_value(before[name], value)}
    deleted = sorted(name for name in before if name not in kept)
    return changed, deleted


# --- the worker process ------------------------------------------------------------------------


def encode_frame(message: Mapping[str, Any]) -> bytes:
    """Length-prefixed JSON; ASCII-escaped so any string (even a lone surrogate) travels."""
    body = json.dumps(message, separators=(",", ":")).encode("ascii")
    return HEADER.pack(len(body)) + body


def handle_request(body: bytes) -> dict[str, Any]:
    """Run one request and describe the outcome; never raises."""
    request = json.loads(body)
    mode: Mode = "exec" if request["op"] == "exec" else "eval"
    try:
        code = compile_source(request["source"], mode)
    except CodeRejectedError as err:
        return {"ok": False, "kind": "violation", "message": err.reason, "line": err.line}
    _limit_cpu(float(request["time_limit"]))
    moment = datetime.fromisoformat(request["now"])
    try:
        builtins = make_builtins(lambda: moment, _zone(request["tz"]), operator.mod)
        if mode == "eval":
            return _expression_reply(run_expression(code, request["names"], builtins))
        scope = run_script(code, request["names"], builtins)
        changed, deleted = script_changes(json.loads(body)["names"], scope)
        return {"ok": True, "set": changed, "deleted": deleted}
    except MemoryError as err:
        return {"ok": False, "kind": "memory", "message": str(err)}
    except BaseException as err:  # SystemExit, KeyboardInterrupt raised by model code are its own errors
        return {"ok": False, "kind": "error", "message": describe_exception(err)}


_ZONES: dict[str, ZoneInfo] = {}  # loaded before the fence: behind it no zone file can be read


def _zone(key: str) -> ZoneInfo:
    return _ZONES.get(key) or ZoneInfo(key)


def _expression_reply(value: Any) -> dict[str, Any]:
    try:
        return {"ok": True, "value": to_json_like(value)}
    except UnstorableValueError as err:
        return {"ok": False, "kind": "error", "message": unstorable_result(err)}


def _reply_frame(reply: Mapping[str, Any]) -> bytes:
    try:
        frame = encode_frame(reply)
    except MemoryError:
        return encode_frame({"ok": False, "kind": "memory", "message": ""})
    except (TypeError, ValueError) as err:
        return encode_frame({"ok": False, "kind": "error", "message": describe_exception(err)})
    if len(frame) > MAX_RESPONSE_BYTES:
        message = f"the result is larger than {MAX_RESPONSE_BYTES // (1024 * 1024)} MiB"
        return encode_frame({"ok": False, "kind": "memory", "message": message})
    return frame


def _limit_cpu(seconds: float) -> None:
    # RLIMIT_CPU counts the worker's whole life, so the soft limit moves on with every request;
    # it is the backstop for an orphaned worker, the parent's wall clock is the real limit.
    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = math.ceil(usage.ru_utime + usage.ru_stime + seconds) + 1
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _apply_limits(memory_limit: int) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = memory_limit if hard == resource.RLIM_INFINITY else min(memory_limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a core dump would write case data to disk
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))  # no file writes
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))  # no fork, no exec


def _take_stdout() -> IO[bytes]:
    """Keep stdout for the protocol and point fds 1 and 2 at /dev/null for anything else."""
    channel = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)
    return channel


def _read_frame(channel: IO[bytes]) -> bytes | None:
    header = channel.read(HEADER.size)
    if len(header) < HEADER.size:
        return None
    (size,) = HEADER.unpack(header)
    body = channel.read(size)
    return body if len(body) == size else None


def main(argv: list[str]) -> int:
    """Serve requests until the parent closes our stdin.

    ``argv``: the memory limit in bytes, the time zone of the engine, and ``on`` or ``off`` for
    the operating-system fence. Without the fence it asked for, the worker refuses to start.
    """
    memory_limit, zone_key = int(argv[0]), argv[1] if len(argv) > 1 else "Europe/Berlin"
    fenced = (argv[2] if len(argv) > 2 else FENCE_ON) != FENCE_OFF
    _ZONES[zone_key] = ZoneInfo(zone_key)  # load the zone file while files can still be read
    out = _take_stdout()
    _apply_limits(memory_limit)
    if fenced:
        try:
            os_fence.install()
        except os_fence.FenceUnavailableError as err:
            out.write(encode_frame({"ready": False, "error": str(err)}))
            out.flush()
            return 1
    out.write(encode_frame({"ready": True, "pid": os.getpid(), "fenced": fenced}))
    out.flush()
    while (body := _read_frame(sys.stdin.buffer)) is not None:
        out.write(_reply_frame(handle_request(body)))
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
