"""Shared set-up for the notification tests: people with and without mail, a real SMTP server
on loopback (aiosmtpd), a small process whose due dates and reminders the tests control."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import select

from engine import clock
from engine.domain.actors import SYSTEM, Actor
from engine.persistence.models import HumanTask, Notification, Timer, User
from engine.services.admin import directory
from engine.services.casework import cases
from engine.services.context import EngineContext
from engine.services.process_models import deployment
from engine.services.wiring import create_context
from tests.conftest import fresh_database

PEOPLE = {  # username: (role, offices, email)
    "carla": ("caseworker", ["CM"], "carla@example.org"),
    "conrad": ("caseworker", ["CM"], "conrad@example.org"),
    "nora": ("caseworker", ["CM"], None),  # no address: in-app only
    "sina": ("supervisor", ["CM"], "sina@example.org"),
    "achim": ("caseworker", ["ABH"], "achim@example.org"),
    "kira": ("supervisor", ["KI"], "kira@example.org"),
    "kim": ("caseworker", ["KI"], "kim@example.org"),
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Inbox:
    """What the SMTP server received."""

    messages: list[EmailMessage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802  # aiosmtpd's name
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append(parsed)  # policy.default yields EmailMessage
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if m["To"] == address]

    def recipients(self) -> list[str]:
        with self.lock:
            return sorted(str(m["To"]) for m in self.messages)


@contextmanager
def smtp_server(port: int) -> Iterator[Inbox]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


def make_context(database_url: str, tmp_path: Path, port: int, **extra: Any) -> EngineContext:
    url = fresh_database(database_url, tmp_path)
    ctx = create_context({"KIM_DATABASE_URL": url, "KIM_INSTANCE_PATH": str(tmp_path),
                          "KIM_SMTP_URL": f"smtp://127.0.0.1:{port}?timeout=5",
                          "KIM_BASE_URL": "https://kim.example.org", "KIM_MAIL_FROM": "kim@example.org", **extra})
    ctx.run(directory.seed_offices)
    for name, (role, offices, email) in PEOPLE.items():
        ctx.run(directory.add_user, name, role, offices, email=email)
    return ctx


def actor(ctx: EngineContext, username: str) -> Actor:
    with ctx.uow(write=False) as uow:
        user = uow.session.scalar(select(User).where(User.username == username))
        assert user is not None
        return directory.actor_for(user)


def user_id(ctx: EngineContext, username: str) -> int:
    with ctx.uow(write=False) as uow:
        found = uow.session.scalar(select(User.id).where(User.username == username))
        assert found is not None
        return found


TASK_XML = """<bpmn:userTask id="{id}" name="{name}">
      <bpmn:extensionElements><spiffworkflow:properties>{props}</spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>in_{id}</bpmn:incoming><bpmn:outgoing>out_{id}</bpmn:outgoing></bpmn:userTask>"""


def process_xml(process_id: str, props: dict[str, str], office: str = "CM") -> str:
    """One user task ``step`` in ``office`` with the given properties (dueIn, remindBefore, ...)."""
    rendered = "".join(f'<spiffworkflow:property name="{k}" value="{v}"/>' for k, v in props.items())
    task = TASK_XML.format(id="step", name="Erstkontakt dokumentieren", props=rendered)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs_{process_id}"
    targetNamespace="http://kim-casework.example/test">
  <bpmn:process id="{process_id}" name="Test {process_id}" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="lane" name="{office}"><bpmn:flowNodeRef>step</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>in_step</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="in_step" sourceRef="start" targetRef="step"/>
    {task}
    <bpmn:sequenceFlow id="out_step" sourceRef="step" targetRef="end"/>
    <bpmn:endEvent id="end"><bpmn:incoming>out_step</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""


def deploy_process(ctx: EngineContext, tmp_path: Path, process_id: str, props: dict[str, str],
                   office: str = "CM") -> None:
    path = tmp_path / f"{process_id}.bpmn"
    path.write_text(process_xml(process_id, props, office), encoding="utf-8")
    ctx.run(deployment.deploy, deployment.read_model_paths([path]), SYSTEM)


@contextmanager
def one_case_installation(database_url: str, tmp_path: Path, port: int, at: str, **extra: Any
                          ) -> Iterator[EngineContext]:
    """An installation (clock frozen at ``at``) with the small process deployed and one case open in it;
    ``extra`` settings as for :func:`make_context` (e.g. no mail server)."""
    clock.freeze(datetime.fromisoformat(at))
    context = make_context(database_url, tmp_path, port, **extra)
    deploy_process(context, tmp_path, "erstkontakt", {"dueIn": "10WD"})
    context.run(cases.open_case, actor(context, "carla"), {
        "person": {"given_name": "Amina", "family_name": "Haddad"},
        "referral": {"source": "ABH", "reason": "Perspektivberatung"}, "process_id": "erstkontakt"})
    try:
        yield context
    finally:
        clock.reset()
        context.db.dispose()


def notifications_of(ctx: EngineContext, kind: str | None = None) -> list[tuple[str, str]]:
    """(username, kind) of every notification, sorted."""
    with ctx.uow(write=False) as uow:
        query = select(User.username, Notification.kind).join(User, User.id == Notification.user_id)
        if kind is not None:
            query = query.where(Notification.kind == kind)
        return sorted((u, k) for u, k in uow.session.execute(query))


def rows(ctx: EngineContext) -> list[Notification]:
    with ctx.uow(write=False) as uow:
        return list(uow.session.scalars(select(Notification).order_by(Notification.id)))


def timers_of(ctx: EngineContext, kind: str) -> list[Timer]:
    with ctx.uow(write=False) as uow:
        return list(uow.session.scalars(select(Timer).where(Timer.kind == kind).order_by(Timer.fire_at)))


def open_task_ids(ctx: EngineContext) -> list[Any]:
    with ctx.uow(write=False) as uow:
        return list(uow.session.scalars(select(HumanTask.id).where(HumanTask.state.in_(("open", "claimed")))
                                        .order_by(HumanTask.created_at, HumanTask.id)))


def system() -> Actor:
    return SYSTEM
