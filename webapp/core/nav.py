"""Main navigation entries contributed by the app's areas (inbox, supervision, modeler, admin).

Each blueprint registers its own entries, so an area is added without touching the base
template; the template shows the entries the signed-in role may use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask, url_for

from engine.domain.actors import Actor


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: str  # German msgid, translated when rendered
    roles: tuple[str, ...]
    order: int = 50
    count_key: str | None = None  # key into the template's ``counts`` for a badge
    offices: tuple[str, ...] = ()  # members of these offices see the entry whatever their role

    def shown_to(self, actor: Actor) -> bool:
        return actor.role in self.roles or bool(set(self.offices) & set(actor.office_codes))


def register_nav(app: Flask, item: NavItem) -> None:
    items: list[NavItem] = app.extensions.setdefault("kim_nav", [])
    if all(existing.endpoint != item.endpoint for existing in items):
        items.append(item)
        items.sort(key=lambda entry: entry.order)


def nav_entries(app: Flask, actor: Actor | None) -> list[dict[str, Any]]:
    if actor is None:
        return []
    return [{"href": url_for(item.endpoint), "label": item.label, "count_key": item.count_key}
            for item in app.extensions.get("kim_nav", []) if item.shown_to(actor)]
