"""Service results to JSON: the web layer's rules for records.

Use cases return frozen dataclasses holding dates, UUIDs and enums; the API answers JSON with
ISO 8601 strings. Fields a record lists in ``hidden`` (need to know) are left out, as are
fields marked as bookkeeping (``metadata={"hidden_field": True}``). Replies are written by
:mod:`webapp.core.json_provider` by the same rules, without building these dictionaries first;
:func:`to_json` is for everything else that needs the plain values.

An inbox page is a hundred records of twenty fields each, so the work per value is decided
once per type (:data:`_CONVERTERS`) and the shown fields once per dataclass (:func:`_shown_fields`),
not looked up again for every value.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import date, datetime
from enum import Enum
from operator import attrgetter
from typing import Any
from uuid import UUID

_PLAIN = frozenset({str, int, float, bool, type(None)})
_NONE_HIDDEN: frozenset[str] = frozenset()


def to_json(value: Any) -> Any:
    kind = type(value)
    if kind in _PLAIN:
        return value
    convert = _CONVERTERS.get(kind)
    if convert is None:
        convert = _CONVERTERS[kind] = _converter_for(kind)
    return convert(value)


def _dataclass(value: Any) -> dict[str, Any]:
    shown = shown_values(value)
    for name, field in shown.items():
        kind = type(field)
        if kind not in _PLAIN:  # most fields are
            convert = _CONVERTERS.get(kind)
            shown[name] = convert(field) if convert is not None else to_json(field)
    return shown


def shown_values(record: Any) -> dict[str, Any]:
    """A record's fields that this record shows (need to know), with their values as they are."""
    hidden: frozenset[str] = getattr(record, "hidden", _NONE_HIDDEN)
    names, read = _shown_fields(type(record))
    return {name: field for name, field in zip(names, read(record), strict=True) if name not in hidden}


def _shown_fields(kind: type) -> tuple[tuple[str, ...], Callable[[Any], tuple[Any, ...]]]:
    """The fields of a dataclass that may ever be shown (bookkeeping fields never are), and one
    getter that reads them all at once."""
    plan = _SHOWN.get(kind)
    if plan is None:
        names = tuple(f.name for f in dataclasses.fields(kind) if not f.metadata.get("hidden_field"))
        read = attrgetter(*names) if len(names) > 1 else (lambda value: tuple(getattr(value, n) for n in names))
        plan = _SHOWN[kind] = (names, read)
    return plan


def _mapping(value: Mapping[Any, Any]) -> dict[str, Any]:
    return {str(k): to_json(v) for k, v in value.items()}


def _sequence(value: Any) -> list[Any]:
    return [v if type(v) in _PLAIN else to_json(v) for v in value]


def _itself(value: Any) -> Any:
    return value


def _converter_for(kind: type) -> Callable[[Any], Any]:
    """How values of ``kind`` become JSON, decided in the order the checks always had."""
    if dataclasses.is_dataclass(kind):
        return _dataclass
    if kind in (datetime, date):
        return kind.isoformat  # the C method itself: no lambda around it
    if issubclass(kind, datetime | date):
        return lambda value: value.isoformat()
    if issubclass(kind, UUID):
        return str
    if issubclass(kind, Enum):
        return lambda value: value.value
    if issubclass(kind, Mapping):
        return _mapping
    if issubclass(kind, list | tuple | frozenset | set):
        return _sequence
    return _itself  # str and int subclasses, and whatever json knows itself


_CONVERTERS: dict[type, Callable[[Any], Any]] = {}
_SHOWN: dict[type, tuple[tuple[str, ...], Callable[[Any], tuple[Any, ...]]]] = {}
