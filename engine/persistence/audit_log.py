"""The audit trail: every read and write of a case, append-only, in one hash chain per case.

Each entry stores the SHA-256 of its content (which covers the hash of its details and the
previous entry's hash of the same chain), so removing or changing a row breaks its chain from
there on; the database refuses UPDATE and DELETE (triggers) except the redaction of an entry's
details by retention, which the chain survives because it covers the details' hash.

Chains: one per case (the case id); entries without a case go to one chain per acting user
(:func:`actor_chain`, so two users listing their inboxes never wait for each other), the
scheduler's to :data:`SYSTEM_CHAIN`; the entries written before chains existed form
:data:`LEGACY_CHAIN` and are verified as they were made. There is no system-wide lock: entries
are queued while a use case runs (:func:`record`) and appended just before commit
(:func:`append_queued`), each chain under the row lock of its head in ``audit_chain`` (taken by
one upsert that also creates a new chain's head; a trigger moves the head on insert). Signed checkpoints of the heads
(:mod:`engine.persistence.audit_checkpoints`) make a recomputed chain and a cut-off tail visible.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

from sqlalchemy import Table, bindparam, select, text
from sqlalchemy.orm import Session

from engine import clock
from engine.domain.actors import Actor
from engine.persistence.direct import Outcome, Statement, together
from engine.persistence.models import AuditChain
from engine.persistence.store import AUDIT, insert_rows

GENESIS = "0" * 64
SYSTEM_CHAIN = UUID(int=0)
LEGACY_CHAIN = UUID(int=1)
REDACTED: dict[str, Any] = {"redacted": True}
QUEUE_KEY = "kim_audit_queue"
HEADS_KEY = "kim_audit_heads"
CHAIN_HEAD: Table = AuditChain.__table__  # type: ignore[assignment]  # declarative tables are Tables


def _s(value: object) -> str | None:
    return str(value) if value is not None else None


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def details_hash(details: Mapping[str, Any]) -> str:
    return hashlib.sha256(_json(details).encode()).hexdigest()


def entry_hash(values: Mapping[str, Any]) -> str:
    """The hash of an entry of a chain: its content, its details' hash and the previous hash."""
    at: datetime = values["at"]
    content = [str(values["chain"]), values["seq"], at.isoformat(timespec="microseconds"), values["actor"],
               values["action"], values["object_type"], values["object_id"], _s(values["case_id"]),
               _s(values["instance_id"]), values["details_hash"], values["prev_hash"]]
    return hashlib.sha256(_json(content).encode()).hexdigest()


def legacy_hash(values: Mapping[str, Any]) -> str:
    """The hash entries had before chains existed (one global chain over the details themselves)."""
    at: datetime = values["at"]
    content = [at.isoformat(timespec="microseconds"), values["actor"], values["action"], values["object_type"],
               values["object_id"], _s(values["case_id"]), _s(values["instance_id"]), values["details"],
               values["prev_hash"]]
    return hashlib.sha256(_json(content).encode()).hexdigest()


ACTOR_CHAINS = UUID("6b1d7c2e-4f0a-5e39-9c51-0d3a8e2f7b64")


def actor_chain(username: str) -> UUID:
    """The chain of one user's entries that concern no case (a name-based UUID: stable, no lookup)."""
    return SYSTEM_CHAIN if username == "system" else uuid5(ACTOR_CHAINS, username)


def chain_of(entry: Mapping[str, Any]) -> UUID:
    case_id: UUID | None = entry["case_id"]
    return case_id if case_id is not None else actor_chain(str(entry["actor"]))


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


def remember_head(session: Session, chain: UUID, seq: int, last_hash: str) -> None:
    """The chain's head, read under its row lock earlier in this transaction (saves a query)."""
    session.info.setdefault(HEADS_KEY, {})[chain] = (seq, last_hash)


def has_queued(session: Session) -> bool:
    return bool(session.info.get(QUEUE_KEY))


def take_queued(session: Session) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = session.info.pop(QUEUE_KEY, None) or []
    session.info.pop(HEADS_KEY, None)
    return entries


def discard_queued(session: Session) -> None:
    session.info.pop(QUEUE_KEY, None)
    session.info.pop(HEADS_KEY, None)


def append_queued(session: Session) -> None:
    """SQLAlchemy ``before_commit`` hook: the queued entries go in with the transaction."""
    heads = dict(session.info.get(HEADS_KEY) or {})
    entries = take_queued(session)
    if entries:
        append(session, entries, heads)


def append(session: Session, entries: list[dict[str, Any]],
           heads: Mapping[UUID, tuple[int, str]] | None = None) -> None:
    """Chain and insert ``entries`` in this transaction, each chain in the order queued.

    A chain's head is read under its row lock (chains in a fixed order, so two transactions
    appending to the same chains never wait for each other in a ring); the lock is held until
    the commit that follows at once. On SQLite the write lock already serialises writers.
    """
    if not entries:
        return
    by_chain: dict[UUID, list[dict[str, Any]]] = defaultdict(list)
    for entry in entries:
        by_chain[chain_of(entry)].append(entry)
    rows = []
    for chain in sorted(by_chain):
        seq, prev = (heads or {}).get(chain) or _locked_head(session, chain)
        for entry in by_chain[chain]:
            seq += 1
            values = {**entry, "chain": chain, "seq": seq, "prev_hash": prev,
                      "details_hash": details_hash(entry["details"])}
            values["hash"] = prev = entry_hash(values)
            rows.append(values)
    insert_rows(session, AUDIT, rows)


def read_with_own_chain_locked(session: Session, actor: Actor, statement: Statement,
                               params: Mapping[str, Any]) -> Outcome:
    """Run a read and, on PostgreSQL, lock the head of the actor's chain in the same round trip,
    so that the read's audit entry needs no round trip of its own at the commit (the inbox).

    The lock is then held from the read to the commit, not only for the append: for a use case
    whose request appends to the actor's chain alone (a listing), which thus never waits for
    another chain while holding it. SQLite runs the read alone (its reads take no write lock).
    """
    chain = actor_chain(actor.username)
    outcomes = together(session, (_LOCK_HEAD, {"chain": chain, "genesis": GENESIS}), (statement, params))
    if outcomes is None:
        return statement.execute(session, params)
    head, read = outcomes[0].one(), outcomes[1]
    remember_head(session, chain, int(head.last_seq), str(head.last_hash))
    return read


def _locked_head(session: Session, chain: UUID) -> tuple[int, str]:
    """Create the head if the chain is new, else touch it: either way its row is locked.

    A plain ``SELECT ... FOR UPDATE`` locks nothing when the row does not exist yet, and two
    first entries of one chain would then both get number 1.
    """
    head = _LOCK_HEAD.execute(session, {"chain": chain, "genesis": GENESIS}).one()
    return int(head.last_seq), str(head.last_hash)


# Written out once: SQLAlchemy cannot cache the compiled form of a dialect upsert, and this runs
# with every audited request (PostgreSQL and SQLite >= 3.35 share the syntax).
_LOCK_HEAD = Statement(text(
    "INSERT INTO audit_chain (chain, last_seq, last_hash, checkpointed_seq) VALUES (:chain, 0, :genesis, 0) "
    "ON CONFLICT (chain) DO UPDATE SET last_seq = audit_chain.last_seq RETURNING last_seq, last_hash"
).bindparams(bindparam("chain", type_=CHAIN_HEAD.c.chain.type),
             bindparam("genesis", type_=CHAIN_HEAD.c.last_hash.type)))


def read_entries(session: Session, after_id: int = 0, limit: int = 100,
                 case_id: UUID | None = None) -> list[dict[str, Any]]:
    """Entries in id order, for the auditor (keyset paging: pass the last id seen)."""
    query = select(AUDIT).where(AUDIT.c.id > after_id).order_by(AUDIT.c.id).limit(limit)
    if case_id is not None:
        query = query.where(AUDIT.c.case_id == case_id)
    return [{"id": r["id"], "at": r["at"].isoformat(), "actor": r["actor"], "action": r["action"],
             "object_type": r["object_type"], "object_id": r["object_id"],
             "case_id": _s(r["case_id"]), "instance_id": _s(r["instance_id"]), "details": r["details"],
             "chain": _s(r["chain"]), "seq": r["seq"], "prev_hash": r["prev_hash"], "hash": r["hash"]}
            for r in session.connection().execute(query).mappings()]
