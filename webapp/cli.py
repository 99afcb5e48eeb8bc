"""``flask --app webapp <command>`` runs the same commands as the ``kim`` console script."""

from __future__ import annotations

import argparse

import click
from flask import Flask

from engine.cli import build_parser
from webapp.commands import extend, main


def _command_names() -> list[str]:
    for action in build_parser(extend)._actions:
        if isinstance(action, argparse._SubParsersAction):
            return list(action.choices)
    return []


_COMMANDS = _command_names()


def register_cli(app: Flask) -> None:
    for name in _COMMANDS:
        def run(args: tuple[str, ...], name: str = name) -> None:
            raise SystemExit(main([name, *args]))

        command = click.command(name, context_settings={"ignore_unknown_options": True, "help_option_names": []})(
            click.argument("args", nargs=-1, type=click.UNPROCESSED)(run))
        app.cli.add_command(command)
