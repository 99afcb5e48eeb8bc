"""Who is acting: a person with a role and offices, or the system itself (scheduler, CLI)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Actor:
    username: str
    role: str
    office_ids: frozenset[int] = field(default_factory=frozenset)
    user_id: int | None = None
    office_codes: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_system(self) -> bool:
        return self.user_id is None and self.role == "system"


SYSTEM = Actor(username="system", role="system")
