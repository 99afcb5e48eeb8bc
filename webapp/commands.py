"""The ``kim`` console script: the engine's commands plus ``serve`` and ``run``.

``serve`` is the production web server (waitress, several threads; run several of them
behind a load balancer on PostgreSQL). ``run`` is the embedded default behind
``make run``: the web server and the scheduler in one process.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from collections.abc import Sequence
from types import FrameType
from typing import Any

from waitress.server import create_server

from engine.cli import main as engine_main
from engine.scheduling.scheduler import configure_logging, run_scheduler
from engine.services.context import EngineContext


def _server_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5000, help="port (default 5000)")
    parser.add_argument("--threads", type=int, default=8, help="worker threads (default 8)")


class _Stopped(SystemExit):
    """Raised in the main thread by SIGTERM/SIGINT to leave the server loop.

    A SystemExit on purpose: the signal may land while waitress dispatches a socket event, and
    waitress hands every other exception there to the channel's error handler and serves on.
    """


def _serve_until_signal(ctx: EngineContext, args: argparse.Namespace, stop: threading.Event) -> int:
    from webapp import create_app

    app = create_app(dict(ctx.config))
    server = create_server(app, host=args.host, port=args.port, threads=args.threads, ident="KIM")
    log = logging.getLogger(__name__)

    def handle(signum: int, _frame: FrameType | None) -> None:
        log.info("%s received: stopping the web server and the scheduler", signal.Signals(signum).name)
        stop.set()
        raise _Stopped

    previous = {s: signal.signal(s, handle) for s in (signal.SIGTERM, signal.SIGINT)}
    log.info("serving on http://%s:%s", args.host, args.port)
    try:
        server.run()
    except _Stopped:
        pass
    finally:
        server.close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0


def _serve(ctx: EngineContext, args: argparse.Namespace) -> int:
    configure_logging()
    return _serve_until_signal(ctx, args, threading.Event())


def _run(ctx: EngineContext, args: argparse.Namespace) -> int:
    """Web server and scheduler together; SIGTERM or Ctrl-C stops both."""
    stop = threading.Event()
    scheduler = threading.Thread(target=run_scheduler, args=(ctx, stop), name="kim-scheduler", daemon=True)
    configure_logging()
    scheduler.start()
    logging.getLogger(__name__).info("scheduler started beside the web server")
    try:
        return _serve_until_signal(ctx, args, stop)
    finally:
        stop.set()
        scheduler.join(10)


def extend(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("serve", help="the production web server")
    _server_arguments(p)
    p.set_defaults(func=_serve)
    p = sub.add_parser("run", help="web server and scheduler together (the embedded default)")
    _server_arguments(p)
    p.set_defaults(func=_run)


def main(argv: Sequence[str] | None = None) -> int:
    return engine_main(argv, extend=extend)


if __name__ == "__main__":
    raise SystemExit(main())
