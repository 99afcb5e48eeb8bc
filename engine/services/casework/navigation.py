"""The counts every page shows in its navigation, read with the page."""

from __future__ import annotations

from engine.domain.actors import Actor
from engine.services.casework.inbox import count_views
from engine.services.context import UnitOfWork
from engine.services.notifications.notify import count_unread


def navigation_counts(uow: UnitOfWork, actor: Actor) -> dict[str, int]:
    """Open tasks per inbox view (for those with an inbox) and unread notifications."""
    counts = count_views(uow.session, actor)
    counts["notifications"] = count_unread(uow.session, actor)
    return counts
