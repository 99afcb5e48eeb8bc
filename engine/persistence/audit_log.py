"""The audit trail: every read and write of a case, append-only and hash-chained.

Each entry stores the SHA-256 of its own content together with the previous entry's hash,
so removing or changing any row breaks the chain from there on; the database refuses
UPDATE and DELETE on the table (triggers in the initial migration). Writers are serialized
while they append: on PostgreSQL with a transaction-scoped advisory lock, on SQLite by the
write lock every writing unit of work takes at BEGIN.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from engine import clock
from engine.domain.actors import Actor
from engine.persistence.store import AUDIT

GENESIS = "0" * 64
_ADVISORY_KEY = 0x4B494D41  # "KIMA"


def _content(values: Mapping[str, Any]) -> str:
    at: datetime = values["at"]
    return json.dumps([at.isoformat(timespec="microseconds"), values["actor"], values["action"],
                       values["object_type"], values["object_id"], _s(values["case_id"]),
                       _s(values["instance_id"]), values["details"], values["prev_hash"]],
                      sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _s(value: object) -> str | None:
    return str(value) if value is not None else None


def entry_hash(values: Mapping[str, Any]) -> str:
    return hashlib.sha256(_content(values).encode()).hexdigest()


QUEUE_KEY = "kim_audit_queue"


def record(session: Session, actor: Actor, action: str, object_type: str, object_id: object = None,
           case_id: UUID | None = None, instance_id: UUID | None = None,
           details: Mapping[str, Any] | None = None) -> None:
    """Queue one entry in the caller's transaction; it is appended just before the commit."""
    entry: dict[str, Any] = {
        "at": clock.now(), "actor": actor.username, "action": action, "object_type": object_type,
        "object_id": _s(object_id), "case_id": case_id, "instance_id": instance_id,
        "details": json.loads(json.dumps(dict(details or {}), default=str)),
    }
    session.info.setdefault(QUEUE_KEY, []).append(entry)


def has_queued(session: Session) -> bool:
    return bool(session.info.get(QUEUE_KEY))


def take_queued(session: Session) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = session.info.pop(QUEUE_KEY, None) or []
    return entries


def discard_queued(session: Session) -> None:
    session.info.pop(QUEUE_KEY, None)


def append_queued(session: Session) -> None:
    """SQLAlchemy ``before_commit`` hook: the queued entries go in with the transaction."""
    entries = take_queued(session)
    if entries:
        append(session, entries)


def append(session: Session, entries: list[dict[str, Any]]) -> None:
    """Chain and insert ``entries`` in this transaction, in the order they were queued.

    Writers are serialized while they append: on PostgreSQL with a transaction-scoped advisory
    lock, held from here to the commit that follows at once; on SQLite by the write lock.
    """
    if not entries:
        return
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_KEY})
    prev = conn.execute(select(AUDIT.c.hash).order_by(AUDIT.c.id.desc()).limit(1)).scalar() or GENESIS
    rows = []
    for entry in entries:
        values = {**entry, "prev_hash": prev}
        values["hash"] = prev = entry_hash(values)
        rows.append(values)
    conn.execute(insert(AUDIT), rows)


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    checked: int
    first_broken_id: int | None = None
    reason: str | None = None


def verify_chain(session: Session, batch: int = 5000) -> ChainCheck:
    """Recompute every hash in id order; report the first entry that does not fit."""
    conn = session.connection()
    prev, checked, last_id = GENESIS, 0, 0
    while True:
        rows = conn.execute(select(AUDIT).where(AUDIT.c.id > last_id).order_by(AUDIT.c.id).limit(batch)).mappings()
        rows_list = list(rows)
        if not rows_list:
            return ChainCheck(True, checked)
        for row in rows_list:
            if row["prev_hash"] != prev:
                return ChainCheck(False, checked, row["id"], "an entry before this one is missing or changed")
            if entry_hash(dict(row)) != row["hash"]:
                return ChainCheck(False, checked, row["id"], "this entry was changed after it was written")
            prev, checked, last_id = row["hash"], checked + 1, row["id"]


def read_entries(session: Session, after_id: int = 0, limit: int = 100,
                 case_id: UUID | None = None) -> list[dict[str, Any]]:
    """Entries in id order, for the auditor (keyset paging: pass the last id seen)."""
    query = select(AUDIT).where(AUDIT.c.id > after_id).order_by(AUDIT.c.id).limit(limit)
    if case_id is not None:
        query = query.where(AUDIT.c.case_id == case_id)
    return [{"id": r["id"], "at": r["at"].isoformat(), "actor": r["actor"], "action": r["action"],
             "object_type": r["object_type"], "object_id": r["object_id"],
             "case_id": _s(r["case_id"]), "instance_id": _s(r["instance_id"]), "details": r["details"],
             "prev_hash": r["prev_hash"], "hash": r["hash"]}
            for r in session.connection().execute(query).mappings()]
