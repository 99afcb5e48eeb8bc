"""Accounts and tokens for admins: /admin/users.

List the accounts, disable and enable them, list a user's tokens, make a new one (shown once)
and revoke one; the mails to the user that were given up are listed with the reason. Disabling
and revoking ask for confirmation on a page of their own (the Content-Security-Policy allows no
inline script, so no JavaScript dialog). The rules and the
audit live in ``engine.services.admin.accounts`` and ``engine.services.admin.tokens``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from engine.domain.actors import Actor
from engine.domain.errors import Conflict
from engine.domain.permissions import Permission, require
from engine.services.admin import accounts, directory, tokens
from engine.services.notifications import failures
from webapp.core.security import login_required, require_actor
from webapp.core.transactions import run

admin_users = Blueprint("admin_users", __name__, template_folder="templates")


def _admin() -> Actor:
    actor = require_actor()
    require(actor, Permission.MANAGE_USERS)
    return actor


@admin_users.get("/admin/users", endpoint="page")
@login_required
def page() -> Any:
    actor = _admin()
    return render_template("admin_users.html", users=run(accounts.list_accounts, actor))


@admin_users.get("/admin/users/<username>", endpoint="user")
@login_required
def user_page(username: str) -> Any:
    actor = _admin()
    return _user_page(actor, run(accounts.get_account, actor, username[:100]))


@admin_users.post("/admin/users/<username>/tokens", endpoint="new_token")
@login_required
def new_token(username: str) -> Any:
    actor = _admin()
    account = run(accounts.get_account, actor, username[:100])
    token = run(directory.create_token, account.username, actor)
    return _user_page(actor, account, token), 201


def _user_page(actor: Actor, account: accounts.AccountView, new_token: str | None = None) -> str:
    """An account with its tokens and the mails to it that were given up (with the reason)."""
    return render_template("admin_user.html", account=account, new_token=new_token,
                           tokens=run(tokens.list_tokens, actor, account.username),
                           failed_mails=run(failures.failed_mails, actor, account.username))


@admin_users.get("/admin/users/<username>/<any(disable, enable):action>", endpoint="confirm")
@login_required
def confirm(username: str, action: str) -> Any:
    actor = _admin()
    account = run(accounts.get_account, actor, username[:100])
    return render_template("admin_confirm.html", account=account, action=action, token=None)


@admin_users.post("/admin/users/<username>/<any(disable, enable):action>", endpoint="change")
@login_required
def change(username: str, action: str) -> Any:
    actor = _admin()
    use_case = accounts.disable_user if action == "disable" else accounts.enable_user
    try:
        account = run(use_case, actor, username[:100])
    except Conflict as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin_users.page"))
    flash(_("Benutzer %(name)s deaktiviert.", name=account.username) if action == "disable"
          else _("Benutzer %(name)s aktiviert.", name=account.username), "ok")
    return redirect(url_for("admin_users.page"))


@admin_users.get("/admin/tokens/<int:token_id>/revoke", endpoint="confirm_revoke")
@login_required
def confirm_revoke(token_id: int) -> Any:
    actor = _admin()
    found = _all_tokens(actor, token_id)
    if not found:
        abort(404)
    account = run(accounts.get_account, actor, found[0].username)
    return render_template("admin_confirm.html", account=account, action="revoke", token=found[0])


@admin_users.post("/admin/tokens/<int:token_id>/revoke", endpoint="revoke")
@login_required
def revoke(token_id: int) -> Any:
    actor = _admin()
    try:
        revoked = run(tokens.revoke_token, actor, token_id)
    except Conflict as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin_users.page"))
    flash(_("Token %(id)s widerrufen.", id=revoked.id), "ok")
    return redirect(url_for("admin_users.user", username=revoked.username))


def _all_tokens(actor: Actor, token_id: int) -> list[tokens.TokenView]:
    found = run(tokens.get_token, actor, token_id)
    return [found] if found is not None else []
