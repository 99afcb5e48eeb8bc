"""Server-rendered pages: the inbox, the task page and the case page (German by default).

Each page runs in its request's unit of work (webapp.core.transactions): the navigation
counts, the use case and what the page shows are read in one transaction.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import clock
from engine.domain.errors import Conflict, EngineError, InvalidInput
from engine.services.casework import case_page as case_views
from engine.services.casework import (
    cases,
    choices,
    conferences,
    consent_options,
    consents,
    inbox,
    instances,
    my_work,
    navigation,
    task_actions,
    timeline,
)
from engine.services.casework.views import TaskPage, TaskView
from engine.services.stepping.deadlines import reminder_moment
from webapp.casework.form_rules import field_rules
from webapp.casework.page_input import consent_body, iso_day
from webapp.casework.timeline_text import sentence_text
from webapp.casework.undo import offer_undo, take_undo
from webapp.core.engine_messages import translate_fields
from webapp.core.errors import localized
from webapp.core.forms_html import fields_for, parse_posted
from webapp.core.nav import nav_entries
from webapp.core.security import csrf_token, current_actor, engine_context, login_required, require_actor
from webapp.core.serialize import to_json
from webapp.core.transactions import request_uow, run

ui = Blueprint("ui", __name__, template_folder="templates")
EMPTY_PAGE = TaskPage((), 0, False, 1, 50)


@ui.app_context_processor
def _globals() -> dict[str, Any]:
    actor = current_actor() if not request.path.startswith("/api/") else None
    counts = run(navigation.navigation_counts, actor) if actor is not None else {}
    return {"actor": actor, "csrf": csrf_token, "counts": counts,
            "nav_entries": nav_entries(current_app, actor), "take_undo": take_undo}


@ui.get("/")
def home() -> Any:
    return redirect(url_for("ui.inbox"))


@ui.get("/inbox", endpoint="inbox")
@login_required
def inbox_page() -> Any:
    actor = require_actor()
    args = request.args.to_dict()
    args.setdefault("view", "mine" if args.get("view") == "mine" else args.get("view", "office"))
    lists = {"steps": run(choices.step_choices, actor), "colleagues": run(choices.office_colleagues, actor)}
    try:
        task_filter = inbox.parse_filter(_with_iso_dates(args))
        listing = run(inbox.list_tasks, actor, task_filter)
    except InvalidInput as exc:
        return render_template("inbox.html", listing=EMPTY_PAGE, due_states={}, args=args,
                               errors=translate_fields(exc.fields), **lists), 422
    return render_template("inbox.html", listing=listing, due_states=_due_states(listing.items), args=args,
                           errors={}, now=clock.now(), **lists)


def _with_iso_dates(args: dict[str, str]) -> dict[str, str]:
    """The filter's dates as typed (TT.MM.JJJJ) or as a date input sends them (JJJJ-MM-TT)."""
    return {k: (iso_day(v) or v if k in ("due_from", "due_to") and v else v) for k, v in args.items()}


def _due_states(items: tuple[TaskView, ...]) -> dict[UUID, str]:
    """overdue: past its due moment; soon: its "due soon" reminder has come (KIM_REMIND_BEFORE,
    08:00 on the working day before the due day), so the inbox says what the reminder said."""
    ctx = engine_context()
    now = clock.now()
    remind_before = ctx.config.get("KIM_REMIND_BEFORE")
    states: dict[UUID, str] = {}
    for item in items:
        if item.due_at is None:
            continue
        remind_at = reminder_moment(item.due_at, remind_before, ctx.calendar)
        if item.due_at < now:
            states[item.id] = "overdue"
        elif remind_at is not None and remind_at <= now:
            states[item.id] = "soon"
    return states


@ui.post("/tasks/<uuid:task_id>/<any(claim, release, assign, follow_up):action>")
@login_required
def work_task(task_id: UUID, action: str) -> Any:
    actor = require_actor()
    target = request.form.get("back") or url_for("ui.inbox")
    target = target if target.startswith("/") and not target.startswith("//") else url_for("ui.inbox")
    try:
        if action == "claim":
            run(task_actions.claim_task, actor, task_id)
            flash(_("Aufgabe übernommen."), "ok")
        elif action == "release":
            released = run(task_actions.release_task, actor, task_id)
            flash(_("Aufgabe „%(name)s“ freigegeben.", name=released.name), "ok")
            if request.form.get("undo") != "no":
                offer_undo(_("Wieder übernehmen"), url_for("ui.work_task", task_id=task_id, action="claim"),
                           target)
        elif action == "assign":
            run(task_actions.assign_task, actor, task_id, request.form.get("username", ""))
            flash(_("Aufgabe zugewiesen."), "ok")
        else:
            _follow_up(actor, task_id)
    except (Conflict, InvalidInput) as exc:
        flash(_message(exc), "error")
    return redirect(target)


def _follow_up(actor: Any, task_id: UUID) -> None:
    """Set (date, optional reason) or clear (``clear``) the task's Wiedervorlage."""
    if request.form.get("clear"):
        run(task_actions.set_follow_up, actor, task_id, None)
        flash(_("Wiedervorlage aufgehoben."), "ok")
        return
    raw = (request.form.get("date") or "").strip()
    day = iso_day(raw)
    if day is None:
        flash(_("Bitte das Datum der Wiedervorlage als TT.MM.JJJJ angeben."), "error")
        return
    try:
        done = run(task_actions.set_follow_up, actor, task_id, day, request.form.get("reason") or None)
    except InvalidInput as exc:
        flash(_("Das Datum der Wiedervorlage muss nach heute liegen.") if "date" in exc.fields
              else _("Der Grund der Wiedervorlage ist zu lang (höchstens 500 Zeichen)."), "error")
        return
    flash(_("Wiedervorlage zum %(day)s gesetzt; die Aufgabe erscheint bis dahin nur mit „mit Wiedervorlagen“.",
            day=done.follow_up_at.astimezone(clock.BERLIN).strftime("%d.%m.%Y") if done.follow_up_at else raw), "ok")


def _message(exc: EngineError) -> str:
    """The message in the reader's language; field messages only where they add something."""
    message, fields = localized(str(exc), getattr(exc, "fields", None))
    extra = [problem for problem in fields.values() if problem.rstrip(".").lower() not in message.lower()]
    return message + (" (" + "; ".join(extra) + ")" if extra else "")


def _render_task(task_id: UUID, data: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                 status: int = 200) -> Any:
    actor = require_actor()
    task = run(task_actions.get_task, actor, task_id)
    form = engine_context().forms.get(task.form_key, request_uow().session) if task.form_key else None
    values = data if data is not None else (task.data or {})
    fields = fields_for(form.schema, form.ui, values, errors or {}) if form else []
    conference = run(conferences.conference_of_task, actor, task_id)
    colleagues = run(choices.task_colleagues, actor, task_id) if task.state in ("open", "claimed") else ()
    return render_template("task.html", task=task, form=form, fields=fields, errors=errors or {},
                           conference=conference, colleagues=colleagues, due_state=_due_states((task,)).get(task.id),
                           rules=field_rules(form.schema) if form else {}, now=clock.now()), status


@ui.get("/tasks/<uuid:task_id>")
@login_required
def task_page(task_id: UUID) -> Any:
    return _render_task(task_id)


@ui.post("/tasks/<uuid:task_id>")
@login_required
def submit_task(task_id: UUID) -> Any:
    actor = require_actor()
    task = run(task_actions.task_summary, actor, task_id)
    form = engine_context().forms.get(task.form_key, request_uow().session) if task.form_key else None
    schema = form.schema if form is not None else {"properties": {}}
    data = parse_posted(schema, request.form)
    if request.form.get("action") == "draft":
        run(task_actions.save_draft, actor, task_id, data)
        flash(_("Entwurf gespeichert."), "ok")
        return redirect(url_for("ui.task_page", task_id=task_id))
    try:
        done = run(instances.complete_task, task_id, actor, data)
    except InvalidInput as exc:
        return _render_task(task_id, data, translate_fields(exc.fields), 422)
    flash(_("Aufgabe erledigt."), "ok")
    mine = [t for t in done.next_tasks if t.assignee in (None, actor.username)]
    if mine:
        return redirect(url_for("ui.task_page", task_id=mine[0].id))
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
        created = run(cases.open_case, require_actor(), body)
    except InvalidInput as exc:
        return render_template("case_new.html", values=form, errors=translate_fields(exc.fields)), 422
    flash(_("Fall %(ref)s angelegt.", ref=created.reference), "ok")
    return redirect(url_for("ui.case_page", case_id=created.id))


@ui.get("/cases/<uuid:case_id>")
@login_required
def case_page(case_id: UUID) -> Any:
    actor = require_actor()
    case = run(cases.get_case, actor, case_id)
    story = run(timeline.case_story, actor, case_id)
    process = run(case_views.case_process, actor, case_id)
    minor = bool(case.person and consent_options.is_minor(case.person.date_of_birth, clock.local_now().date()))
    return render_template("case.html", case=case, timeline=[(e.at, sentence_text(e)) for e in story],
                           process=process, conferences=run(conferences.list_conferences, actor, case_id),
                           conference_options=run(conferences.conference_options, actor, case_id),
                           office_choices=run(consent_options.office_choices), categories=consent_options.CATEGORIES,
                           category_labels=consent_options.CATEGORY_LABELS, minor=minor)


@ui.get("/my-cases", endpoint="my_cases")
@login_required
def my_cases_page() -> Any:
    """Meine Fälle: the open cases I run, with their next deadline."""
    return render_template("my_cases.html", my_cases=run(my_work.my_cases, require_actor()), now=clock.now())


@ui.get("/follow-ups", endpoint="follow_ups")
@login_required
def follow_ups_page() -> Any:
    """Meine Wiedervorlagen: tasks set aside until a day, soonest first."""
    return render_template("follow_ups.html", tasks=run(my_work.my_follow_ups, require_actor()))


@ui.get("/cases/<uuid:case_id>/process.json")
@login_required
def case_process(case_id: UUID) -> Any:
    """Diagram source and position for the bpmn-js viewer on the case page."""
    process = run(case_views.case_process, require_actor(), case_id)
    if process is None:
        abort(404)
    return jsonify(to_json(process))


@ui.post("/cases/<uuid:case_id>/consents")
@login_required
def add_consent(case_id: UUID) -> Any:
    body, problems = consent_body(request.form)
    if problems:
        flash(_consent_problems(problems), "error")
        return redirect(url_for("ui.case_page", case_id=case_id) + "#consents")
    try:
        recorded = run(consents.record_consent, require_actor(), case_id, body)
        flash(_("Einwilligung für %(office)s erfasst.", office=recorded.office), "ok")
    except InvalidInput as exc:
        flash(_consent_problems(exc.fields), "error")
    return redirect(url_for("ui.case_page", case_id=case_id) + "#consents")


def _consent_problems(fields: dict[str, str]) -> str:
    """What is wrong with a consent entry, in the reader's language (field by field)."""
    texts = {"office": _("Bitte das Amt aus der Liste wählen."),
             "categories": _("Bitte mindestens eine Datenkategorie ankreuzen."),
             "purpose": _("Bitte den Zweck der Weitergabe angeben."),
             "signed_on": _("Bitte das Datum der Unterschrift als TT.MM.JJJJ angeben (nicht in der Zukunft)."),
             "custodian": _("Die Person ist minderjährig: bitte die sorgeberechtigte Person angeben, "
                            "die unterschrieben hat.")}
    return " ".join([str(_("Die Einwilligung wurde nicht erfasst.")), *(str(texts.get(name, name)) for name in fields)])


@ui.post("/cases/<uuid:case_id>/conferences")
@login_required
def convene_conference(case_id: UUID) -> Any:
    body = {"offices": request.form.getlist("offices"), "date": request.form.get("date") or None,
            "agenda": request.form.get("agenda", "")}
    try:
        convened = run(conferences.convene_conference, require_actor(), case_id, body)
    except InvalidInput as exc:
        flash(_message(exc), "error")
        return redirect(url_for("ui.case_page", case_id=case_id) + "#conferences")
    flash(_("Fallkonferenz am %(day)s einberufen; die eingeladenen Stellen haben eine Aufgabe.",
            day=convened.held_on.strftime("%d.%m.%Y")), "ok")
    return redirect(url_for("ui.conference_page", conference_id=convened.id))


@ui.get("/conferences/<uuid:conference_id>")
@login_required
def conference_page(conference_id: UUID) -> Any:
    """The conference with its minutes: participants only (everybody else gets 404)."""
    conference = run(conferences.get_conference, require_actor(), conference_id)
    form = engine_context().forms.get(conferences.MINUTES_FORM, request_uow().session)
    minutes = fields_for(form.schema, form.ui, conference.minutes or {}, {}) if conference.minutes else []
    return render_template("conference.html", conference=conference, minutes=minutes)


@ui.post("/cases/<uuid:case_id>/consents/<uuid:consent_id>/withdraw")
@login_required
def withdraw(case_id: UUID, consent_id: UUID) -> Any:
    try:
        withdrawn = run(consents.withdraw_consent, require_actor(), case_id, consent_id)
        flash(_("Einwilligung für %(office)s widerrufen; offene Aufgaben dieses Amtes wurden abgebrochen.",
                office=withdrawn.office), "ok")
        offer_undo(_("Rückgängig: Einwilligung wieder erfassen"),
                   url_for("ui.restore_consent", case_id=case_id, consent_id=consent_id),
                   url_for("ui.case_page", case_id=case_id) + "#consents")
    except Conflict as exc:
        flash(_message(exc), "error")
    return redirect(url_for("ui.case_page", case_id=case_id) + "#consents")


@ui.post("/cases/<uuid:case_id>/consents/<uuid:consent_id>/restore")
@login_required
def restore_consent(case_id: UUID, consent_id: UUID) -> Any:
    """Undo a withdrawal clicked by mistake: the same consent is recorded again (a new, audited
    record; the office's tasks come back as on any new consent)."""
    actor = require_actor()
    case = run(cases.get_case, actor, case_id)
    old = next((c for c in case.consents if c.id == consent_id and c.withdrawn_at is not None), None)
    if old is None:
        flash(_("Diese Einwilligung lässt sich nicht wiederherstellen."), "error")
        return redirect(url_for("ui.case_page", case_id=case_id) + "#consents")
    body = {"office": old.office, "purpose": old.purpose, "categories": list(old.categories),
            "signed_on": old.signed_on.isoformat() if old.signed_on else None, "custodian": old.custodian}
    try:
        run(consents.record_consent, actor, case_id, body)
        flash(_("Einwilligung für %(office)s wieder erfasst.", office=old.office), "ok")
    except InvalidInput as exc:
        flash(_consent_problems(exc.fields), "error")
    return redirect(url_for("ui.case_page", case_id=case_id) + "#consents")
