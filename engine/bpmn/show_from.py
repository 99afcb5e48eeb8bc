"""``showFrom``: what a user task is about, named by the model and read from the task's data.

A task the engine creates starts with empty form data: without help its page shows only the task's
name, and a warning "Frist im Haushalt" does not say whose deadline, which path or which day. The
model names labelled data fields - ``Familienmitglied=household_deadline.member_name;
Frist=household_deadline.deadline`` - and the step that creates the task copies their values onto it
(engine.services.stepping.task_context). Checked here when a model is uploaded, so a typo is a model
problem at the desk of the process owner, not an empty card in front of a caseworker.
"""

from __future__ import annotations

import re

from engine.domain.model import ValidationProblem

DATA_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}(\.[A-Za-z0-9_]{1,64}){0,4}")
"""A dotted path into the task data (``officeFrom``, ``showFrom``): a variable, then at most four keys
(a key may start with a digit: ``deadlines.25a.deadline``)."""
MAX_ENTRIES = 8  # a card, not a second form
MAX_LABEL = 60


def parse_show_from(task_id: str, value: str | None,
                    problems: list[ValidationProblem]) -> tuple[tuple[str, str], ...]:
    """(label, path) pairs of ``Label=path; Label=path``; each problem found is appended to
    ``problems`` (English, translated by engine.services.process_models.model_messages)."""
    if not value or not value.strip():
        return ()
    entries = [e.strip() for e in value.split(";") if e.strip()]
    if len(entries) > MAX_ENTRIES:
        problems.append(ValidationProblem(task_id, f"showFrom names {len(entries)} entries; at most "
                                                   f"{MAX_ENTRIES} are shown"))
        return ()
    found: list[tuple[str, str]] = []
    for entry in entries:
        label, equals, path = (part.strip() for part in entry.partition("="))
        if not equals or not label or not path:
            problems.append(ValidationProblem(task_id, f"showFrom entry '{entry[:80]}' is not 'Label=data.path' "
                                                       "(e.g. Frist=household_deadline.deadline)"))
        elif len(label) > MAX_LABEL:
            problems.append(ValidationProblem(task_id, f"showFrom label '{label[:80]}' is longer than "
                                                       f"{MAX_LABEL} characters"))
        elif not DATA_PATH.fullmatch(path):
            problems.append(ValidationProblem(task_id, f"showFrom path '{path[:80]}' is not a data field name "
                                                       "(e.g. household_deadline.deadline)"))
        elif any(label == seen for seen, _path in found):
            problems.append(ValidationProblem(task_id, f"showFrom label '{label}' appears more than once"))
        else:
            found.append((label, path))
    return tuple(found) if len(found) == len(entries) else ()
