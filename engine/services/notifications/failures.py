"""Notification mails that were given up, for the admin's page of an account.

A mail fails when the server refused it too often, when it could not be built, or when nobody
sent it within ``KIM_MAIL_MAX_AGE_DAYS`` (:mod:`engine.services.notifications.mail`). The admin
sees when, what kind and why - not the subject, which names a case - so a wrong address or a
missing mail server can be put right.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from engine.domain.actors import Actor
from engine.domain.permissions import Permission, require
from engine.persistence.models import Notification, User
from engine.services.context import UnitOfWork

SHOWN = 20


@dataclass(frozen=True)
class FailedMail:
    id: int
    kind: str
    created_at: datetime
    attempts: int
    reason: str


def failed_mails(uow: UnitOfWork, actor: Actor, username: str, limit: int = SHOWN) -> list[FailedMail]:
    """The account's most recently queued mails that were given up, newest first (admins only)."""
    if not actor.is_system:
        require(actor, Permission.MANAGE_USERS)
    rows = uow.session.execute(
        select(Notification.id, Notification.kind, Notification.created_at, Notification.mail_attempts,
               Notification.mail_error)
        .join(User, User.id == Notification.user_id)
        .where(User.username == username.strip().lower(), Notification.mail_state == "failed")
        .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(max(1, limit))).all()
    return [FailedMail(r.id, r.kind, r.created_at, r.mail_attempts, r.mail_error or "") for r in rows]
