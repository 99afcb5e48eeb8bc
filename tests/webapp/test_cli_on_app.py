"""The commands registered on the Flask app act on that app's configuration, not the environment's."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from webapp import create_app


def _tables(path: Path) -> set[str]:
    engine = create_engine(f"sqlite:///{path}")
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_init_db_on_an_app_acts_on_the_apps_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    environment_db, app_db = tmp_path / "environment.sqlite3", tmp_path / "app.sqlite3"
    monkeypatch.setenv("KIM_DATABASE_URL", f"sqlite:///{environment_db}")
    app = create_app({"KIM_DATABASE_URL": f"sqlite:///{app_db}", "KIM_INSTANCE_PATH": str(tmp_path / "instance")})
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    assert "10 offices added" in result.output
    assert "office" in _tables(app_db)
    assert "office" not in (_tables(environment_db) if environment_db.exists() else set())
    engine = create_engine(f"sqlite:///{app_db}")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM office")).scalar() == 10
    engine.dispose()


def test_bad_input_on_the_app_cli_is_one_line_and_exit_2(tmp_path: Path) -> None:
    app = create_app({"KIM_DATABASE_URL": f"sqlite:///{tmp_path / 'app.sqlite3'}",
                      "KIM_INSTANCE_PATH": str(tmp_path / "instance")})
    runner = app.test_cli_runner()
    assert runner.invoke(args=["init-db"]).exit_code == 0
    result = runner.invoke(args=["users", "token", "nobody"])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == ["error: no user 'nobody'"]
