"""The case timeline in sentences ("05.12.2026 22:28 - Erstkontakt und Aufnahme erledigt von cm1 (CM)").

German message ids with named placeholders, so the English catalogue can reorder the words.
"""

from __future__ import annotations

from collections.abc import Callable

from flask_babel import gettext as _

from engine.services.casework.timeline import TimelineSentence

SENTENCES: dict[str, Callable[[], str]] = {
    "case_opened": lambda: _("Fall angelegt von %(who)s"),
    "case_closed": lambda: _("Fall abgeschlossen"),
    "process_started": lambda: _("Prozess gestartet von %(who)s"),
    "process_migrated": lambda: _("Prozess auf eine neue Version umgestellt von %(who)s"),
    "task_completed": lambda: _("%(step)s erledigt von %(who)s"),
    "task_claimed": lambda: _("%(step)s übernommen von %(who)s"),
    "task_released": lambda: _("%(step)s freigegeben von %(who)s"),
    "task_assigned": lambda: _("%(step)s zugewiesen von %(who)s"),
    "task_follow_up": lambda: _("Wiedervorlage für %(step)s gesetzt von %(who)s"),
    "task_draft": lambda: _("Entwurf für %(step)s gespeichert von %(who)s"),
    "task_cancelled": lambda: _("%(step)s (%(office)s) abgebrochen von %(who)s"),
    "task_escalated": lambda: _("%(step)s (%(office)s) eskaliert: Frist überschritten"),
    "task_reminded": lambda: _("Erinnerung an die Frist von %(step)s (%(office)s)"),
    "timer_fired": lambda: _("Eine Frist im Prozess ist abgelaufen"),
    "timer_cancelled": lambda: _("Eine Frist im Prozess ist entfallen: ihr Zeitgeber wurde abgebrochen"),
    "consent_recorded": lambda: _("Einwilligung für %(office)s erfasst von %(who)s"),
    "consent_withdrawn": lambda: _("Einwilligung für %(office)s widerrufen von %(who)s"),
    "consent_refused": lambda: _("Einwilligung verweigert, erfasst von %(who)s"),
    "conference_convened": lambda: _("Fallkonferenz einberufen von %(who)s"),
    "consent_released": lambda: _("%(step)s an %(office)s übergeben, da die Einwilligung vorliegt"),
    "screening_run": lambda: _("Aufenthaltsperspektiven geprüft"),
    "deadline_gone": lambda: _("Mit der neuen Prüfung ist eine Frist entfallen (%(detail)s)"),
    "goals_accepted": lambda: _("Vorgeschlagene Ziele in den Integrationsplan übernommen von %(who)s"),
    "process_message": lambda: _("Prozess angestoßen von %(who)s: %(detail)s"),
    "household_inputs": lambda: _("Angaben eines Haushaltsmitglieds geändert von %(who)s"),
    "person_exported": lambda: _("Auskunft nach Art. 15 DSGVO erstellt von %(who)s"),
    "content_deleted": lambda: _("Inhalte des Falls nach Ablauf der Aufbewahrungsfrist gelöscht"),
    "other": lambda: _("Vorgang „%(action)s“ von %(who)s"),
}


def sentence_text(entry: TimelineSentence) -> str:
    """One timeline line without its time."""
    if entry.user is None:
        who = _("System")
    else:
        who = f"{entry.user} ({entry.user_office})" if entry.user_office else entry.user
    kind = "consent_released" if entry.kind == "task_released" and entry.released_for_consent else entry.kind
    template = SENTENCES.get(kind, SENTENCES["other"])()
    return template % {"who": who, "step": entry.step or _("ein Schritt"), "office": entry.office or "-",
                       "action": entry.action, "detail": entry.detail or "-"}
