"""JSON replies written by orjson, with the web layer's rules for records (webapp.core.serialize).

An inbox page is a hundred task records; turning them into dictionaries of strings first and
then encoding those with the standard library took a millisecond and a quarter per page, more
than PostgreSQL spends on finding them. orjson writes UUIDs, dates and enums itself, exactly as
:func:`webapp.core.serialize.to_json` spells them (ISO 8601, the UUID's text, the enum's value),
and asks :func:`_record` only for what it does not know: records (their shown fields) and sets.
So ``jsonify(record)`` and ``jsonify(to_json(record))`` send the same JSON.

Requests are still read by the standard library: orjson would turn a whole number beyond 64 bits
into an inexact float, and a form's value must arrive as it was sent.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson
from flask import Flask
from flask.json.provider import DefaultJSONProvider
from werkzeug.sansio.response import Response

from webapp.core.serialize import shown_values, to_json

_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATACLASS


def encode(value: Any, *, indent: bool = False, sort_keys: bool = False) -> bytes:
    """``value`` as UTF-8 JSON; what orjson cannot write (a whole number beyond 64 bits) goes
    through the standard library instead, with the same result."""
    options = _OPTIONS | (orjson.OPT_INDENT_2 if indent else 0) | (orjson.OPT_SORT_KEYS if sort_keys else 0)
    try:
        return orjson.dumps(value, default=_record, option=options)
    except orjson.JSONEncodeError as error:
        if error.__cause__ is not None:
            raise TypeError(str(error)) from error  # a value of no JSON form: as json.dumps would say
        # beyond orjson's range (64-bit numbers, nesting deeper than 254, text with lone surrogates)
        return json.dumps(to_json(value), indent=2 if indent else None, sort_keys=sort_keys,
                          separators=None if indent else (",", ":")).encode()


def _record(value: Any) -> Any:
    """What orjson asks about: records, sets and the subclasses of dates and UUIDs it leaves to us."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return shown_values(value)
    if isinstance(value, set | frozenset | tuple | list):
        return list(value)
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, UUID | Decimal):
        return str(value)
    if hasattr(value, "__html__"):
        return str(value.__html__())
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


class OrjsonProvider(DefaultJSONProvider):
    """Flask's JSON provider with orjson for what the app sends (replies and the ``tojson``
    filter); reading stays the standard library's (see the module docstring)."""

    sort_keys = False  # replies keep their fields in the order the records declare them

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        indent, sort_keys = kwargs.pop("indent", None), kwargs.pop("sort_keys", self.sort_keys)
        if kwargs:  # options only the standard library knows
            return json.dumps(to_json(obj), indent=indent, sort_keys=sort_keys, **kwargs)
        return encode(obj, indent=bool(indent), sort_keys=bool(sort_keys)).decode()

    def response(self, *args: Any, **kwargs: Any) -> Response:
        obj = self._prepare_response_obj(args, kwargs)
        indent = self.compact is False or (self.compact is None and self._app.debug)
        body = encode(obj, indent=indent) + b"\n"
        return self._app.response_class(body, mimetype=self.mimetype)  # type: ignore[arg-type]  # bytes is fine


def init_json(app: Flask) -> None:
    app.json = OrjsonProvider(app)
