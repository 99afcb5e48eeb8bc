"""``kim retention run|hold|release|holds`` and ``kim person export``, and the scheduler's daily job."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import clock
from engine.cli import EXIT_BAD_INPUT, main
from engine.config import ConfigError, load_config
from engine.persistence.models import AuditEntry, CaseFile, Office
from engine.scheduling import scheduler as scheduler_module
from engine.scheduling.scheduler import Scheduler
from engine.services.context import EngineContext
from engine.services.wiring import create_context
from tests.conftest import deploy_files
from tests.integration.retention_support import PERSON, add_admin, berlin, closed_case


@pytest.fixture
def cli_ctx(ctx: EngineContext) -> Iterator[EngineContext]:
    deploy_files(ctx, "beratung.bpmn")
    add_admin(ctx)
    yield ctx
    clock.reset()


def _kim(ctx: EngineContext, *argv: str) -> int:
    url = ctx.config["KIM_DATABASE_URL"]
    return main(list(argv), context_factory=lambda: create_context({"KIM_DATABASE_URL": url}))


def _reference(ctx: EngineContext, family_name: str) -> str:
    with ctx.uow(write=False) as uow:
        found = uow.session.scalar(select(CaseFile.reference).where(CaseFile.family_name == family_name))
    assert found is not None
    return found


def _names(ctx: EngineContext) -> list[str]:
    with ctx.uow(write=False) as uow:
        return sorted(uow.session.scalars(select(CaseFile.family_name)))


def test_dry_run_hold_run_and_release(cli_ctx: EngineContext, capsys: pytest.CaptureFixture[str]) -> None:
    ctx = cli_ctx
    closed_case(ctx, "2025-03-01")
    closed_case(ctx, "2025-04-01", person={"given_name": "Sara", "family_name": "Ahmadi"})
    rahimi, ahmadi = _reference(ctx, "Rahimi"), _reference(ctx, "Ahmadi")
    clock.freeze(berlin("2028-12-31T23:00:00"))  # the cases closed in 2025: due on 2029-01-01
    assert _kim(ctx, "retention", "run", "--dry-run") == 0
    assert "0 cases would be deleted" in capsys.readouterr().out

    clock.freeze(berlin("2029-01-01T00:30:00"))
    assert _kim(ctx, "retention", "run", "--dry-run") == 0
    out = capsys.readouterr().out
    assert f"{rahimi}\tclosed 2025\twould be deleted" in out
    assert "nothing changed" in out
    assert _names(ctx) == ["Ahmadi", "Rahimi"]

    assert _kim(ctx, "retention", "hold", rahimi, "--reason", "Klage anhängig", "--admin", "carla") == EXIT_BAD_INPUT
    assert "not an active admin" in capsys.readouterr().err
    assert _kim(ctx, "retention", "hold", rahimi, "--reason", "Klage anhängig", "--admin", "ada") == 0
    assert _kim(ctx, "retention", "holds", "--admin", "ada") == 0
    assert f"{rahimi}\tKlage anhängig\tada" in capsys.readouterr().out

    assert _kim(ctx, "retention", "run") == 0
    out = capsys.readouterr().out
    assert f"{rahimi}\tskipped (Sperrvermerk: Klage anhängig)" in out
    assert f"{ahmadi}\tclosed 2025\tdeleted" in out
    assert _names(ctx) == ["", "Rahimi"]

    assert _kim(ctx, "retention", "release", rahimi, "--reason", "Klage erledigt", "--admin", "ada") == 0
    assert _kim(ctx, "retention", "run") == 0
    assert "1 cases deleted, 0 skipped" in capsys.readouterr().out
    assert _names(ctx) == ["", ""]


def test_person_export_to_a_file(cli_ctx: EngineContext, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ctx = cli_ctx
    closed_case(ctx, "2025-03-01")
    target = tmp_path / "auskunft.json"
    assert _kim(ctx, "person", "export", _reference(ctx, "Rahimi"), "--admin", "ada", "--output", str(target)) == 0
    assert "1 cases exported" in capsys.readouterr().out
    export = json.loads(target.read_text(encoding="utf-8"))
    assert export["subject"]["date_of_birth"] == PERSON["date_of_birth"]
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    assert _kim(ctx, "person", "export", "KIM-1999-00001", "--admin", "ada") == EXIT_BAD_INPUT


def test_the_scheduler_runs_retention_once_a_day(cli_ctx: EngineContext) -> None:
    ctx = cli_ctx
    closed_case(ctx, "2025-03-01")
    clock.freeze(berlin("2029-01-02T02:00:00"))
    scheduler = Scheduler(ctx)
    scheduler._cycle(threading.Event())
    assert _names(ctx) == [""]
    closed_case(ctx, "2025-05-01", person={"given_name": "Sara", "family_name": "Ahmadi"})
    clock.freeze(berlin("2029-01-02T12:00:00"))
    scheduler._cycle(threading.Event())
    assert _names(ctx) == ["", "Ahmadi"], "a second run on the same day"
    clock.advance(timedelta(days=1))
    scheduler._cycle(threading.Event())
    assert _names(ctx) == ["", ""]
    with ctx.uow(write=False) as uow:
        runs = list(uow.session.scalars(select(AuditEntry).where(AuditEntry.action == "retention.run")))
    assert [(r.actor, r.details["deleted"]) for r in runs] == [("system", 1), ("system", 1)]


def test_the_scheduler_deletes_in_batches_and_goes_on_at_once(cli_ctx: EngineContext,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = cli_ctx
    monkeypatch.setattr(scheduler_module, "RETENTION_BATCH", 1)
    closed_case(ctx, "2025-03-01")
    closed_case(ctx, "2025-05-01", person={"given_name": "Sara", "family_name": "Ahmadi"})
    clock.freeze(berlin("2029-01-02T02:00:00"))
    scheduler = Scheduler(ctx)
    until = scheduler._cycle(threading.Event())
    assert sorted(_names(ctx)) == ["", "Ahmadi"]
    assert until <= clock.now() + timedelta(seconds=1), "the rest is due at once, not tomorrow"
    scheduler._cycle(threading.Event())
    assert _names(ctx) == ["", ""]


@pytest.mark.parametrize("years", ["abc", "0", "-1"])
def test_kim_refuses_to_start_with_bad_retention_years(cli_ctx: EngineContext, capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch, years: str) -> None:
    """Checked where the configuration is read: any command stops before it does anything, not
    only the retention run."""
    monkeypatch.setenv("KIM_RETENTION_YEARS", years)
    assert _kim(cli_ctx, "offices", "add", "XY", "Testamt") == EXIT_BAD_INPUT
    error = capsys.readouterr().err
    assert error.startswith("error: KIM_RETENTION_YEARS must be")
    assert repr(years) in error
    with cli_ctx.uow(write=False) as uow:
        assert uow.session.scalar(select(Office).where(Office.code == "XY")) is None
    with pytest.raises(ConfigError, match="KIM_RETENTION_YEARS"):
        load_config()
    monkeypatch.setenv("KIM_RETENTION_YEARS", " 7 ")
    assert load_config()["KIM_RETENTION_YEARS"] == 7
