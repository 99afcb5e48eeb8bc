"""Concurrency in tests: the same action in several threads released at one moment."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def at_once(action: Callable[[], T], times: int = 2, timeout: float = 60) -> tuple[list[T], list[BaseException]]:
    """Run ``action`` in ``times`` threads that start together (a barrier); what they returned and what
    they raised, for the test thread to assert on."""
    barrier = threading.Barrier(times)
    results: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(timeout)
            results.append(action())
        except BaseException as exc:  # reported to the test thread
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    return results, errors
