"""Main navigation entries contributed by the app's areas (inbox, supervision, modeler, admin).

Each blueprint registers its own entries, so an area is added without touching the base
template; the template shows the entries the signed-in role may use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask, url_for

from engine.domain.actors import Actor
from engine.domain.permissions import Permission, has


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: str  # German msgid, translated when rendered
    permission: Permission | None  # None: everybody signed in
    order: int = 50
    count_key: str | None = None  # key into the template's ``counts`` for a badge

    def shown_to(self, actor: Actor) -> bool:
        return self.permission is None or has(actor, self.permission)


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


def init_nav(app: Flask) -> None:
    """Templates ask ``can('permission')`` of the signed-in user (the same table as the services)."""

    def can(permission: str) -> bool:
        from webapp.core.security import current_actor

        return has(current_actor(), Permission(permission))

    app.jinja_env.globals["can"] = can
