"""Several web processes on one port: gunicorn with threads, the app loaded once before forking.

Why processes: Python runs one thread at a time per process, and a request spends most of its
time in Python (routing, SQLAlchemy, JSON, templates), not waiting for the database. One process
per core is what lets a 2-core machine serve twice the completions (measured in bench/http.py).

Why gunicorn and preloading: the master imports the app and parses the deployed models once;
the workers are forked from it and share those pages. Connections must not cross a fork: every
worker drops the pool it inherited (``dispose(close=False)`` leaves the parent's sockets alone)
and opens its own. The expression sandbox notices the fork by itself (engine/bpmn/sandbox.py).

Why the scheduler is a separate process under ``kim run``: gunicorn's master forks a new worker
whenever one dies; forking while a scheduler thread holds a lock (logging, a pool) can leave the
child with a lock nobody releases. So ``run`` starts ``kim scheduler`` as a child process beside
the web workers and stops it when the server stops.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from gunicorn.workers.base import Worker

log = logging.getLogger(__name__)

KEEPALIVE_SECONDS = 5  # clients of the REST API hold their connection between requests


def default_workers() -> int:
    """One web process per core."""
    return max(1, os.cpu_count() or 1)


class _KimServer(BaseApplication):  # type: ignore[misc]  # gunicorn ships no types: its base is Any
    def __init__(self, app: Any, options: Mapping[str, Any]) -> None:
        self._app = app
        self._options = dict(options)
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return self._app


def _drop_inherited_connections(_arbiter: Arbiter, worker: Worker) -> None:
    """post_fork: the worker opens its own database connections (see the module docstring)."""
    ctx = worker.app.load().extensions["kim"]
    ctx.db.dispose(close=False)


def serve_forked(config: Mapping[str, Any], host: str, port: int, workers: int, threads: int) -> None:
    """Serve the app with ``workers`` processes of ``threads`` threads until SIGTERM or SIGINT."""
    from webapp import create_app

    app = create_app(dict(config))
    app.extensions["kim"].db.dispose()  # nothing the master opened goes into a worker
    options = {
        "bind": f"{host}:{port}", "workers": workers, "threads": threads, "worker_class": "gthread",
        "preload_app": True, "keepalive": KEEPALIVE_SECONDS, "timeout": 120, "graceful_timeout": 20,
        "proc_name": "kim", "post_fork": _drop_inherited_connections, "accesslog": None,
        "errorlog": "-", "loglevel": "info",
    }
    log.info("serving on http://%s:%s with %d processes of %d threads", host, port, workers, threads)
    _KimServer(app, options).run()


def start_scheduler_process() -> subprocess.Popen[bytes]:
    """``kim scheduler`` as a child process with this process's environment (its configuration)."""
    return subprocess.Popen([sys.executable, "-m", "webapp.commands", "scheduler"])


def stop_process(process: subprocess.Popen[bytes], wait_seconds: float = 20) -> None:
    """SIGTERM, then SIGKILL if it does not end in time."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(wait_seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
