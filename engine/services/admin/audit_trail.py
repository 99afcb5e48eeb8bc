"""The audit trail for the data protection officer: read it, verify it, and sign its heads.

Reading the trail is itself audited. The signing key (``KIM_AUDIT_KEY``) is never stored in the
database: set it in the environment of every process (one key per installation), or let a
single-machine installation generate one into its instance folder on first use. Checkpoints can
be copied outside the database as they are written (``KIM_AUDIT_EXPORT``: a file that gets one
JSON line per checkpoint, or ``syslog``), where whoever tampers with the database cannot follow.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

from engine.domain.actors import SYSTEM, Actor
from engine.domain.permissions import Permission, require
from engine.persistence import audit_checkpoints, audit_log
from engine.services.context import EngineContext, UnitOfWork

log = logging.getLogger(__name__)
DEFAULT_CHECKPOINT_MINUTES = 5.0


@dataclass(frozen=True)
class TrailPage:
    items: tuple[dict[str, Any], ...]
    next_after: int


def audit_key(config: Mapping[str, Any]) -> bytes:
    """``KIM_AUDIT_KEY``, or a key generated once into the instance folder (single machine)."""
    configured = config.get("KIM_AUDIT_KEY")
    if configured:
        return str(configured).encode()
    path = Path(config["KIM_INSTANCE_PATH"]) / "audit_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48), encoding="utf-8")
        path.chmod(0o600)
        log.warning("KIM_AUDIT_KEY is not set: generated %s (set the same key on every machine)", path)
    return path.read_text(encoding="utf-8").strip().encode()


def read_trail(uow: UnitOfWork, actor: Actor, after_id: int, limit: int, case_id: UUID | None) -> TrailPage:
    require(actor, Permission.READ_AUDIT)
    entries = audit_log.read_entries(uow.session, after_id, limit, case_id)
    audit_log.record(uow.session, actor, "audit.read", "audit", None, case_id=None,
                     details={"after": after_id, "limit": limit, "case_id": str(case_id) if case_id else None})
    return TrailPage(tuple(entries), entries[-1]["id"] if entries else after_id)


def verify_trail(uow: UnitOfWork, actor: Actor) -> audit_checkpoints.ChainCheck:
    require(actor, Permission.READ_AUDIT)
    check = audit_checkpoints.verify(uow.session, audit_key(uow.ctx.config))
    audit_log.record(uow.session, actor, "audit.verify", "audit", None, details={"ok": check.ok})
    return check


def checkpoint_interval_seconds(config: Mapping[str, Any]) -> float:
    minutes = float(config.get("KIM_AUDIT_CHECKPOINT_MINUTES") or DEFAULT_CHECKPOINT_MINUTES)
    return max(minutes, 0.1) * 60


def write_checkpoint(ctx: EngineContext) -> dict[str, Any] | None:
    """A scheduler job: sign the changed chain heads in a unit of work of its own, then export."""
    with ctx.uow() as uow:
        written = audit_checkpoints.write_checkpoint(uow.session, audit_key(ctx.config))
        if written is not None:
            audit_log.record(uow.session, SYSTEM, "audit.checkpoint", "audit", None,
                             details={"chains": len(written["heads"])})
        uow.commit()
    if written is not None:
        export_checkpoint(ctx.config, written)
    return written


def export_checkpoint(config: Mapping[str, Any], checkpoint: Mapping[str, Any]) -> None:
    target = str(config.get("KIM_AUDIT_EXPORT") or "").strip()
    if not target:
        return
    line = json.dumps(checkpoint, sort_keys=True, separators=(",", ":"))
    try:
        if target == "syslog":
            _syslog().info("kim-audit-checkpoint %s", line)
        else:
            with Path(target).open("a", encoding="utf-8") as out:
                out.write(line + "\n")
    except OSError:  # the checkpoint stays in the database; the next export is tried again
        log.exception("exporting the audit checkpoint to %s failed", target)


def _syslog() -> logging.Logger:
    logger = logging.getLogger("kim.audit.export")
    if not logger.handlers:
        logger.addHandler(logging.handlers.SysLogHandler(address="/dev/log"))
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger
