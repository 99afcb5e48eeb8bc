"""The API's serialiser: every kind of value a use case returns, and need-to-know hiding."""

from __future__ import annotations

import dataclasses
import enum
import json
from datetime import UTC, date, datetime
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from flask import Flask, jsonify, render_template_string

from webapp.core.json_provider import encode, init_json
from webapp.core.serialize import to_json


class Colour(enum.Enum):
    RED = "rot"


class Level(enum.StrEnum):
    HIGH = "hoch"


class Nickname(str):
    pass


@dataclasses.dataclass(frozen=True)
class Inner:
    when: date
    tags: frozenset[str]


@dataclasses.dataclass(frozen=True)
class Record:
    id: UUID
    name: str
    at: datetime
    colour: Colour
    level: Level
    inner: Inner
    items: tuple[Inner, ...]
    extra: dict[int, object]
    nickname: Nickname
    secret: str = "s"
    note: str = "n"
    hidden: frozenset[str] = dataclasses.field(default=frozenset({"secret"}), metadata={"hidden_field": True})


def test_every_kind_of_value_becomes_json_and_hidden_fields_stay_out() -> None:
    ident = UUID("12345678-1234-5678-1234-567812345678")
    inner = Inner(date(2026, 12, 6), frozenset({"a"}))
    record = Record(ident, "Amina", datetime(2026, 12, 6, 9, 30, tzinfo=UTC), Colour.RED, Level.HIGH,
                    inner, (inner,), {1: [ident, None, 2.5, True]}, Nickname("Mina"))
    expected_inner = {"when": "2026-12-06", "tags": ["a"]}
    assert to_json(record) == {
        "id": str(ident), "name": "Amina", "at": "2026-12-06T09:30:00+00:00", "colour": "rot", "level": "hoch",
        "inner": expected_inner, "items": [expected_inner], "extra": {"1": [str(ident), None, 2.5, True]},
        "nickname": "Mina", "note": "n"}


def test_hidden_is_per_record_not_per_type() -> None:
    """Two records of one type hide different fields (a lead's view hides more than a caseworker's)."""
    inner = Inner(date(2026, 1, 2), frozenset())
    base = Record(UUID(int=1), "A", datetime(2026, 1, 2, tzinfo=UTC), Colour.RED, Level.HIGH, inner, (),
                  {}, Nickname("x"))
    narrow = dataclasses.replace(base, hidden=frozenset({"secret", "name", "note"}))
    assert {"name", "note"} <= to_json(base).keys()
    assert not {"name", "note", "secret"} & to_json(narrow).keys()


def test_a_class_itself_is_not_taken_for_a_record() -> None:
    assert to_json(Inner) is Inner


@dataclasses.dataclass(frozen=True)
class Single:
    only: UUID


@dataclasses.dataclass(frozen=True)
class Nothing:
    pass


def test_records_of_one_field_or_none() -> None:
    assert to_json(Single(UUID(int=5))) == {"only": str(UUID(int=5))}
    assert to_json([Nothing(), Nothing()]) == [{}, {}]


# -- the JSON provider (orjson): the same JSON as to_json, written without the detour --------------

def _sample() -> Record:
    ident = UUID("12345678-1234-5678-1234-567812345678")
    inner = Inner(date(2026, 12, 6), frozenset({"a"}))
    moment = datetime(2026, 12, 6, 9, 30, 5, 123456, tzinfo=ZoneInfo("Europe/Berlin"))
    return Record(ident, "Amina Ünal", moment, Colour.RED, Level.HIGH, inner, (inner, inner),
                  {1: [ident, None, 2.5, True, date(2026, 1, 2)], 2: {"x": moment.replace(microsecond=0)}},
                  Nickname("Mina"))


def test_the_provider_writes_what_to_json_makes_of_a_record() -> None:
    narrow = dataclasses.replace(_sample(), hidden=frozenset({"secret", "name"}))
    for value in (_sample(), narrow, [narrow, Nothing(), Single(UUID(int=7))], {"items": (narrow,), "total": 3}):
        assert json.loads(encode(value)) == to_json(value)
    assert b'"name"' not in encode(narrow)
    assert b'"secret"' not in encode(_sample())


def test_fields_keep_the_order_the_record_declares() -> None:
    assert list(json.loads(encode(_sample()))) == list(to_json(_sample()))


def test_numbers_beyond_64_bits_and_lone_surrogates_still_become_json() -> None:
    value = {"big": 2**70, "text": "a\ud800b", "record": Single(UUID(int=9))}
    assert json.loads(encode(value)) == {"big": 2**70, "text": "a\ud800b", "record": {"only": str(UUID(int=9))}}


def test_a_value_of_no_json_form_is_an_error_as_with_the_standard_library() -> None:
    with pytest.raises(TypeError):
        encode({"x": object()})


def test_jsonify_and_the_tojson_filter_use_it() -> None:
    app = Flask(__name__)
    init_json(app)
    with app.app_context():
        reply = jsonify(_sample())
        assert reply.mimetype == "application/json"
        assert reply.get_json() == to_json(_sample())
        page = render_template_string("<script>var x = {{ value|tojson }};</script>", value={"a": "</script>"})
    assert "</script>\"" not in page
    assert "\\u003c/script\\u003e" in page
