"""The ``kim`` command line (INTERFACES.md section 3).

Every command prints a one-line error and exits non-zero on bad input; tracebacks are for
bugs only.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from engine.domain.actors import SYSTEM
from engine.domain.errors import EngineError, ModelInvalid
from engine.persistence.migrate import upgrade
from engine.scheduling.scheduler import add_arguments as add_scheduler_arguments
from engine.scheduling.scheduler import scheduler_command
from engine.services.admin import directory
from engine.services.context import EngineContext
from engine.services.process_models import deployment
from engine.services.timers.firing import fire_due_timers
from engine.services.wiring import create_context

EXIT_BAD_INPUT = 2
EXIT_INVALID_MODEL = 3


def _init_db(ctx: EngineContext, _args: argparse.Namespace) -> int:
    upgrade(ctx.db.write)
    added = directory.seed_offices(ctx.uow())
    print(f"database ready ({ctx.db.write.url.render_as_string(hide_password=True)}); {added} offices added")
    return 0


def _deploy(ctx: EngineContext, args: argparse.Namespace) -> int:
    paths = [Path(p) for p in (args.paths or ["processes"])]
    sources = deployment.read_model_paths(paths)
    deployed = deployment.deploy(ctx.uow(), sources, SYSTEM)
    for d in deployed:
        note = "" if d.changed else " (unchanged)"
        print(f"{d.kind} {d.key} version {d.version}{note}")
    return 0


def _offices_add(ctx: EngineContext, args: argparse.Namespace) -> int:
    office = directory.add_office(ctx.uow(), args.code, args.name)
    print(f"office {office.code} added")
    return 0


def _users_add(ctx: EngineContext, args: argparse.Namespace) -> int:
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else None
    user = directory.add_user(ctx.uow(), args.username, args.role, args.office or [], password=password)
    print(f"user {user.username} added")
    return 0


def _users_token(ctx: EngineContext, args: argparse.Namespace) -> int:
    print(directory.create_token(ctx.uow(), args.username))
    return 0


def _demo(ctx: EngineContext, args: argparse.Namespace) -> int:
    from engine.demo.seed import seed_demo

    for line in seed_demo(ctx, cases=args.cases).lines():
        print(line)
    return 0


def _timers_run_due(ctx: EngineContext, _args: argparse.Namespace) -> int:
    total = 0
    while True:
        report = fire_due_timers(ctx)
        total += report.total + report.reminders  # deadline warnings count as fired timers too
        if report.instances == 0:
            break
    print(f"{total} timers fired")
    return 0


def _notifications_send_due(ctx: EngineContext, _args: argparse.Namespace) -> int:
    """Write today's digest if its time has come, then send every due notification mail once."""
    from engine.services.notifications import digest, mail

    written = digest.send_digests(ctx)
    report = mail.send_all_due(ctx)
    print(f"{written} digests written, {report.sent} mails sent, {report.retried} to retry later, "
          f"{report.failed} given up")
    return 0


class _OneLineParser(argparse.ArgumentParser):
    """Usage mistakes end with one line on stderr, like every other error of the CLI."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"error: {message} (see '{self.prog} --help')\n")


Extension = Callable[["argparse._SubParsersAction[_OneLineParser]"], None]


def build_parser(extend: Extension | None = None) -> argparse.ArgumentParser:
    """The engine's commands; ``extend`` adds more (the web app adds ``serve`` and ``run``)."""
    parser = _OneLineParser(prog="kim", description="KIM Casework")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_OneLineParser)
    sub.add_parser("init-db", help="create or upgrade the schema").set_defaults(func=_init_db)
    p = sub.add_parser("deploy", help="validate and deploy BPMN/DMN files or folders")
    p.add_argument("paths", nargs="*")
    p.set_defaults(func=_deploy)
    offices = sub.add_parser("offices").add_subparsers(dest="action", required=True)
    p = offices.add_parser("add")
    p.add_argument("code")
    p.add_argument("name")
    p.set_defaults(func=_offices_add)
    users = sub.add_parser("users").add_subparsers(dest="action", required=True)
    p = users.add_parser("add")
    p.add_argument("username")
    p.add_argument("--role", required=True)
    p.add_argument("--office", action="append")
    p.add_argument("--password-stdin", action="store_true")
    p.set_defaults(func=_users_add)
    p = users.add_parser("token")
    p.add_argument("username")
    p.set_defaults(func=_users_token)
    timers = sub.add_parser("timers").add_subparsers(dest="action", required=True)
    timers.add_parser("run-due", help="fire every due timer once and exit").set_defaults(func=_timers_run_due)
    notices = sub.add_parser("notifications").add_subparsers(dest="action", required=True)
    notices.add_parser("send-due", help="send due notification mails (and today's digest) once and exit") \
        .set_defaults(func=_notifications_send_due)
    p = sub.add_parser("demo", help="seed a demo municipality with users and cases (once)")
    p.add_argument("--cases", type=int, default=100, help="number of demo cases (default 100)")
    p.set_defaults(func=_demo)
    p = sub.add_parser("scheduler", help="fire timers continuously (one or more per installation)")
    add_scheduler_arguments(p)
    p.set_defaults(func=scheduler_command)
    if extend is not None:
        extend(sub)
    return parser


def main(argv: Sequence[str] | None = None, context_factory: Callable[[], EngineContext] = create_context,
         extend: Extension | None = None) -> int:
    args = build_parser(extend).parse_args(argv)
    ctx = context_factory()
    try:
        code: int = args.func(ctx, args)
        return code
    except ModelInvalid as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return EXIT_INVALID_MODEL
    except (EngineError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    finally:
        ctx.db.dispose()


if __name__ == "__main__":
    raise SystemExit(main())
