"""Sign in and out (browser). The REST API uses personal tokens instead (see security.py)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from engine.services.admin import sessions
from webapp.core.security import CSRF_FIELD, SessionUser, csrf_token
from webapp.core.transactions import run

auth = Blueprint("auth", __name__, template_folder="templates")


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths: an open redirect would help phishing."""
    if not target:
        return url_for("ui.inbox")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("ui.inbox")
    return target


@auth.get("/login")
def login_form() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("ui.inbox"))
    return render_template("login.html", csrf=csrf_token(), error=None, username="",
                           next=request.args.get("next", ""))


@auth.post("/login")
def login() -> Any:
    username = request.form.get("username", "")
    # request.remote_addr is the real client's: ProxyFix honours KIM_TRUSTED_PROXIES hops (security.py)
    signed_in = run(sessions.sign_in, username, request.form.get("password", ""), request.remote_addr or "unknown")
    if isinstance(signed_in, sessions.Throttled):
        error = _("Zu viele Fehlversuche. Bitte versuchen Sie es in %(seconds)s Sekunden erneut.",
                  seconds=signed_in.retry_after)
        page = render_template("login.html", csrf=csrf_token(), username=username, error=error,
                               next=request.form.get("next", ""))
        return page, 429, {"Retry-After": str(signed_in.retry_after)}
    if signed_in is None:  # the failure is recorded (committed with this request) for the throttle
        return render_template("login.html", csrf=csrf_token(), username=username,
                               error=_("Anmeldung fehlgeschlagen. Bitte prüfen Sie Benutzername und Passwort."),
                               next=request.form.get("next", "")), 401
    lang = session.get("lang")
    session.clear()  # nothing of the anonymous session survives the sign-in
    if lang:
        session["lang"] = lang
    user = run(sessions.resume, signed_in.session_id)
    assert user is not None  # noqa: S101  # just created
    login_user(SessionUser(signed_in.session_id, user))
    session[CSRF_FIELD] = csrf_token()
    return redirect(_safe_next(request.form.get("next")))


@auth.post("/logout")
def logout() -> Any:
    if current_user.is_authenticated:
        run(sessions.sign_out, current_user.id)
    logout_user()
    session.clear()
    return redirect(url_for("auth.login_form"))
