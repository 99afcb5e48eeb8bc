"""The counts every page shows in its navigation, read in one short transaction."""

from __future__ import annotations

from engine.domain.actors import Actor
from engine.services.casework.inbox import count_views
from engine.services.context import EngineContext
from engine.services.notifications.notify import count_unread

INBOX_ROLES = ("caseworker", "supervisor")


def navigation_counts(ctx: EngineContext, actor: Actor) -> dict[str, int]:
    """Open tasks per inbox view (for those with an inbox) and unread notifications."""
    with ctx.uow(write=False) as uow:
        counts = count_views(uow.session, actor) if actor.role in INBOX_ROLES else {}
        counts["notifications"] = count_unread(uow.session, actor)
    return counts
