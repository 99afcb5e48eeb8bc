"""The ``kim`` console script: the engine's commands plus ``serve`` and ``run``.

``serve`` is the production web server: ``--workers`` processes (default one per core) of
``--threads`` threads on one port, see :mod:`webapp.serving`; with ``--workers 1`` a single
waitress process. ``run`` is the embedded default behind ``make run``: the same web server plus
the scheduler (a thread beside waitress, or a child process beside several workers).
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Sequence
from types import FrameType

import click
from waitress.server import create_server

from engine.cli import ContextSource, guarded
from engine.cli import main as engine_main
from engine.scheduling.scheduler import configure_logging, run_scheduler
from engine.services.context import EngineContext
from webapp import serving


class _Stopped(SystemExit):
    """Raised in the main thread by SIGTERM/SIGINT to leave the server loop.

    A SystemExit on purpose: the signal may land while waitress dispatches a socket event, and
    waitress hands every other exception there to the channel's error handler and serves on.
    """


def _serve_until_signal(ctx: EngineContext, host: str, port: int, threads: int, stop: threading.Event) -> None:
    from webapp import create_app

    app = create_app(dict(ctx.config))
    server = create_server(app, host=host, port=port, threads=threads, ident="KIM")
    log = logging.getLogger(__name__)

    def handle(signum: int, _frame: FrameType | None) -> None:
        log.info("%s received: stopping the web server and the scheduler", signal.Signals(signum).name)
        stop.set()
        raise _Stopped

    previous = {s: signal.signal(s, handle) for s in (signal.SIGTERM, signal.SIGINT)}
    log.info("serving on http://%s:%s", host, port)
    try:
        server.run()
    except _Stopped:
        pass
    finally:
        server.close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _server_options(command: Callable[..., None]) -> Callable[..., None]:
    for option in (click.option("--workers", type=click.IntRange(min=1), default=serving.default_workers(),
                                show_default="one per core", help="web processes"),
                   click.option("--threads", type=click.IntRange(min=1), default=8, show_default=True,
                                help="threads per web process"),
                   click.option("--port", type=click.IntRange(1, 65535), default=5000, show_default=True),
                   click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")):
        command = option(command)
    return command


def extend(cli: click.Group, ctx_of: ContextSource) -> None:
    @cli.command("serve", help="the production web server")
    @_server_options
    @guarded
    def serve(host: str, port: int, threads: int, workers: int) -> None:
        configure_logging()
        if workers > 1:
            serving.serve_forked(ctx_of().config, host, port, workers, threads)
        else:
            _serve_until_signal(ctx_of(), host, port, threads, threading.Event())

    @cli.command("run", help="web server and scheduler together (the embedded default)")
    @_server_options
    @guarded
    def run(host: str, port: int, threads: int, workers: int) -> None:
        """Web server and scheduler together; SIGTERM or Ctrl-C stops both."""
        ctx = ctx_of()
        if workers > 1:
            configure_logging()
            scheduler_process = serving.start_scheduler_process()
            try:
                serving.serve_forked(ctx.config, host, port, workers, threads)
            finally:
                serving.stop_process(scheduler_process)
            return
        stop = threading.Event()
        scheduler = threading.Thread(target=run_scheduler, args=(ctx, stop), name="kim-scheduler", daemon=True)
        configure_logging()
        scheduler.start()
        logging.getLogger(__name__).info("scheduler started beside the web server")
        try:
            _serve_until_signal(ctx, host, port, threads, stop)
        finally:
            stop.set()
            scheduler.join(10)


def main(argv: Sequence[str] | None = None) -> int:
    return engine_main(argv, extend=extend)


if __name__ == "__main__":
    raise SystemExit(main())
