"""``kim retention ...`` and ``kim person export``: deletion runs, legal holds, a person's data.

Entry points like the rest of :mod:`engine.cli`. Holds and exports act in the name of an admin
(``--admin NAME``, an active user with the admin role), so the audit trail names a person, not
"system"; the deletion run acts as the system, as the scheduler's daily job does.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import click
from sqlalchemy import select

from engine.domain.actors import Actor
from engine.domain.errors import NotAllowed
from engine.persistence.models import User
from engine.services.admin import directory
from engine.services.context import EngineContext, UnitOfWork
from engine.services.retention import legal_hold, person_export, runs

ContextSource = Callable[[], EngineContext]


def admin_actor(uow: UnitOfWork, username: str) -> Actor:
    user = uow.session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if user is None or user.role != "admin":
        raise NotAllowed(f"'{username}' is not an active admin")
    return directory.actor_for(user)


def retention_commands(cli: click.Group, ctx_of: ContextSource, guarded: Callable[[Callable[..., None]],
                                                                                   Callable[..., None]]) -> None:
    @cli.group("retention", help="deletion of case content after the retention period, legal holds")
    def retention() -> None:
        pass

    @retention.command("run", help="delete the content of closed cases past their retention period")
    @click.option("--dry-run", is_flag=True, help="only list what would be deleted; change nothing")
    @guarded
    def retention_run(dry_run: bool) -> None:
        report = runs.run_retention(ctx_of(), dry_run=dry_run)
        click.echo(f"rule: {report.rule}; closed before {report.closed_before.date().isoformat()}")
        for due in report.due:
            if dry_run:
                verdict = f"skipped ({due.skip_reason})" if due.skip_reason else "would be deleted"
                click.echo(f"{due.reference}\tclosed {due.closure_year}\t{verdict}")
        for deleted in report.deleted:
            click.echo(f"{deleted['reference']}\tclosed {deleted['closure_year']}\tdeleted {deleted['counts']}")
        for skipped in report.skipped:
            click.echo(f"{skipped['reference']}\tskipped ({skipped['reason']})")
        for failed in report.failed:
            click.echo(f"{failed['reference']}\tFAILED ({failed['error']}); tried again next run", err=True)
        if dry_run:
            would = sum(1 for d in report.due if d.skip_reason is None)
            click.echo(f"dry run: {would} cases would be deleted, {len(report.due) - would} skipped, "
                       f"{report.name_searches} name searches in the audit trail would be redacted; nothing changed")
        else:
            click.echo(f"{len(report.deleted)} cases deleted, {len(report.skipped)} skipped, "
                       f"{len(report.failed)} failed, {report.name_searches} name searches redacted")
        if report.failed:
            raise click.exceptions.Exit(1)

    @retention.command("hold", help="keep a case's content (lawsuit, hardship petition): legal hold with a reason")
    @click.argument("case")
    @click.option("--reason", required=True)
    @click.option("--admin", "admin", required=True, help="the admin setting the hold (named in the audit trail)")
    @guarded
    def retention_hold(case: str, reason: str, admin: str) -> None:
        ctx = ctx_of()
        view = ctx.run(lambda uow: legal_hold.set_legal_hold(uow, admin_actor(uow, admin), case, reason))
        click.echo(f"legal hold on {view.reference}: {view.reason}")

    @retention.command("release", help="clear a case's legal hold")
    @click.argument("case")
    @click.option("--reason", default=None)
    @click.option("--admin", "admin", required=True)
    @guarded
    def retention_release(case: str, reason: str | None, admin: str) -> None:
        ctx = ctx_of()
        view = ctx.run(lambda uow: legal_hold.clear_legal_hold(uow, admin_actor(uow, admin), case, reason))
        click.echo(f"legal hold on {view.reference} cleared")

    @retention.command("holds", help="list the cases under legal hold")
    @click.option("--admin", "admin", required=True)
    @guarded
    def retention_holds(admin: str) -> None:
        ctx = ctx_of()
        for view in ctx.run(lambda uow: legal_hold.list_legal_holds(uow, admin_actor(uow, admin))):
            since = view.set_at.isoformat() if view.set_at else ""
            click.echo(f"{view.reference}\t{view.reason}\t{view.set_by}\t{since}")

    @cli.group("person", help="a person's data (GDPR)")
    def person() -> None:
        pass

    @person.command("export", help="everything held about the person of a case, as JSON (GDPR Art. 15)")
    @click.argument("case")
    @click.option("--admin", "admin", required=True, help="the admin answering the request (audited)")
    @click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
                  help="write to this file (default: standard output)")
    @guarded
    def person_export_command(case: str, admin: str, output: Path | None) -> None:
        ctx = ctx_of()
        export = ctx.run(lambda uow: person_export.export_person(uow, admin_actor(uow, admin), case))
        text = json.dumps(export, ensure_ascii=False, indent=2, default=str)
        if output is None:
            sys.stdout.write(text + "\n")
        else:
            output.write_text(text + "\n", encoding="utf-8")
            output.chmod(0o600)
            click.echo(f"{len(export['cases'])} cases exported to {output}")
