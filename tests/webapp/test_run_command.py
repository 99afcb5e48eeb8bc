"""`kim run` serves the web app and runs the scheduler, and stops on SIGTERM: in one process
(``--workers 1``) or as several web processes with the scheduler as a child process."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import DATA


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found |= {int(child) for child in (task / "children").read_text().split()}
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text()


@pytest.mark.parametrize("workers", [1, 2])
def test_kim_run_serves_and_stops(tmp_path: Path, workers: int) -> None:
    kim = shutil.which("kim", path=str(Path(sys.executable).parent))
    assert kim
    env = {**os.environ, "KIM_DATABASE_URL": f"sqlite:///{tmp_path / 'run.sqlite3'}",
           "KIM_INSTANCE_PATH": str(tmp_path / "instance")}
    subprocess.run([kim, "init-db"], env=env, check=True, capture_output=True)
    subprocess.run([kim, "deploy", str(DATA / "timers.bpmn")], env=env, check=True, capture_output=True)
    port = _free_port()
    server = subprocess.Popen([kim, "run", "--port", str(port), "--workers", str(workers)], env=env,
                              stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []  # read as they come: the scheduler's start is logged by a child process
    reader = threading.Thread(target=lambda: lines.extend(server.stdout or ()), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as response:
                    assert response.status == 200
                    assert "Anmelden" in response.read().decode()
                    break
            except OSError:
                assert server.poll() is None, "".join(lines)
                assert time.monotonic() < deadline, "the server did not come up"
                time.sleep(0.2)
        children = _children(server.pid)
        if workers > 1:  # the first worker may answer before the master has forked the next one
            deadline = time.monotonic() + 20
            while len(children) < workers + 1 and time.monotonic() < deadline:
                time.sleep(0.1)
                children = _children(server.pid)
            assert len(children) == workers + 1, "one process per web worker and the scheduler"
        deadline = time.monotonic() + 30  # on a busy machine the scheduler may still be importing
        while not any("scheduler started" in line.lower() for line in list(lines)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert any("scheduler started" in line.lower() for line in list(lines)), "".join(lines)
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
        reader.join(timeout=10)
        assert any("scheduler stopped" in line.lower() for line in lines), "".join(lines)
        assert not [pid for pid in children if _alive(pid)], "no process outlives the server"
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        if server.stdout:
            server.stdout.close()


def test_a_stop_signal_during_a_socket_event_is_not_swallowed() -> None:
    """SIGTERM may land while waitress handles a request in the main thread; waitress passes
    most exceptions raised there to the channel's error handler and serves on for ever."""
    from waitress import wasyncore

    from webapp.commands import _Stopped

    swallowed: list[object] = []

    class Channel:
        def handle_read_event(self) -> None:
            raise _Stopped

        def handle_error(self) -> None:
            swallowed.append(sys.exc_info()[1])

    with pytest.raises(_Stopped):
        wasyncore.read(Channel())
    assert swallowed == []
