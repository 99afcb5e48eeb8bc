"""The mail outbox: send pending notification mails after their transaction committed.

Notification rows are written with the event; this module mails them later, so a mail server
that is down never blocks or rolls back case work, and a rolled-back event never sends mail.
Sending runs in three short steps, none of which holds a database lock while talking SMTP:

1. claim: due ``pending`` rows get ``mail_next_at`` pushed a lease ahead (``SKIP LOCKED`` on
   PostgreSQL, so several senders share the rows), commit;
2. send them over one SMTP connection;
3. record: ``sent``, or another attempt with exponential backoff (1, 2, 4 ... minutes, at most
   an hour) and the error; after :data:`MAX_ATTEMPTS` (about a day) the row is ``failed``.

A mail that cannot be built or encoded (say an address with a line break in it) is ``failed`` at
once with the reason: trying it again would fail the same way, and it must never hold back the
others of its batch. Subjects are folded to one line (a multi-line task label is common).

Whether to mail at all is the sender's decision: notifications queue mail for everybody with an
address, whatever the process that wrote them has configured. A sender with ``KIM_SMTP_URL``
sends; without one it leaves the queue alone for a sender that has it.

A sender killed between sending and recording sends those mails again when the lease runs out:
delivery is at least once, never lost.

Mail nobody sends does not wait for ever: a mail still ``pending`` ``KIM_MAIL_MAX_AGE_DAYS``
(default 7) after it was queued - typically because no scheduler has ``KIM_SMTP_URL`` - is
``failed`` with a reason that says so (:func:`expire_stale_mails`, run by every scheduler's mail
sender, with or without a mail server, and by ``kim notifications send-due``). A mail that old
would only confuse its reader; the notification itself stays in the app.

``KIM_SMTP_URL``: ``smtp://host:port`` (plain), ``smtp://user:pass@host:587?starttls=true``
(STARTTLS) or ``smtps://user:pass@host:465`` (TLS); ``timeout=<seconds>`` is optional.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine import clock
from engine.config import mail_max_age_days
from engine.persistence.models import Notification, User
from engine.services.context import EngineContext

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=10)
MAX_BACKOFF = timedelta(hours=1)
MAX_ATTEMPTS = 30  # 1+2+4+...+32 minutes, then hourly: about 25 hours of trying
MAX_ERROR_CHARS = 1000
BATCH = 50
EXPIRE_BATCH = 500
EXPIRED = "expired: not sent within {days} days of being queued (KIM_MAIL_MAX_AGE_DAYS)"
NO_SENDER = "no scheduler with a mail server (KIM_SMTP_URL) sent it"
FOOTER = ("\n\n--\nDiese Nachricht wurde automatisch von KIM Casework versandt. Aus Datenschutzgründen "
          "enthält sie keine Angaben zur Person; die Einzelheiten sehen Sie nach der Anmeldung.")


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    tls: bool = False          # smtps: TLS from the first byte
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    timeout: float = 10.0


def parse_smtp_url(url: str) -> SmtpSettings:
    """``smtp[s]://[user[:password]@]host[:port][?starttls=true&timeout=10]``; ValueError names the problem."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError(f"KIM_SMTP_URL: scheme must be smtp or smtps, not {parts.scheme!r}")
    if not parts.hostname:
        raise ValueError("KIM_SMTP_URL: no host")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    try:
        port = parts.port or (465 if parts.scheme == "smtps" else 25)
        timeout = float(query.get("timeout", "10"))
    except ValueError as exc:
        raise ValueError(f"KIM_SMTP_URL: {exc}") from exc
    return SmtpSettings(host=parts.hostname, port=port, tls=parts.scheme == "smtps",
                        starttls=query.get("starttls", "false").lower() in ("1", "true", "yes"),
                        username=unquote(parts.username) if parts.username else None,
                        password=unquote(parts.password) if parts.password else None, timeout=timeout)


def retry_delay(attempts: int) -> timedelta:
    """After the n-th failed attempt wait 2**(n-1) minutes, at most an hour."""
    return min(timedelta(minutes=2 ** min(max(attempts - 1, 0), 10)), MAX_BACKOFF)


@dataclass
class MailReport:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0


@dataclass(frozen=True)
class _Outgoing:
    id: int
    lease: datetime
    attempts: int
    message: EmailMessage


class Unsendable(Exception):
    """This mail can never be sent as it is (not the server's fault): give it up at once."""


def one_line(text: str) -> str:
    """Line breaks and runs of white space folded into single spaces (mail headers are one line)."""
    return " ".join(text.split())


def build_message(config: Mapping[str, Any], to: str, subject: str, body: str, link: str | None) -> EmailMessage:
    """A plain-text German mail: subject, body, the link into the app, a footer.

    Raises :class:`Unsendable` when the mail cannot be built (e.g. an address with a line break).
    """
    try:
        return _build(config, to, subject, body, link)
    except (ValueError, TypeError, UnicodeError, IndexError) as exc:  # what the email package raises
        raise Unsendable(f"{type(exc).__name__}: {exc}") from exc


def _build(config: Mapping[str, Any], to: str, subject: str, body: str, link: str | None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = str(config.get("KIM_MAIL_FROM") or "kim-casework@localhost")
    message["To"] = to
    message["Subject"] = one_line(subject)
    message["Message-ID"] = make_msgid(domain="kim-casework")
    base = str(config.get("KIM_BASE_URL") or "").rstrip("/")
    text = body + (f"\n\nZur Aufgabe: {base}{link}" if link else "") + FOOTER
    message.set_content(text, charset="utf-8")
    return message


def send_due_mails(ctx: EngineContext, limit: int = BATCH) -> MailReport:
    """Claim, send and record one batch of due mails; returns what happened."""
    report = MailReport()
    url = ctx.config.get("KIM_SMTP_URL")
    if not url:
        return report
    settings = parse_smtp_url(str(url))
    outgoing = _claim(ctx, limit, report)
    report.claimed = len(outgoing) + report.failed
    if not outgoing:
        return report
    results = _send(settings, outgoing)
    _record(ctx, outgoing, results, report)
    return report


def _claim(ctx: EngineContext, limit: int, report: MailReport) -> list[_Outgoing]:
    now = clock.now()
    lease = now + LEASE
    with ctx.uow() as uow:
        session = uow.session
        query = (select(Notification.id, Notification.mail_attempts, Notification.subject, Notification.body,
                        Notification.link, User.email)
                 .join(User, User.id == Notification.user_id)
                 .where(Notification.mail_state == "pending", Notification.mail_next_at <= now)
                 .order_by(Notification.mail_next_at, Notification.id).limit(limit))
        if not ctx.db.is_sqlite:
            query = query.with_for_update(of=Notification, skip_locked=True)
        rows = session.execute(query).all()
        claimed: list[_Outgoing] = []
        for row in rows:
            if not row.email:  # the address was removed meanwhile: in-app only
                session.execute(update(Notification).where(Notification.id == row.id).values(mail_state="none"))
                continue
            try:
                message = build_message(ctx.config, row.email, row.subject, row.body, row.link)
            except Unsendable as exc:
                log.warning("notification %d cannot be mailed: %s", row.id, exc)
                session.execute(update(Notification).where(Notification.id == row.id).values(
                    mail_state="failed", mail_next_at=None, mail_attempts=row.mail_attempts + 1,
                    mail_error=str(exc)[:MAX_ERROR_CHARS]))
                report.failed += 1
                continue
            session.execute(update(Notification).where(Notification.id == row.id).values(mail_next_at=lease))
            claimed.append(_Outgoing(row.id, lease, row.mail_attempts, message))
        uow.commit()
    return claimed


def _send(settings: SmtpSettings, outgoing: list[_Outgoing]) -> dict[int, Exception | None]:
    """Send over one connection; a connection that fails fails every mail of the batch."""
    results: dict[int, Exception | None] = {}
    try:
        with _connect(settings) as smtp:
            for item in outgoing:
                try:
                    smtp.send_message(item.message)
                    results[item.id] = None
                except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as exc:
                    results[item.id] = exc
                except (smtplib.SMTPNotSupportedError, ValueError, TypeError, UnicodeError) as exc:
                    # e.g. a non-ASCII address the server cannot take: this mail, not the connection
                    results[item.id] = Unsendable(f"{type(exc).__name__}: {exc}")
    except (OSError, smtplib.SMTPException) as exc:  # refused, timed out, TLS or login failed
        log.warning("mail server %s:%d: %s", settings.host, settings.port, exc)
        for item in outgoing:
            results.setdefault(item.id, exc)
    return results


def _connect(settings: SmtpSettings) -> smtplib.SMTP:
    if settings.tls:
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout,
                                              context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        if settings.starttls:
            smtp.starttls(context=ssl.create_default_context())
    if settings.username:
        smtp.login(settings.username, settings.password or "")
    return smtp


def _record(ctx: EngineContext, outgoing: list[_Outgoing], results: dict[int, Exception | None],
            report: MailReport) -> None:
    now = clock.now()
    with ctx.uow() as uow:
        for item in outgoing:
            error = results.get(item.id)
            # only while our lease holds: a sender that took over after it ran out owns the row now
            mine = (Notification.id == item.id, Notification.mail_state == "pending",
                    Notification.mail_next_at == item.lease)
            if error is None:
                values: dict[str, Any] = {"mail_state": "sent", "mail_sent_at": now, "mail_error": None,
                                          "mail_attempts": item.attempts + 1}
                report.sent += 1
            else:
                attempts = item.attempts + 1
                reason = str(error) if isinstance(error, Unsendable) else f"{type(error).__name__}: {error}"
                values = {"mail_attempts": attempts, "mail_error": reason[:MAX_ERROR_CHARS]}
                if attempts >= MAX_ATTEMPTS or isinstance(error, Unsendable):
                    values.update(mail_state="failed", mail_next_at=None)
                    report.failed += 1
                else:
                    values["mail_next_at"] = now + retry_delay(attempts)
                    report.retried += 1
            uow.session.execute(update(Notification).where(*mine).values(**values))
        uow.commit()


def expired_reason(days: int, last_error: str | None) -> str:
    """Why an old mail was given up: its age, and what kept it (the last error, or no sender)."""
    cause = f"last error: {last_error}" if last_error else NO_SENDER
    return f"{EXPIRED.format(days=days)}; {cause}"[:MAX_ERROR_CHARS]


def expire_stale_mails(ctx: EngineContext, limit: int = EXPIRE_BATCH) -> int:
    """Give up pending mails queued more than ``KIM_MAIL_MAX_AGE_DAYS`` ago (``failed``, with the
    reason); returns how many. Rows a sender holds on lease are left to it (it records them)."""
    days = mail_max_age_days(ctx.config.get("KIM_MAIL_MAX_AGE_DAYS"))
    now = clock.now()
    with ctx.uow() as uow:
        session = uow.session
        query = (select(Notification.id, Notification.mail_error)
                 .where(Notification.mail_state == "pending", Notification.mail_next_at <= now,
                        Notification.created_at < now - timedelta(days=days))
                 .order_by(Notification.id).limit(limit))
        if not ctx.db.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        rows = session.execute(query).all()
        for row in rows:
            session.execute(update(Notification).where(Notification.id == row.id).values(
                mail_state="failed", mail_next_at=None, mail_error=expired_reason(days, row.mail_error)))
        uow.commit()
    if rows:
        log.warning("mail: %d notification mails older than %d days given up unsent", len(rows), days)
    return len(rows)


def next_mail_at(session: Session) -> datetime | None:
    """When the next pending mail is due (index on mail_state, mail_next_at)."""
    return session.scalar(select(Notification.mail_next_at).where(Notification.mail_state == "pending")
                          .order_by(Notification.mail_next_at).limit(1))


def send_all_due(ctx: EngineContext) -> MailReport:
    """Batches until nothing due is left (CLI, tests); stops early when a batch settles nothing
    (the server refuses: the rest waits for its retry time)."""
    total = MailReport()
    while True:
        report = send_due_mails(ctx)
        for name in ("claimed", "sent", "retried", "failed"):
            setattr(total, name, getattr(total, name) + getattr(report, name))
        if report.claimed == 0 or report.sent + report.failed == 0:
            return total
