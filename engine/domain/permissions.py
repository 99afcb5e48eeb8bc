"""Who may do what: one table of roles and permissions, asked by services, navigation and templates.

Deny by default: a permission not granted here is refused. The table says what a role may do
at all; *which* cases and tasks it may touch is decided with the objects at hand (offices of the
task, need to know in :mod:`engine.domain.visibility`). Members of the KIM coordination (office
KI) get the indicators whatever their role (DOMAIN.md section 8: KI reports to the Land).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from functools import lru_cache

from engine.domain.actors import Actor
from engine.domain.errors import NotAllowed


class Role(StrEnum):
    CASEWORKER = "caseworker"
    SUPERVISOR = "supervisor"  # an office lead
    PROCESS_OWNER = "process_owner"
    ADMIN = "admin"
    AUDITOR = "auditor"  # the data protection officer


class Permission(StrEnum):
    WORK_TASKS = "work_tasks"                    # inbox, claim, complete tasks of one's offices
    OPEN_CASES = "open_cases"
    LEAD_OFFICE = "lead_office"                  # whole office, overdue list, release and reassign others' tasks
    SUPERVISE = "supervise"                      # the supervisor dashboard (Steuerung)
    VIEW_INDICATORS = "view_indicators"          # Kennzahlen
    VIEW_MODELS = "view_models"                  # list models, versions and diffs
    EDIT_MODELS = "edit_models"                  # modeler, drafts, publish, deploy
    EDIT_FORMS = "edit_forms"
    MIGRATE_CASES = "migrate_cases"
    VIEW_INSTANCES = "view_instances"            # the instance view (leads: cases of their offices)
    MANAGE_CALENDAR = "manage_calendar"          # municipal closing days
    MANAGE_USERS = "manage_users"                # accounts and tokens
    READ_AUDIT = "read_audit"
    BYPASS_OFFICES = "bypass_offices"            # complete any task (admins repairing a case)
    MANAGE_RETENTION = "manage_retention"        # legal holds, retention runs, a person's data export (GDPR)


P = Permission
GRANTS: Mapping[Role, frozenset[Permission]] = {
    Role.CASEWORKER: frozenset({P.WORK_TASKS, P.OPEN_CASES}),
    Role.SUPERVISOR: frozenset({P.WORK_TASKS, P.OPEN_CASES, P.LEAD_OFFICE, P.SUPERVISE, P.VIEW_INDICATORS,
                                P.VIEW_MODELS, P.VIEW_INSTANCES}),
    Role.PROCESS_OWNER: frozenset({P.VIEW_MODELS, P.EDIT_MODELS, P.EDIT_FORMS, P.MIGRATE_CASES, P.VIEW_INSTANCES}),
    Role.ADMIN: frozenset({P.SUPERVISE, P.VIEW_INDICATORS, P.VIEW_MODELS, P.EDIT_MODELS, P.EDIT_FORMS,
                           P.MIGRATE_CASES, P.VIEW_INSTANCES, P.MANAGE_CALENDAR, P.MANAGE_USERS,
                           P.BYPASS_OFFICES, P.MANAGE_RETENTION}),
    Role.AUDITOR: frozenset({P.VIEW_INDICATORS, P.READ_AUDIT}),
}
OFFICE_GRANTS: Mapping[str, frozenset[Permission]] = {
    "KI": frozenset({P.VIEW_INDICATORS}),
}
REFUSALS: Mapping[Permission, str] = {
    P.WORK_TASKS: "Aufgaben bearbeiten nur Sachbearbeitung und Amtsleitungen.",
    P.OPEN_CASES: "Fälle anlegen nur Sachbearbeitung und Amtsleitungen.",
    P.LEAD_OFFICE: "Das ist der Amtsleitung vorbehalten.",
    P.SUPERVISE: "Die Steuerung ist für Amtsleitungen und Administration.",
    P.VIEW_INDICATORS: "Die Kennzahlen sehen Amtsleitungen, Administration, Datenschutz und die KIM-Koordination.",
    P.VIEW_MODELS: "Prozessmodelle sehen Prozessverantwortliche, Administration und Amtsleitungen.",
    P.EDIT_MODELS: "Prozessmodelle bearbeiten und veröffentlichen dürfen nur Prozessverantwortliche "
                   "und Administratoren.",
    P.EDIT_FORMS: "Formulare bearbeiten nur Prozessverantwortliche und Administration.",
    P.MIGRATE_CASES: "Fälle migrieren nur Prozessverantwortliche und Administration.",
    P.VIEW_INSTANCES: "Die Instanzansicht ist für Prozessverantwortliche, Administration und Amtsleitungen.",
    P.MANAGE_CALENDAR: "Den Arbeitskalender pflegt die Administration.",
    P.MANAGE_USERS: "Benutzer und Tokens verwaltet die Administration.",
    P.READ_AUDIT: "Das Protokoll lesen nur Datenschutzbeauftragte (Rolle auditor).",
    P.BYPASS_OFFICES: "Das ist der Administration vorbehalten.",
    P.MANAGE_RETENTION: "Aufbewahrung, Sperrvermerke und Auskünfte nach Art. 15 DSGVO sind der Administration "
                        "vorbehalten.",
}


def role_of(actor: Actor) -> Role | None:
    try:
        return Role(actor.role)
    except ValueError:
        return None  # the system actor, or a role this version does not know: nothing granted


def permissions_of(actor: Actor) -> frozenset[Permission]:
    return _granted(actor.role, actor.office_codes)


@lru_cache(maxsize=256)
def _granted(role_name: str, office_codes: frozenset[str]) -> frozenset[Permission]:
    """What a role in these offices holds; asked for every row of an inbox page, so remembered
    (the tables are constants: the answer for a role and its offices never changes)."""
    try:
        role: Role | None = Role(role_name)
    except ValueError:
        role = None  # the system actor, or a role this version does not know: nothing granted
    granted = set(GRANTS.get(role, frozenset())) if role is not None else set()
    for code in office_codes:
        granted |= OFFICE_GRANTS.get(code, frozenset())
    return frozenset(granted)


def has(actor: Actor | None, permission: Permission) -> bool:
    return actor is not None and permission in permissions_of(actor)


def require(actor: Actor, permission: Permission) -> None:
    """NotAllowed (403) with a German reason unless the actor holds ``permission``."""
    if not has(actor, permission):
        raise NotAllowed(REFUSALS[permission])
