"""The operating-system fence of the sandbox workers: what escaped code can no longer do.

RestrictedPython is not bypassed by any known model code, so these tests simulate a complete
escape: a launcher runs the real worker (its start-up, limits, fence and request loop) but with the
evaluation entry point replaced by plain ``exec`` with the real builtins, and with ``ctypes``,
``socket`` and ``subprocess`` already imported, as an attacker would wish.
"""

from __future__ import annotations

import errno
import logging
import platform
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from engine import clock
from engine.bpmn import os_fence
from engine.bpmn import sandbox as sandbox_module
from engine.bpmn import sandbox_worker as core
from engine.bpmn.sandbox import Sandbox, SandboxUnavailableError, ScriptError, fence_from_environment
from engine.domain.actors import SYSTEM
from engine.persistence.models import Incident
from engine.services.casework.instances import start_instance
from engine.services.context import EngineContext
from tests.conftest import deploy_files

MEMORY = 256 * 1024 * 1024
BPMN_DIR = Path(core.__file__).resolve().parent

LAUNCHER = """
import errno, json, os, sys
sys.path.insert(0, {bpmn_dir!r})
import ctypes, ctypes.util, resource, socket, subprocess  # loaded before the fence
import sandbox_worker as worker

def unrestricted(body):
    request = json.loads(body)
    scope = {{"ctypes": ctypes, "errno": errno, "os": os, "resource": resource, "socket": socket,
              "subprocess": subprocess, "libc": ctypes.CDLL(None, use_errno=True)}}
    try:
        exec(request["source"], scope)
    except BaseException as err:
        return {{"ok": False, "kind": "error", "message": type(err).__name__ + ": " + str(err)}}
    return {{"ok": True, "value": scope.get("result")}}

worker.handle_request = unrestricted
{extra}
sys.exit(worker.main(sys.argv[1:]))
"""


def _launcher(directory: Path, extra: str = "") -> str:
    path = directory / "escaped_worker.py"
    path.write_text(LAUNCHER.format(bpmn_dir=str(BPMN_DIR), extra=extra), encoding="utf-8")
    return str(path)


@pytest.fixture
def escaped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[sandbox_module._Worker]:
    """A fenced worker whose model code has escaped RestrictedPython completely."""
    monkeypatch.setattr(sandbox_module, "_WORKER_PATH", _launcher(tmp_path))
    worker = sandbox_module._Worker(MEMORY, "Europe/Berlin", True)
    yield worker
    worker.kill()


def run(worker: sandbox_module._Worker, source: str) -> dict[str, Any]:
    reply: dict[str, Any] = worker.call(core.encode_frame({"source": source}), 5.0)
    return reply


def _status(pid: int) -> dict[str, str]:
    lines = Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines()
    return dict(line.split(":\t", 1) for line in lines if ":\t" in line)


# --- the fence is there ------------------------------------------------------------------------


def test_workers_run_under_a_seccomp_filter_with_no_new_privileges() -> None:
    with Sandbox(max_workers=1, fence=True) as fenced:
        assert fenced.evaluate("sorted([2, 1])", {}) == [1, 2]
        (pid,) = fenced.worker_pids()
        status = _status(pid)
    assert status["Seccomp"].strip() == "2"  # SECCOMP_MODE_FILTER
    assert status["NoNewPrivs"].strip() == "1"


LIBC_CALLS = [
    pytest.param("result = [libc.open(b'/etc/hostname', os.O_RDONLY), ctypes.get_errno()]", id="libc-open"),
    pytest.param("result = [libc.openat(-100, b'/etc/passwd', os.O_RDONLY), ctypes.get_errno()]", id="libc-openat"),
    pytest.param("result = [libc.socket(socket.AF_INET, socket.SOCK_STREAM, 0), ctypes.get_errno()]",
                 id="libc-socket-inet"),
    pytest.param("result = [libc.socket(socket.AF_UNIX, socket.SOCK_STREAM, 0), ctypes.get_errno()]",
                 id="libc-socket-unix"),
    pytest.param("argv = (ctypes.c_char_p * 2)(b'/bin/true', None)\n"
                 "result = [libc.execve(b'/bin/true', argv, None), ctypes.get_errno()]", id="libc-execve"),
    pytest.param("result = [libc.fork(), ctypes.get_errno()]", id="libc-fork"),
    pytest.param("result = [libc.kill(1, 0), ctypes.get_errno()]", id="libc-kill-other-process"),
]


@pytest.mark.parametrize("source", LIBC_CALLS)
def test_libc_calls_by_ctypes_fail_with_eperm(escaped: sandbox_module._Worker, source: str) -> None:
    reply = run(escaped, source)
    assert reply == {"ok": True, "value": [-1, errno.EPERM]}


PYTHON_CALLS = [
    pytest.param("open('/etc/hostname').read()", id="open"),
    pytest.param("os.listdir('/')", id="listdir"),
    pytest.param("socket.socket(socket.AF_INET, socket.SOCK_STREAM).connect(('127.0.0.1', 5432))", id="connect"),
    pytest.param("os.execv('/bin/true', ['true'])", id="execv"),
    pytest.param("os.fork()", id="fork"),
    pytest.param("subprocess.run(['/bin/true'])", id="subprocess"),
    pytest.param("os.kill(1, 0)", id="kill"),
]


@pytest.mark.parametrize("source", PYTHON_CALLS)
def test_python_level_escapes_fail_with_permission_error(escaped: sandbox_module._Worker, source: str) -> None:
    reply = run(escaped, source)
    assert reply["ok"] is False
    assert reply["message"].startswith("PermissionError: [Errno 1]"), reply


def test_no_new_file_can_be_created(escaped: sandbox_module._Worker, tmp_path: Path) -> None:
    target = tmp_path / "leak.txt"
    source = f"result = [libc.open({str(target).encode()!r}, os.O_WRONLY | os.O_CREAT, 0o600), ctypes.get_errno()]"
    assert run(escaped, source) == {"ok": True, "value": [-1, errno.EPERM]}
    assert not target.exists()


def test_no_module_can_be_imported_that_was_not_loaded_before(escaped: sandbox_module._Worker) -> None:
    assert "sqlite3" not in run(escaped, "import sys\nresult = sorted(sys.modules)")["value"]
    reply = run(escaped, "import sqlite3")
    assert reply["message"] == "ModuleNotFoundError: No module named 'sqlite3'"  # its files cannot be read


def test_the_memory_limit_cannot_be_raised_but_the_cpu_limit_still_moves(escaped: sandbox_module._Worker) -> None:
    raise_memory = "resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))"
    assert run(escaped, raise_memory)["ok"] is False
    assert run(escaped, "result = resource.getrlimit(resource.RLIMIT_AS)")["value"] == [MEMORY, MEMORY]
    move_cpu = "hard = resource.getrlimit(resource.RLIMIT_CPU)[1]\n" \
               "resource.setrlimit(resource.RLIMIT_CPU, (100, hard))\n" \
               "result = resource.getrlimit(resource.RLIMIT_CPU)[0]"
    assert run(escaped, move_cpu) == {"ok": True, "value": 100}


def test_the_worker_keeps_serving_after_refused_calls(escaped: sandbox_module._Worker) -> None:
    assert run(escaped, "result = libc.open(b'/etc/hostname', 0)")["value"] == -1
    assert run(escaped, "result = 6 * 7") == {"ok": True, "value": 42}


@pytest.mark.skipif(platform.machine() != "x86_64", reason="x32 system calls exist on x86_64 only")
def test_a_system_call_of_another_abi_kills_the_worker(escaped: sandbox_module._Worker) -> None:
    x32_open = 0x40000000 | 2
    with pytest.raises(sandbox_module._WorkerGoneError):
        run(escaped, f"result = libc.syscall({x32_open}, b'/etc/hostname', 0)")
    assert escaped.exit_signal() == signal.SIGSYS


def test_a_worker_killed_by_the_fence_is_reported_as_such(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if platform.machine() != "x86_64":
        pytest.skip("x32 system calls exist on x86_64 only")
    monkeypatch.setattr(sandbox_module, "_WORKER_PATH", _launcher(tmp_path))
    with Sandbox(max_workers=1, fence=True) as fenced:
        frame = core.encode_frame({"source": f"libc.syscall({0x40000000 | 2}, b'/', 0)"})
        with pytest.raises(ScriptError, match="operating-system fence"):
            fenced._send(frame)


# --- normal work behind the fence --------------------------------------------------------------


def test_a_zone_other_than_berlin_works_behind_the_fence() -> None:
    clock.freeze(datetime.fromisoformat("2026-01-15T12:00:00+00:00"))
    try:
        with Sandbox(max_workers=1, zone=ZoneInfo("America/New_York"), fence=True) as sandbox:
            assert sandbox.evaluate("sorted([now().isoformat()])[0]", {}) == "2026-01-15T07:00:00-05:00"
            assert sandbox.evaluate("sorted([now().tzname()])[0]", {}) == "EST"
    finally:
        clock.reset()


# --- when the fence cannot be installed --------------------------------------------------------

NO_SECCOMP = """
def refuse():
    raise worker.os_fence.FenceUnavailableError("loading the seccomp filter into the kernel failed: Invalid argument")
worker.os_fence.install = refuse
"""


def test_a_worker_without_its_fence_refuses_and_the_sandbox_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sandbox_module, "_WORKER_PATH", _launcher(tmp_path, NO_SECCOMP))
    with Sandbox(max_workers=1, fence=True) as fenced:
        with pytest.raises(SandboxUnavailableError) as raised:
            fenced.evaluate("sorted([1])", {})
        assert fenced.worker_pids() == []
    message = str(raised.value)
    assert "cannot fence itself off" in message
    assert "Invalid argument" in message
    assert "KIM_SANDBOX_FENCE=off" in message


def test_a_case_step_that_needs_an_unfenceable_worker_stops_with_an_incident_that_says_why(
    ctx: EngineContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deploy_files(ctx, "good_script.bpmn")
    monkeypatch.delenv("KIM_SANDBOX_FENCE", raising=False)
    monkeypatch.setattr(sandbox_module, "_WORKER_PATH", _launcher(tmp_path, NO_SECCOMP))
    monkeypatch.setattr(sandbox_module, "_default", None)  # the engine's sandbox, started afresh
    try:
        started = ctx.run(start_instance, "good_script", {"betrag": 41}, SYSTEM)
    finally:
        sandbox_module.default_sandbox().close()
    assert started.status == "incident"
    assert started.task_ids == []  # the script did not run unfenced, so the case did not move on
    with ctx.uow(write=False) as uow:
        (incident,) = uow.session.scalars(select(Incident))
    assert incident.element_id == "script"
    assert "cannot fence itself off from the operating system" in incident.message
    assert "KIM_SANDBOX_FENCE=off" in incident.message


def test_the_kernel_refusing_the_filter_is_reported_not_raised_as_a_crash() -> None:
    # A process that is already fenced may not install a filter again (prctl is refused): a real
    # refusal by the kernel, seen by the second install().
    script = (
        "from engine.bpmn import os_fence\n"
        "os_fence.install()\n"
        "try:\n"
        "    os_fence.install()\n"
        "except os_fence.FenceUnavailableError as err:\n"
        "    print('refused:', err)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("refused: loading the seccomp filter into the kernel failed")


def test_a_missing_libseccomp_is_a_fence_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os_fence, "LIBRARY", "libseccomp-not-there.so.9")
    with pytest.raises(os_fence.FenceUnavailableError, match="libseccomp is missing"):
        os_fence.install()


# --- the explicit switch -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "fenced"),
    [({}, True), ({"KIM_SANDBOX_FENCE": "on"}, True), ({"KIM_SANDBOX_FENCE": " OFF "}, False),
     ({"KIM_SANDBOX_FENCE": ""}, True)],
)
def test_fence_setting(environ: dict[str, str], fenced: bool) -> None:
    assert fence_from_environment(environ) is fenced


@pytest.mark.parametrize("value", ["auto", "0", "false", "no"])
def test_unknown_fence_settings_are_refused(value: str) -> None:
    with pytest.raises(ValueError, match="KIM_SANDBOX_FENCE must be 'on' or 'off'"):
        fence_from_environment({"KIM_SANDBOX_FENCE": value})


def test_fence_off_runs_unfenced_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("KIM_SANDBOX_FENCE", "off")
    monkeypatch.setattr(sandbox_module, "_WORKER_PATH", _launcher(tmp_path, NO_SECCOMP))
    with caplog.at_level(logging.WARNING, logger="engine.bpmn.sandbox"), Sandbox(max_workers=1) as unfenced:
        assert unfenced.fenced is False
        reply = unfenced._send(core.encode_frame({"source": "result = open('/proc/self/status').read()"}))
    assert reply["ok"] is True
    assert "Seccomp:\t0" in reply["value"]
    assert "without the operating-system fence" in caplog.text
