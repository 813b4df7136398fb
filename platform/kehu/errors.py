"""One error hierarchy for the whole engine; the web layer renders each in one place."""

from __future__ import annotations


class KehuError(Exception):
    """Base of every error Kehu raises on purpose."""

    status = 400
    code = "error"


class NotFound(KehuError):
    status = 404
    code = "not_found"


class Forbidden(KehuError):
    status = 403
    code = "forbidden"


class RecordInvalid(KehuError):
    """Validation failed; ``errors`` maps a field name (or ``_record``) to messages."""

    status = 422
    code = "invalid"

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


class Conflict(KehuError):
    """A save carried a stale row version; ``changes`` lists what others changed since."""

    status = 409
    code = "conflict"

    def __init__(self, message: str, changes: list[dict] | None = None, current: dict | None = None):
        super().__init__(message)
        self.changes = changes or []
        self.current = current


class WorkflowError(KehuError):
    status = 409
    code = "workflow"


class Locked(KehuError):
    """The record waits for approval: only administrators may change it until it is decided."""

    status = 423
    code = "locked"
