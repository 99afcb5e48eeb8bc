"""Deliver a message to a running instance: one engine step, like completing a task.

Some actions outside the model start a part of it: accepting plan-goal proposals when no plan
step is open starts the plan revision (an event subprocess of the pathway started by a message).
The caller holds the instance row lock (:func:`engine.persistence.store.lock_instance`), so two
deliveries to the same instance run one after the other; this module restores the live state,
hands the workflow the message, persists and projects the step and audits it
(``instance.message``, with the message name only - the payload may hold case data).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from engine.domain.actors import Actor
from engine.domain.errors import Conflict
from engine.persistence.models import InstanceStatus
from engine.persistence.store import InstanceRecord
from engine.services.context import EngineContext
from engine.services.stepping import step
from engine.services.stepping.projection import Known, Projection


def deliver(session: Session, ctx: EngineContext, instance: InstanceRecord, name: str,
            payload: Mapping[str, Any], actor: Actor) -> Projection:
    """Deliver message ``name`` with ``payload`` to the (locked) instance and run the step it starts.

    409 when the instance is not running or nothing in it receives the message.
    """
    if instance.status != InstanceStatus.RUNNING.value:
        raise Conflict(f"the process is {instance.status}; it receives no message now")
    workflow, spec = step.restore(session, ctx, instance)
    before = ctx.runtime.waiting(workflow)
    result = ctx.runtime.deliver_message(workflow, name, payload)
    projection = step.persist_step(session, ctx, instance, workflow, result, spec, Known(before=before), actor)
    step.audit_instance(session, actor, "instance.message", "process_instance", instance.id, instance,
                        {"message": name})
    return projection
