"""The ``kim`` command line (INTERFACES.md section 3), as click commands.

The same commands serve the ``kim`` console script (:func:`main`, on the configuration from
the environment) and ``flask --app webapp <command>`` (registered on the app by
``webapp.cli``, on that app's configuration). Each command is an entry point: it opens one
unit of work per use case (``ctx.run``) and commits it.

Every command prints a one-line error and exits non-zero on bad input (2; 3 for a refused
model, followed by one line per problem naming the element); tracebacks are for bugs only.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from engine.cli_retention import retention_commands
from engine.domain.actors import SYSTEM
from engine.domain.errors import EngineError, ModelInvalid
from engine.persistence.migrate import upgrade
from engine.scheduling.scheduler import DEFAULT_BATCH_LIMIT, scheduler_command
from engine.services.admin import accounts, directory, tokens
from engine.services.context import EngineContext
from engine.services.notifications import digest, mail
from engine.services.process_models import deployment
from engine.services.timers.firing import fire_due_timers
from engine.services.wiring import create_context

EXIT_BAD_INPUT = 2
EXIT_INVALID_MODEL = 3

ContextSource = Callable[[], EngineContext]
F = TypeVar("F", bound=Callable[..., Any])


class LazyContext:
    """The console script's engine context: made on first use, disposed when the command ends."""

    def __init__(self, factory: ContextSource) -> None:
        self._factory = factory
        self._ctx: EngineContext | None = None

    def __call__(self) -> EngineContext:
        if self._ctx is None:
            self._ctx = self._factory()
        return self._ctx

    def close(self) -> None:
        if self._ctx is not None:
            self._ctx.db.dispose()
            self._ctx = None


def guarded(command: F) -> F:
    """Engine errors become one line on stderr and an exit code (2, or 3 for a refused model)."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ModelInvalid as exc:
            for problem in exc.problems:
                click.echo(f"error: {problem}", err=True)
            raise click.exceptions.Exit(EXIT_INVALID_MODEL) from exc
        except (EngineError, ValueError) as exc:
            click.echo(f"error: {exc}", err=True)
            raise click.exceptions.Exit(EXIT_BAD_INPUT) from exc

    return run  # type: ignore[return-value]  # same signature as the wrapped command


def build_cli(ctx_of: ContextSource, group_class: type[click.Group] = click.Group) -> click.Group:
    """The engine's commands, each taking its engine context from ``ctx_of``."""
    cli = group_class("kim", help="KIM Casework")
    _admin_commands(cli, ctx_of)
    _model_commands(cli, ctx_of)
    _run_commands(cli, ctx_of)
    retention_commands(cli, ctx_of, guarded)
    return cli


def _admin_commands(cli: click.Group, ctx_of: ContextSource) -> None:
    @cli.command("init-db", help="create or upgrade the schema, seed the offices")
    @guarded
    def init_db() -> None:
        ctx = ctx_of()
        upgrade(ctx.db.write)
        added = ctx.run(directory.seed_offices)
        click.echo(f"database ready ({ctx.db.write.url.render_as_string(hide_password=True)}); "
                   f"{added} offices added")

    @cli.group("offices", help="offices (routing targets of tasks)")
    def offices() -> None:
        pass

    @offices.command("add")
    @click.argument("code")
    @click.argument("name")
    @guarded
    def offices_add(code: str, name: str) -> None:
        office = ctx_of().run(directory.add_office, code, name)
        click.echo(f"office {office.code} added")

    @cli.group("users", help="people, their roles and personal API tokens")
    def users() -> None:
        pass

    @users.command("add")
    @click.argument("username")
    @click.option("--role", required=True)
    @click.option("--office", "offices", multiple=True)
    @click.option("--password-stdin", is_flag=True, help="read the password from the first line of stdin")
    @guarded
    def users_add(username: str, role: str, offices: tuple[str, ...], password_stdin: bool) -> None:
        password = sys.stdin.readline().rstrip("\n") if password_stdin else None
        user = ctx_of().run(directory.add_user, username, role, list(offices), password=password)
        click.echo(f"user {user.username} added")

    @users.command("token", help="print a new personal API token (shown once, stored hashed); "
                                 "--list shows the user's tokens")
    @click.argument("username")
    @click.option("--list", "list_them", is_flag=True, help="list the tokens (id, created, last used, expiry, state)")
    @guarded
    def users_token(username: str, list_them: bool) -> None:
        if not list_them:
            click.echo(ctx_of().run(directory.create_token, username))
            return
        found = ctx_of().run(tokens.list_tokens, SYSTEM, username)
        click.echo("id\tcreated\tlast used\texpires\tstate")
        for t in found:
            click.echo(f"{t.id}\t{_when(t.created_at)}\t{_when(t.last_used_at)}\t{_when(t.expires_at)}\t{t.state}")

    @users.command("revoke-token", help="revoke a token by its id (from 'kim users token NAME --list')")
    @click.argument("token_id", type=click.IntRange(min=1))
    @guarded
    def users_revoke_token(token_id: int) -> None:
        revoked = ctx_of().run(tokens.revoke_token, SYSTEM, token_id)
        click.echo(f"token {revoked.id} of {revoked.username} revoked")

    for name, use_case, help_text in (
            ("disable", accounts.disable_user, "disable an account: its sessions and tokens stop at once"),
            ("enable", accounts.enable_user, "enable a disabled account again")):
        _account_command(users, ctx_of, name, use_case, help_text)


def _account_command(users: click.Group, ctx_of: ContextSource, name: str,
                     use_case: Callable[..., accounts.AccountView], help_text: str) -> None:
    @users.command(name, help=help_text)
    @click.argument("username")
    @guarded
    def change(username: str) -> None:
        account = ctx_of().run(use_case, SYSTEM, username)
        click.echo(f"user {account.username} {name}d")


def _when(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value is not None else "-"


def _model_commands(cli: click.Group, ctx_of: ContextSource) -> None:
    @cli.command("deploy", help="validate and deploy BPMN/DMN files or folders (default processes/)")
    @click.argument("paths", nargs=-1)
    @guarded
    def deploy(paths: tuple[str, ...]) -> None:
        sources = deployment.read_model_paths([Path(p) for p in (paths or ("processes",))])
        for d in ctx_of().run(deployment.deploy, sources, SYSTEM):
            click.echo(f"{d.kind} {d.key} version {d.version}{'' if d.changed else ' (unchanged)'}")

    @cli.command("demo", help="seed a demo municipality with users and cases (once)")
    @click.option("--cases", type=int, default=100, show_default=True, help="number of demo cases")
    @guarded
    def demo(cases: int) -> None:
        from engine.demo.seed import seed_demo

        for line in seed_demo(ctx_of(), cases=cases).lines():
            click.echo(line)


def _run_commands(cli: click.Group, ctx_of: ContextSource) -> None:
    @cli.group("timers", help="BPMN timers, reminders and escalations")
    def timers() -> None:
        pass

    @timers.command("run-due", help="fire every due timer once and exit")
    @guarded
    def timers_run_due() -> None:
        ctx, total = ctx_of(), 0
        while True:
            report = fire_due_timers(ctx)
            total += report.total + report.reminders  # deadline warnings count as fired timers too
            if report.instances == 0:
                break
        click.echo(f"{total} timers fired")

    @cli.group("notifications", help="the notification outbox")
    def notifications() -> None:
        pass

    @notifications.command("send-due", help="send due notification mails (and today's digest) once and exit")
    @guarded
    def notifications_send_due() -> None:
        ctx = ctx_of()
        written = digest.send_digests(ctx)
        expired = 0
        while (batch := mail.expire_stale_mails(ctx)) > 0:  # too old to send (KIM_MAIL_MAX_AGE_DAYS)
            expired += batch
        report = mail.send_all_due(ctx)
        click.echo(f"{written} digests written, {report.sent} mails sent, {report.retried} to retry later, "
                   f"{report.failed + expired} given up")

    @cli.command("scheduler", help="fire timers continuously (one or more per installation)")
    @click.option("--batch-limit", type=click.IntRange(min=1), default=DEFAULT_BATCH_LIMIT, show_default=True,
                  help="instances fired per batch")
    @guarded
    def scheduler(batch_limit: int) -> None:
        scheduler_command(ctx_of(), batch_limit)


Extension = Callable[[click.Group, ContextSource], None]


def main(argv: Sequence[str] | None = None, context_factory: ContextSource = create_context,
         extend: Extension | None = None) -> int:
    """The ``kim`` console script; returns the exit code."""
    source = LazyContext(context_factory)
    cli = build_cli(source)
    if extend is not None:
        extend(cli, source)
    try:
        result = cli.main(args=list(sys.argv[1:] if argv is None else argv), prog_name="kim", standalone_mode=False)
        return result if isinstance(result, int) else 0
    except click.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx is not None else "kim"
        click.echo(f"error: {exc.format_message()} (see '{where} --help')", err=True)
        return EXIT_BAD_INPUT
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.Abort:
        return 1
    finally:
        source.close()


if __name__ == "__main__":
    raise SystemExit(main())
