"""Domain errors shared by every capability.

Capabilities raise these; ``timebank.http.problems`` maps them to RFC 9457 problem documents at the edge, so no
capability knows about HTTP. The tree::

    TimebankError            a rule of the service refused the request
    ├── NotFound             the thing does not exist (or is not visible to the caller)
    ├── Conflict             the request clashes with the current state (duplicate, already done)
    ├── RuleViolation        the request is well-formed but a business rule forbids it
    ├── InvalidInput         a value is wrong in a way the wire types cannot express
    └── Forbidden            the caller may not do this

Each error carries a stable ``code`` (the last segment of its problem type URI) and structured ``fields`` that the
problem document shows next to the human ``detail``.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = ["Conflict", "Forbidden", "InvalidInput", "NotFound", "RuleViolation", "TimebankError"]


class TimebankError(Exception):
    """Base of every error a client can cause; never a bug in the service."""

    code: ClassVar[str] = "timebank-error"
    title: ClassVar[str] = "Request refused"

    def __init__(self, detail: str, **fields: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.fields = fields


class NotFound(TimebankError):
    """The named thing does not exist, or belongs to a community the caller cannot see."""

    code = "not-found"
    title = "Not found"


class Conflict(TimebankError):
    """The request contradicts the current state, e.g. an idempotency key reused with a different body."""

    code = "conflict"
    title = "Conflict with current state"


class RuleViolation(TimebankError):
    """A business rule refuses an otherwise valid request, e.g. spending more points than held."""

    code = "rule-violation"
    title = "Business rule violated"


class InvalidInput(TimebankError):
    """A value is invalid in a way only the service can tell, e.g. an end before its start."""

    code = "invalid-input"
    title = "Invalid input"

    def __init__(self, detail: str, *, field: str, **fields: Any) -> None:
        super().__init__(detail, field=field, **fields)


class Forbidden(TimebankError):
    """The authenticated caller lacks a role that allows the action."""

    code = "forbidden"
    title = "Forbidden"
