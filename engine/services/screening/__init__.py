"""Residence-path screening and DMN decisions (DOMAIN.md sections 5 and 9).

Entry points: :func:`.decisions.evaluate_decision` (any deployed table, or ``residence_paths``),
:func:`.household.evaluate_screening` (a person, or a household with derived rows) and
:func:`.openers.propose_plan_goals` (what would open each unmet path). Who may see which reason:
:func:`engine.domain.screening_audience.for_audience`.
"""
