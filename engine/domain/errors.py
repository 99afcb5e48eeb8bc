"""Errors the engine raises; the web layer maps them to HTTP status codes (webapp/errors.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from engine.domain.model import ValidationProblem


class EngineError(Exception):
    """Base class: every engine error carries a short code and a readable message."""

    code = "engine_error"


class NotFound(EngineError):
    code = "not_found"


class NotAllowed(EngineError):
    code = "forbidden"


class Conflict(EngineError):
    """The object changed under the caller (completed or claimed by someone else)."""

    code = "conflict"


class InvalidInput(EngineError):
    """Bad input from a caller; ``fields`` names what is wrong."""

    code = "invalid"

    def __init__(self, message: str, fields: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.fields = dict(fields or {})


class ModelInvalid(EngineError):
    """A BPMN/DMN model was refused at deploy time."""

    code = "model_invalid"

    def __init__(self, problems: Sequence[ValidationProblem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems) or "the model is invalid")
