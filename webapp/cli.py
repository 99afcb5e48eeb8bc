"""``flask --app webapp <command>`` runs the same commands as the ``kim`` console script."""

from __future__ import annotations

import click
from flask import Flask

from engine.cli import build_parser, main

_COMMANDS = [action for action in build_parser()._subparsers._group_actions[0].choices]  # type: ignore[union-attr]


def register_cli(app: Flask) -> None:
    for name in _COMMANDS:
        def run(args: tuple[str, ...], name: str = name) -> None:
            raise SystemExit(main([name, *args]))

        command = click.command(name, context_settings={"ignore_unknown_options": True, "help_option_names": []})(
            click.argument("args", nargs=-1, type=click.UNPROCESSED)(run))
        app.cli.add_command(command)
