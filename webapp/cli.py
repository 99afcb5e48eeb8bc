"""``flask --app webapp <command>``: the ``kim`` commands, acting on this app's configuration.

The commands are the engine's click commands (engine.cli), given the app's own engine context,
so ``create_app({"KIM_DATABASE_URL": X}).test_cli_runner().invoke(args=["init-db"])`` acts on X.
"""

from __future__ import annotations

from flask import Flask, current_app
from flask.cli import AppGroup

from engine.cli import build_cli
from engine.services.context import EngineContext
from webapp.commands import extend


def _app_context() -> EngineContext:
    ctx: EngineContext = current_app.extensions["kim"]
    return ctx


def register_cli(app: Flask) -> None:
    commands = build_cli(_app_context, group_class=AppGroup)
    extend(commands, _app_context)
    for command in commands.commands.values():
        app.cli.add_command(command)
