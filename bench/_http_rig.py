"""The rig of the HTTP benchmark (bench/http.py): a throwaway database, its set-up, and the web
server processes under test.

Everything here happens before timing and is torn down afterwards, also after Ctrl-C, a
timeout or a failure, so that a run leaves neither a database nor a server behind.
"""

from __future__ import annotations

import http.client
import os
import random
import secrets
import shlex
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from _common import DEFAULT_PG, ROOT
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from engine.domain.actors import SYSTEM
from engine.persistence.migrate import upgrade
from engine.persistence.models import HumanTask
from engine.services.admin import directory
from engine.services.context import EngineContext
from engine.services.process_models import deployment
from engine.services.wiring import create_context

HOST = "127.0.0.1"
DATA = Path(__file__).resolve().parent / "data"
MODEL = DATA / "bench_four_steps.bpmn"
FORMS = DATA / "forms"
PROCESS_ID = "bench_four_steps"
DEFAULT_SERVE_ARGS = "serve --host {host} --port {port} --threads 8"
STOP_GRACE_SECONDS = 15


class RigError(RuntimeError):
    """The rig cannot run (a server does not come up, the warm-up fails): said in one message."""


@dataclass(frozen=True)
class Database:
    kind: str      # sqlite | postgres
    url: str
    version: str


def _psycopg(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


@contextmanager
def database(kind: str, workdir: Path) -> Iterator[Database]:
    """A fresh SQLite file in ``workdir``, or a fresh PostgreSQL database ``kim_bench_<random>``
    on the server of KIM_TEST_POSTGRES_URL, dropped again on the way out whatever happened."""
    if kind == "sqlite":
        yield Database("sqlite", f"sqlite:///{workdir / 'bench.sqlite3'}", f"SQLite {sqlite3.sqlite_version}")
        return
    admin_url = os.environ.get("KIM_TEST_POSTGRES_URL", DEFAULT_PG)
    admin = create_engine(_psycopg(admin_url), isolation_level="AUTOCOMMIT")
    name = f"kim_bench_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            version = conn.execute(text("SHOW server_version")).scalar_one()
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception:
        admin.dispose()
        raise
    try:
        url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        yield Database("postgres", url, f"PostgreSQL {version}")
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class Store:
    """The engine's own view of the benchmark database: set-up before timing, counts between
    phases. Never used while a phase is timed."""

    def __init__(self, url: str) -> None:
        self.ctx: EngineContext = create_context({"KIM_DATABASE_URL": url, "KIM_FORMS_PATH": str(FORMS)})

    def prepare(self, users: int) -> list[str]:
        """Schema, offices, the four-step model, and one caseworker of office CM with an API token
        per client (a real office has many people, each with a token of their own)."""
        upgrade(self.ctx.db.write)
        self.ctx.run(directory.seed_offices)
        self.ctx.run(deployment.deploy, deployment.read_model_paths([MODEL]), SYSTEM)
        tokens = []
        for i in range(1, users + 1):
            username = f"bench{i:02d}"
            self.ctx.run(directory.add_user, username, "caseworker", ["CM"])
            tokens.append(self.ctx.run(directory.create_token, username))
        return tokens

    def open_tasks(self) -> int:
        with self.ctx.uow(write=False) as uow:
            return int(uow.session.scalar(select(func.count()).select_from(HumanTask)
                                          .where(HumanTask.state == "open")) or 0)

    def close(self) -> None:
        self.ctx.db.dispose()


@dataclass
class Server:
    port: int
    command: list[str]
    process: subprocess.Popen[bytes]
    log: Path
    stopped: str = "running"

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def server_command(serve_args: str, port: int, workers: int | None) -> list[str]:
    """``kim <serve_args>`` with {host} and {port} filled in, plus ``--workers N`` when asked for."""
    kim = Path(sys.executable).with_name("kim")
    head = [str(kim)] if kim.exists() else [sys.executable, "-m", "webapp.commands"]
    args = [part.format(host=HOST, port=port) for part in shlex.split(serve_args)]
    if workers is not None:
        args += ["--workers", str(workers)]
    return head + args


def server_environment(db_url: str, workdir: Path) -> dict[str, str]:
    env = dict(os.environ, KIM_DATABASE_URL=db_url, KIM_FORMS_PATH=str(FORMS),
               KIM_INSTANCE_PATH=str(workdir / "instance"), KIM_SECRET_KEY=secrets.token_urlsafe(32))
    env.pop("KIM_SMTP_URL", None)  # no mail leaves a benchmark
    return env


def free_ports(count: int) -> list[int]:
    """``count`` consecutive ports that nobody listens on at the moment."""
    for _ in range(200):
        base = random.randrange(20_000, 60_000 - count)
        if all(_is_free(port) for port in range(base, base + count)):
            return list(range(base, base + count))
    raise RigError(f"found no {count} consecutive free ports on {HOST}")


def _is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


@contextmanager
def servers(count: int, serve_args: str, workers: int | None, env: dict[str, str], workdir: Path,
            start_timeout: float) -> Iterator[list[Server]]:
    """``count`` server processes on consecutive ports, each answering HTTP before the caller
    goes on; stopped with SIGTERM (then SIGKILL) on the way out."""
    started: list[Server] = []
    try:
        for port in free_ports(count):
            command = server_command(serve_args, port, workers)
            log = workdir / f"server-{port}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
                                           start_new_session=True)
            started.append(Server(port, command, process, log))
        deadline = time.monotonic() + start_timeout
        for server in started:
            _wait_until_answering(server, deadline)
        yield started
    finally:
        stop_servers(started)


def _wait_until_answering(server: Server, deadline: float) -> None:
    """Any HTTP answer counts: the process has imported everything and listens."""
    while True:
        code = server.process.poll()
        if code is not None:
            raise RigError(f"the server on port {server.port} exited with {code} before answering:\n"
                               f"{' '.join(server.command)}\n{server.log_tail()}")
        conn = http.client.HTTPConnection(HOST, server.port, timeout=2)
        try:
            conn.request("GET", "/api/v1/openapi.json")
            conn.getresponse().read()
            return
        except (OSError, http.client.HTTPException):
            if time.monotonic() > deadline:
                raise RigError(f"the server on port {server.port} did not answer in time:\n"
                                   f"{server.log_tail()}") from None
            time.sleep(0.2)
        finally:
            conn.close()


def stop_servers(started: list[Server]) -> None:
    """SIGTERM to each server, a grace period, then SIGKILL to the process group the rig made."""
    for server in started:
        if server.process.poll() is None:
            server.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for server in started:
        try:
            code = server.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            server.stopped = f"exit {code}"
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait(5)
            server.stopped = "killed after SIGTERM grace period"
