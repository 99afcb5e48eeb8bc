"""Integer path segments within what the database columns can hold.

Werkzeug's ``int`` converter takes any number of digits; ``99999999999999999999`` then reaches
the database and fails there (SQLite: "Python int too large to convert", PostgreSQL: out of
range), a server error for what is only an unknown address. Here the converter's pattern itself
stops at the column's maximum, so such a path matches no route and the answer is 404 as for any
other object that does not exist. (A ``max`` checked after matching would answer 405 where
another route has the same path with other methods.)
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter, Map

INTEGER_MAX = 2**31 - 1  # INTEGER columns on PostgreSQL (versions, drafts and most ids)
BIGINT_MAX = 2**63 - 1   # BIGINT columns (notifications, audit entries) and SQLite's INTEGER


def digits_at_most(limit: int) -> str:
    """A regular expression for the decimal numbers from 0 to ``limit`` (leading zeros only below
    ``limit``'s length)."""
    text = str(limit)
    width = len(text)
    options = [rf"\d{{1,{width - 1}}}"] if width > 1 else []
    for i, char in enumerate(text):
        low, high = (1 if i == 0 and width > 1 else 0), int(char) - 1
        if high >= low:
            rest = width - i - 1
            options.append(f"{text[:i]}[{low}-{high}]" + (rf"\d{{{rest}}}" if rest else ""))
    options.append(text)
    return "(?:" + "|".join(options) + ")"


class BoundedInt(IntegerConverter):
    """``<int:...>``: 0 up to an INTEGER column's maximum."""

    limit = INTEGER_MAX

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", self.limit)
        super().__init__(url_map, *args, **kwargs)
        self.regex = digits_at_most(min(self.max if self.max is not None else self.limit, self.limit))


class BoundedBigInt(BoundedInt):
    """``<bigint:...>``: ids of BIGINT columns."""

    limit = BIGINT_MAX


def init_converters(app: Flask) -> None:
    """Before any blueprint adds its routes: rules look their converters up when they are added."""
    app.url_map.converters["int"] = BoundedInt
    app.url_map.converters["bigint"] = BoundedBigInt
