"""Configuration: every ``KIM_*`` environment variable is declared here, once.

``load_config(overrides)`` reads the environment and lets explicit keys win, which is how
``webapp.create_app(config)`` and the tests configure the engine. Settings that can be wrong in
a way only a later run would notice are checked here (:class:`ConfigError`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DEFAULTS: dict[str, Any] = {
    "KIM_DATABASE_URL": None,           # default: sqlite:///<instance>/kim.sqlite3
    "KIM_INSTANCE_PATH": "instance",
    "KIM_SECRET_KEY": None,
    "KIM_TIMEZONE": "Europe/Berlin",
    "KIM_HOLIDAY_REGION": "NW",
    "KIM_CLOSING_DAYS": "",
    "KIM_SMTP_URL": None,
    "KIM_BASE_URL": "http://127.0.0.1:5000",
    "KIM_SCRIPT_TIME_LIMIT": 2.0,       # seconds per expression or script
    "KIM_SCRIPT_MEMORY_LIMIT_MB": 256,
    "KIM_DEFAULT_ESCALATE_AFTER": "5WD",
    "KIM_DEFAULT_PROCESS": "kim_pathway",  # the process a new case starts unless the request names one
    "KIM_FORMS_PATH": None,                # default: forms/ beside the engine
    "KIM_REMIND_BEFORE": "2WD",            # "due soon" reminder this long before a task's due date
    "KIM_MAIL_FROM": "kim-casework@localhost",
    "KIM_DIGEST_TIME": "07:00",            # Europe/Berlin time of the daily digest of new office tasks
    "KIM_PUBLISH_APPROVAL": "false",       # "true": publishing a model needs a second process owner
    "KIM_AUDIT_KEY": None,                 # HMAC key of the audit checkpoints (default: generated per instance)
    "KIM_AUDIT_CHECKPOINT_MINUTES": 5,     # how often the scheduler signs the changed audit chain heads
    "KIM_AUDIT_EXPORT": None,              # a file (one JSON line per checkpoint) or "syslog"
    "KIM_TOKEN_DAYS": 365,                 # a new personal API token works this many days
    "KIM_TOKEN_CACHE_SECONDS": 5,          # a token lookup is remembered per process this long (0: off)
    "KIM_SESSION_MAX_HOURS": 12,           # a browser session ends this long after sign-in, active or not
    "KIM_TRUSTED_PROXIES": 0,              # reverse proxies in front of the app whose X-Forwarded-For counts
    "KIM_SANDBOX_FENCE": "on",             # "off" runs model code without the seccomp fence (not recommended)
    "KIM_RETENTION_YEARS": 3,              # case content is deleted N years after the end of its closure year
    "KIM_MAIL_MAX_AGE_DAYS": 7,            # a notification mail not sent this many days after it was queued fails
}


class ConfigError(ValueError):
    """A ``KIM_*`` setting that cannot work; the message names the setting. A ValueError, so the
    ``kim`` commands print it as one line and exit 2; the web app does not start with it."""

    def __init__(self, setting: str, message: str) -> None:
        super().__init__(message)
        self.setting = setting


def whole_number(setting: str, raw: Any, unit: str) -> int:
    """A setting that counts ``unit`` (days, years): a whole number, at least 1; unset: its default."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return int(DEFAULTS[setting])
    try:
        number = int(str(raw).strip())
    except ValueError as exc:
        raise ConfigError(setting, f"{setting} must be a whole number of {unit}, not {raw!r}") from exc
    if number < 1:
        raise ConfigError(setting, f"{setting} must be at least 1, not {raw!r}")
    return number


def retention_years(raw: Any) -> int:
    """``KIM_RETENTION_YEARS`` as a whole number of years, at least 1 (deleting the content of a
    case closed this year would be a configuration mistake, not a policy). Unset: 3."""
    return whole_number("KIM_RETENTION_YEARS", raw, "years")


def mail_max_age_days(raw: Any) -> int:
    """``KIM_MAIL_MAX_AGE_DAYS``: how long a queued notification mail may wait for a sender. Unset: 7."""
    return whole_number("KIM_MAIL_MAX_AGE_DAYS", raw, "days")


def _checked(config: dict[str, Any]) -> dict[str, Any]:
    """Settings checked where they are read, so a mistake stops the start instead of a later
    request or scheduler run (and values come out in the type their users expect)."""
    config["KIM_RETENTION_YEARS"] = retention_years(config.get("KIM_RETENTION_YEARS"))
    config["KIM_MAIL_MAX_AGE_DAYS"] = mail_max_age_days(config.get("KIM_MAIL_MAX_AGE_DAYS"))
    return config


def load_config(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    config = dict(DEFAULTS)
    for key in DEFAULTS:
        if key in os.environ:
            config[key] = os.environ[key]
    config.update(overrides or {})
    config["KIM_INSTANCE_PATH"] = str(Path(config["KIM_INSTANCE_PATH"]).resolve())
    if not config.get("KIM_DATABASE_URL"):
        config["KIM_DATABASE_URL"] = f"sqlite:///{Path(config['KIM_INSTANCE_PATH']) / 'kim.sqlite3'}"
    return _checked(config)
