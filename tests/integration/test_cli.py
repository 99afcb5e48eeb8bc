"""The ``kim`` command line: one-line errors and non-zero exits on bad input."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from engine import clock
from engine.cli import EXIT_BAD_INPUT, EXIT_INVALID_MODEL, main
from engine.services.context import EngineContext
from engine.services.wiring import create_context
from tests.conftest import DATA


def _kim(ctx: EngineContext, *argv: str) -> int:
    url = ctx.config["KIM_DATABASE_URL"]
    return main(list(argv), context_factory=lambda: create_context({"KIM_DATABASE_URL": url}))


def test_init_db_is_idempotent_and_seeds_offices(ctx: EngineContext, capsys: pytest.CaptureFixture[str]) -> None:
    assert _kim(ctx, "init-db") == 0
    assert "0 offices added" in capsys.readouterr().out  # the fixture seeded them already


def test_deploy_prints_process_and_version(ctx: EngineContext, capsys: pytest.CaptureFixture[str]) -> None:
    assert _kim(ctx, "deploy", str(DATA / "routing.bpmn")) == 0
    assert capsys.readouterr().out.strip() == "process routing version 1"
    assert _kim(ctx, "deploy", str(DATA / "routing.bpmn")) == 0
    assert "version 1 (unchanged)" in capsys.readouterr().out


def test_deploy_of_an_unsafe_model_names_the_element(ctx: EngineContext,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert _kim(ctx, "deploy", str(DATA / "bad_escape.bpmn")) == EXIT_INVALID_MODEL
    err = capsys.readouterr().err.strip().splitlines()
    assert err
    assert all(line.startswith("error: ") for line in err)
    assert "element 'script'" in err[0]


def test_deploy_of_a_missing_path_fails_in_one_line(ctx: EngineContext, capsys: pytest.CaptureFixture[str]) -> None:
    assert _kim(ctx, "deploy", "/nonexistent/model.bpmn") == EXIT_BAD_INPUT
    assert capsys.readouterr().err.strip() == "error: no such file or folder: /nonexistent/model.bpmn"


def test_offices_and_users(ctx: EngineContext, capsys: pytest.CaptureFixture[str],
                           monkeypatch: pytest.MonkeyPatch) -> None:
    assert _kim(ctx, "offices", "add", "STA", "Standesamt") == 0
    assert _kim(ctx, "offices", "add", "sta", "Standesamt") == EXIT_BAD_INPUT  # exists already
    assert _kim(ctx, "offices", "add", "bad code!", "x") == EXIT_BAD_INPUT
    monkeypatch.setattr(sys, "stdin", io.StringIO("ein-langes-passwort\n"))
    assert _kim(ctx, "users", "add", "anna", "--role", "caseworker", "--office", "CM", "--office", "STA",
                "--password-stdin") == 0
    assert _kim(ctx, "users", "add", "bert", "--role", "king", "--office", "CM") == EXIT_BAD_INPUT
    assert _kim(ctx, "users", "add", "bert", "--role", "caseworker", "--office", "XYZ") == EXIT_BAD_INPUT
    capsys.readouterr()
    assert _kim(ctx, "users", "token", "anna") == 0
    token = capsys.readouterr().out.strip()
    assert token.startswith("kim_")
    assert len(token) > 40
    assert _kim(ctx, "users", "token", "nobody") == EXIT_BAD_INPUT
    errors = capsys.readouterr().err.strip().splitlines()
    assert errors == ["error: no user 'nobody'"]


def test_timers_run_due_fires_and_counts(ctx: EngineContext, capsys: pytest.CaptureFixture[str]) -> None:
    from engine.domain.actors import SYSTEM
    from engine.services.casework.instances import start_instance
    from tests.conftest import deploy_files

    clock.freeze(datetime.fromisoformat("2026-11-20T09:00:00+01:00"))
    try:
        deploy_files(ctx, "timers.bpmn")
        ctx.run(start_instance, "timer_interrupting", {}, SYSTEM)
        ctx.run(start_instance, "timer_noninterrupting", {}, SYSTEM)
        clock.freeze(datetime.fromisoformat("2026-12-05T09:00:00+01:00"))
        assert _kim(ctx, "timers", "run-due") == 0
        assert capsys.readouterr().out.strip() == "2 timers fired"
        assert _kim(ctx, "timers", "run-due") == 0
        assert capsys.readouterr().out.strip() == "0 timers fired"
    finally:
        clock.reset()


def test_console_script_runs_against_a_fresh_database(tmp_path: Path) -> None:
    kim = shutil.which("kim", path=str(Path(sys.executable).parent))
    assert kim, "the kim console script is installed with the package"
    env = {**os.environ, "KIM_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}"}
    first = subprocess.run([kim, "init-db"], env=env, capture_output=True, text=True, check=False)
    assert first.returncode == 0, first.stderr
    assert "10 offices added" in first.stdout
    deployed = subprocess.run([kim, "deploy", str(DATA / "counselling_loop.bpmn")], env=env,
                              capture_output=True, text=True, check=False)
    assert deployed.returncode == 0, deployed.stderr
    assert deployed.stdout.strip() == "process counselling_loop version 1"
    bad = subprocess.run([kim, "users", "add", "x"], env=env, capture_output=True, text=True, check=False)
    assert bad.returncode == EXIT_BAD_INPUT
    assert len(bad.stderr.strip().splitlines()) == 1
    assert "--role" in bad.stderr


def test_demo_command_seeds_once_and_prints_the_logins(tmp_path: Path) -> None:
    kim = shutil.which("kim", path=str(Path(sys.executable).parent))
    assert kim
    env = {**os.environ, "KIM_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}"}
    subprocess.run([kim, "init-db"], env=env, check=True, capture_output=True)
    subprocess.run([kim, "deploy", str(Path(__file__).resolve().parents[2] / "processes")], env=env, check=True,
                   capture_output=True)
    first = subprocess.run([kim, "demo", "--cases", "4"], env=env, capture_output=True, text=True, check=False)
    assert first.returncode == 0, first.stderr
    assert "kim-demo-2026" in first.stdout
    assert "cm1" in first.stdout
    again = subprocess.run([kim, "demo", "--cases", "4"], env=env, capture_output=True, text=True, check=False)
    assert again.returncode == 0
    assert "nothing added" in again.stdout
