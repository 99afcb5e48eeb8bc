"""Server-rendered pages: the inbox, the task page and the case page (German by default)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import clock
from engine.domain.errors import Conflict, EngineError, InvalidInput
from engine.services.casework import cases, inbox, instances, navigation
from engine.services.stepping.deadlines import reminder_moment
from webapp.core.forms_html import fields_for, parse_posted
from webapp.core.nav import nav_entries
from webapp.core.security import csrf_token, current_actor, engine_context, login_required, require_actor

ui = Blueprint("ui", __name__, template_folder="templates")



@ui.app_context_processor
def _globals() -> dict[str, Any]:
    actor = current_actor() if not request.path.startswith("/api/") else None
    counts = navigation.navigation_counts(engine_context(), actor) if actor is not None else {}
    return {"actor": actor, "csrf": csrf_token, "counts": counts,
            "nav_entries": nav_entries(current_app, actor)}


@ui.get("/")
def home() -> Any:
    return redirect(url_for("ui.inbox"))


@ui.get("/inbox", endpoint="inbox")
@login_required
def inbox_page() -> Any:
    actor = require_actor()
    args = request.args.to_dict()
    args.setdefault("view", "mine" if args.get("view") == "mine" else args.get("view", "office"))
    try:
        task_filter = inbox.parse_filter(args)
        listing = inbox.list_tasks(engine_context(), actor, task_filter)
    except InvalidInput as exc:
        return render_template("inbox.html", listing={"items": [], "total": 0, "page": 1, "per_page": 50},
                               args=args, errors=exc.fields), 422
    _mark_due_state(listing["items"])
    return render_template("inbox.html", listing=listing, args=args, errors={})


def _mark_due_state(items: list[dict[str, Any]]) -> None:
    """overdue: past its due moment; soon: its "due soon" reminder has come (KIM_REMIND_BEFORE,
    08:00 on the working day before the due day), so the inbox says what the reminder said."""
    ctx = engine_context()
    now = clock.now()
    remind_before = ctx.config.get("KIM_REMIND_BEFORE")
    for item in items:
        due = datetime.fromisoformat(item["due_at"]) if item["due_at"] else None
        remind_at = reminder_moment(due, remind_before, ctx.calendar) if due is not None else None
        item["due_state"] = (None if due is None else "overdue" if due < now
                             else "soon" if remind_at is not None and remind_at <= now else None)


@ui.post("/tasks/<uuid:task_id>/<any(claim, release, assign, follow_up):action>")
@login_required
def work_task(task_id: UUID, action: str) -> Any:
    actor, ctx = require_actor(), engine_context()
    try:
        if action == "claim":
            inbox.claim_task(ctx, actor, task_id)
            flash(_("Aufgabe übernommen."), "ok")
        elif action == "release":
            inbox.release_task(ctx, actor, task_id)
            flash(_("Aufgabe freigegeben."), "ok")
        elif action == "assign":
            inbox.assign_task(ctx, actor, task_id, request.form.get("username", ""))
            flash(_("Aufgabe zugewiesen."), "ok")
        else:
            inbox.set_follow_up(ctx, actor, task_id, request.form.get("date") or None)
            flash(_("Wiedervorlage gesetzt."), "ok")
    except (Conflict, InvalidInput) as exc:
        flash(_message(exc), "error")
    target = request.form.get("back") or url_for("ui.inbox")
    return redirect(target if target.startswith("/") and not target.startswith("//") else url_for("ui.inbox"))


def _message(exc: EngineError) -> str:
    fields = getattr(exc, "fields", {}) or {}
    return f"{exc}" + (": " + ", ".join(f"{k}: {v}" for k, v in fields.items()) if fields else "")


def _render_task(task_id: UUID, data: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                 status: int = 200) -> Any:
    actor, ctx = require_actor(), engine_context()
    task = inbox.get_task(ctx, actor, task_id)
    form = current_app.extensions["kim_forms"].get(task["form_key"]) if task["form_key"] else None
    values = data if data is not None else (task.get("data") or {})
    fields = fields_for(form.schema, form.ui, values, errors or {}) if form else []
    return render_template("task.html", task=task, form=form, fields=fields, errors=errors or {}), status


@ui.get("/tasks/<uuid:task_id>")
@login_required
def task_page(task_id: UUID) -> Any:
    return _render_task(task_id)


@ui.post("/tasks/<uuid:task_id>")
@login_required
def submit_task(task_id: UUID) -> Any:
    actor, ctx = require_actor(), engine_context()
    task = inbox.task_summary(ctx, actor, task_id)
    registry = current_app.extensions["kim_forms"]
    schema = registry.get(task["form_key"]).schema if task["form_key"] else {"properties": {}}
    data = parse_posted(schema, request.form)
    if request.form.get("action") == "draft":
        inbox.save_draft(ctx, actor, task_id, data)
        flash(_("Entwurf gespeichert."), "ok")
        return redirect(url_for("ui.task_page", task_id=task_id))
    try:
        done = instances.complete_task(ctx, task_id, actor, data, forms=registry)
    except InvalidInput as exc:
        return _render_task(task_id, data, exc.fields, 422)
    flash(_("Aufgabe erledigt."), "ok")
    mine = [t for t in done.next_task_ids if inbox.task_summary(ctx, actor, t)["assignee"] in (None, actor.username)]
    if mine:
        return redirect(url_for("ui.task_page", task_id=mine[0]))
    return redirect(url_for("ui.inbox"))


@ui.get("/cases/new")
@login_required
def new_case_form() -> Any:
    return render_template("case_new.html", values={}, errors={})


@ui.post("/cases/new")
@login_required
def open_case() -> Any:
    form = request.form
    body = {"person": {k: form.get(k) or None for k in ("given_name", "family_name", "date_of_birth", "nationality")},
            "referral": {"source": form.get("source"), "reason": form.get("reason"),
                         "referred_at": form.get("referred_at") or None}}
    try:
        created = cases.open_case(engine_context(), require_actor(), body)
    except InvalidInput as exc:
        return render_template("case_new.html", values=form, errors=exc.fields), 422
    flash(_("Fall %(ref)s angelegt.", ref=created["reference"]), "ok")
    return redirect(url_for("ui.case_page", case_id=created["id"]))


@ui.get("/cases/<uuid:case_id>")
@login_required
def case_page(case_id: UUID) -> Any:
    actor, ctx = require_actor(), engine_context()
    case = cases.get_case(ctx, actor, case_id)
    timeline = cases.case_timeline(ctx, actor, case_id)
    process = cases.case_process(ctx, actor, case_id)
    return render_template("case.html", case=case, timeline=timeline, process=process)


@ui.get("/cases/<uuid:case_id>/process.json")
@login_required
def case_process(case_id: UUID) -> Any:
    """Diagram source and position for the bpmn-js viewer on the case page."""
    process = cases.case_process(engine_context(), require_actor(), case_id)
    if process is None:
        abort(404)
    return jsonify({k: v for k, v in process.items() if k != "screening"})


@ui.post("/cases/<uuid:case_id>/consents")
@login_required
def add_consent(case_id: UUID) -> Any:
    body = {"office": request.form.get("office", ""), "purpose": request.form.get("purpose", ""),
            "categories": [c.strip() for c in request.form.get("categories", "").split(",") if c.strip()]}
    try:
        cases.record_consent(engine_context(), require_actor(), case_id, body)
        flash(_("Einwilligung erfasst."), "ok")
    except InvalidInput as exc:
        flash(_message(exc), "error")
    return redirect(url_for("ui.case_page", case_id=case_id))


@ui.post("/cases/<uuid:case_id>/consents/<uuid:consent_id>/withdraw")
@login_required
def withdraw(case_id: UUID, consent_id: UUID) -> Any:
    try:
        cases.withdraw_consent(engine_context(), require_actor(), case_id, consent_id)
        flash(_("Einwilligung widerrufen; offene Aufgaben dieses Amtes wurden abgebrochen."), "ok")
    except Conflict as exc:
        flash(str(exc), "error")
    return redirect(url_for("ui.case_page", case_id=case_id))
