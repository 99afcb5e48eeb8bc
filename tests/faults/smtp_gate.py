"""A real SMTP server (aiosmtpd on loopback) the test can stop, start and hold mid-delivery.

``hold()`` makes the next deliveries wait inside DATA until ``release()``, so a test can kill a
sender exactly while it is talking to the server; released deliveries whose sender died are
answered "451 try again later" and not kept (the client never saw them accepted).
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


class GatedInbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()
        self.open = threading.Event()
        self.open.set()
        self.waiting = threading.Event()  # a delivery is held at the gate
        self.refuse_held = False

    def hold(self) -> None:
        self.open.clear()

    def release(self, *, refuse: bool) -> None:
        self.refuse_held = refuse
        self.open.set()

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802  # aiosmtpd's name
        if not self.open.is_set():
            self.waiting.set()
            await asyncio.get_running_loop().run_in_executor(None, self.open.wait)
            if self.refuse_held:
                return "451 4.3.0 try again later"
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append(parsed)
        return "250 OK"

    def received(self) -> Counter[tuple[str, str]]:
        """(To, Subject) -> how many times it arrived."""
        with self.lock:
            return Counter((str(m["To"]), str(m["Subject"])) for m in self.messages)


class SmtpServer:
    """Start and stop at will on a fixed port; the inbox survives restarts."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.inbox = GatedInbox()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self.inbox.release(refuse=True)  # nothing stays stuck in the loop that is going away
            self._controller.stop()
            self._controller = None
