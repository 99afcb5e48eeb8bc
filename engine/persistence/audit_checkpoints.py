"""Tamper evidence of the whole audit trail: signed checkpoints and the verification.

A hash chain alone only shows naive edits: whoever can write the table can also recompute
every hash after a change, and deleting the newest entries leaves a valid, shorter chain. So
the scheduler writes a checkpoint every few minutes: the heads (sequence number and hash) of
every chain that changed since the last one, chained to the previous checkpoint and signed with
HMAC-SHA256 under ``KIM_AUDIT_KEY``, a key the database does not hold. Checkpoints can also be
exported outside the database (a file or syslog), where an attacker of the database cannot
reach them. :func:`verify` then finds a changed entry, a gap, a cut-off tail, a head that does
not match its chain, and a checkpoint forged or dropped without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from sqlalchemy import Table, insert, select, tuple_, update
from sqlalchemy.orm import Session

from engine import clock
from engine.persistence.audit_log import (
    CHAIN_HEAD,
    GENESIS,
    LEGACY_CHAIN,
    REDACTED,
    details_hash,
    entry_hash,
    legacy_hash,
)
from engine.persistence.models import AuditCheckpoint
from engine.persistence.store import AUDIT

CHECKPOINT: Table = AuditCheckpoint.__table__  # type: ignore[assignment]  # declarative tables are Tables
BATCH = 5000


def checkpoint_mac(key: bytes, prev_mac: str, created_at: str, heads: dict[str, list[Any]]) -> str:
    message = json.dumps([prev_mac, created_at, heads], sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def write_checkpoint(session: Session, key: bytes) -> dict[str, Any] | None:
    """Sign the heads of every chain changed since the last checkpoint; None when nothing changed."""
    conn = session.connection()
    changed = list(conn.execute(select(CHAIN_HEAD.c.chain, CHAIN_HEAD.c.last_seq, CHAIN_HEAD.c.last_hash)
                                .where(CHAIN_HEAD.c.last_seq > CHAIN_HEAD.c.checkpointed_seq)
                                .order_by(CHAIN_HEAD.c.chain).with_for_update()))
    if not changed:
        return None
    previous = conn.execute(select(CHECKPOINT.c.mac).order_by(CHECKPOINT.c.id.desc()).limit(1)).scalar()
    prev_mac = previous or GENESIS
    created_at = clock.now()
    heads = {str(row.chain): [int(row.last_seq), row.last_hash] for row in changed}
    mac = checkpoint_mac(key, prev_mac, created_at.isoformat(), heads)
    conn.execute(insert(CHECKPOINT), [{"created_at": created_at, "heads": heads, "prev_mac": prev_mac,
                                       "mac": mac}])
    for row in changed:
        conn.execute(update(CHAIN_HEAD).where(CHAIN_HEAD.c.chain == row.chain)
                     .values(checkpointed_seq=row.last_seq))
    return {"created_at": created_at.isoformat(), "heads": heads, "prev_mac": prev_mac, "mac": mac}


@dataclass
class ChainCheck:
    ok: bool = True
    checked: int = 0
    chains: int = 0
    checkpoints: int = 0
    first_broken_id: int | None = None
    broken_chain: str | None = None
    reason: str | None = None
    notes: list[str] = field(default_factory=list)

    def fail(self, entry_id: int | None, chain: object, reason: str) -> ChainCheck:
        if self.ok:
            self.ok, self.first_broken_id, self.broken_chain, self.reason = False, entry_id, str(chain), reason
        return self


def verify(session: Session, key: bytes | None) -> ChainCheck:
    """Recompute every chain, compare its end with its head, then check the signed checkpoints."""
    check = ChainCheck()
    heads = {row.chain: (int(row.last_seq), row.last_hash)
             for row in session.connection().execute(select(CHAIN_HEAD))}
    seen: dict[UUID, tuple[int, str, int]] = {}  # chain -> (last seq, last hash, last entry id)
    for chain, rows in _chains(session):
        check.chains += 1
        last = _verify_chain(check, chain, rows)
        if not check.ok:
            return check
        seen[chain] = last
    for chain, (seq, last_hash) in heads.items():
        found = seen.get(chain, (0, GENESIS, None))
        if (found[0], found[1]) != (seq, last_hash):
            return check.fail(found[2], chain, f"the chain ends at entry {found[0]}, its head says {seq}: "
                                               "entries are missing at the end or the head was changed")
    for chain, found in seen.items():
        if chain not in heads:
            return check.fail(found[2], chain, "a chain without a head")
    if key is None:
        check.notes.append("KIM_AUDIT_KEY is not available here: checkpoints were not verified")
        return check
    return _verify_checkpoints(session, key, check)


def _chains(session: Session) -> Iterator[tuple[UUID, list[Any]]]:
    """Every chain's entries in sequence order, read in batches along the (chain, seq) index."""
    conn = session.connection()
    current: UUID | None = None
    rows: list[Any] = []
    after: tuple[Any, Any] | None = None
    while True:
        query = select(AUDIT).order_by(AUDIT.c.chain, AUDIT.c.seq).limit(BATCH)
        if after is not None:
            query = query.where(tuple_(AUDIT.c.chain, AUDIT.c.seq) > tuple_(*after))
        batch = list(conn.execute(query).mappings())
        if not batch:
            break
        for row in batch:
            if row["chain"] != current:
                if current is not None:
                    yield current, rows
                current, rows = row["chain"], []
            rows.append(row)
        after = (batch[-1]["chain"], batch[-1]["seq"])
    if current is not None:
        yield current, rows


def _verify_chain(check: ChainCheck, chain: UUID, rows: list[Any]) -> tuple[int, str, int]:
    prev, seq, last_id = GENESIS, 0, 0
    for row in rows:
        values = dict(row)
        if row["seq"] != seq + 1:
            check.fail(row["id"], chain, f"entry {seq + 1} of the chain is missing")
            break
        if row["prev_hash"] != prev:
            check.fail(row["id"], chain, "an entry before this one is missing or changed")
            break
        recomputed = _legacy_hash_of(values) if chain == LEGACY_CHAIN else _hash_of(values)
        if recomputed != row["hash"]:
            check.fail(row["id"], chain, "this entry was changed after it was written")
            break
        prev, seq, last_id = row["hash"], row["seq"], row["id"]
        check.checked += 1
    return seq, prev, last_id


def _hash_of(values: dict[str, Any]) -> str | None:
    if values["details"] != REDACTED and details_hash(values["details"]) != values["details_hash"]:
        return None  # the details no longer fit the hash the chain covers
    return entry_hash(values)


def _legacy_hash_of(values: dict[str, Any]) -> str:
    """Entries from before chains hashed their details themselves: once retention redacted them,
    the kept hash stands for them, and the next entry's link (``prev_hash``) still checks it."""
    return str(values["hash"]) if values["details"] == REDACTED else legacy_hash(values)


def _verify_checkpoints(session: Session, key: bytes, check: ChainCheck) -> ChainCheck:
    conn = session.connection()
    prev_mac = GENESIS
    for row in conn.execute(select(CHECKPOINT).order_by(CHECKPOINT.c.id)).mappings():
        check.checkpoints += 1
        if row["prev_mac"] != prev_mac:
            return check.fail(None, "checkpoints", f"checkpoint {row['id']}: the checkpoint before it is missing")
        expected = checkpoint_mac(key, prev_mac, row["created_at"].isoformat(), row["heads"])
        if not hmac.compare_digest(expected, row["mac"]):
            return check.fail(None, "checkpoints", f"checkpoint {row['id']} was not signed with KIM_AUDIT_KEY")
        for chain, (seq, head_hash) in row["heads"].items():
            found = conn.execute(select(AUDIT.c.hash).where(AUDIT.c.chain == UUID(chain), AUDIT.c.seq == seq)).scalar()
            if found != head_hash:
                return check.fail(None, chain, f"checkpoint {row['id']} signed entry {seq} of this chain, "
                                               "which is missing or different")
        prev_mac = row["mac"]
    return check
