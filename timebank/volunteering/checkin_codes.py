"""Rotating signed check-in codes: the leader's phone shows one as a QR code, the volunteer's phone scans it.

A code names the activity and a 30-second step, signed with the service's check-in key (HMAC-SHA256), so nobody
can make one without the key, and a code photographed and sent away stops working within a minute: the current step
and the one before are accepted, to allow for the time it takes to scan and for clocks that differ a little.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from timebank.errors import InvalidInput, RuleViolation

__all__ = ["STEP_SECONDS", "CheckInCode", "CheckInCodeExpired", "InvalidCheckInCode", "issue_code", "read_code"]

STEP_SECONDS = 30
_PREFIX = "TBCI1"
_ACCEPTED_STEPS = (0, 1)  # now, and the step just before


class InvalidCheckInCode(InvalidInput):
    """The scanned text is not a check-in code this service signed."""

    code = "invalid-check-in-code"
    title = "Invalid check-in code"

    def __init__(self) -> None:
        super().__init__("this is not a valid check-in code", field="code")


class CheckInCodeExpired(RuleViolation):
    """The check-in code was signed for an earlier moment; scan the code the leader's phone shows now."""

    code = "check-in-code-expired"
    title = "Check-in code expired"


@dataclass(frozen=True, slots=True)
class CheckInCode:
    payload: str
    activity_id: uuid.UUID
    expires_at: datetime


def _step(at: datetime) -> int:
    return int(at.timestamp()) // STEP_SECONDS


def _signature(key: bytes, activity_id: uuid.UUID, step: int) -> str:
    digest = hmac.new(key, f"{activity_id}:{step}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:15]).decode().rstrip("=")


def issue_code(key: bytes, activity_id: uuid.UUID, now: datetime) -> CheckInCode:
    """The code to show now; it is accepted until ``expires_at``."""
    step = _step(now)
    payload = f"{_PREFIX}.{activity_id.hex}.{step}.{_signature(key, activity_id, step)}"
    expires_at = datetime.fromtimestamp((step + len(_ACCEPTED_STEPS)) * STEP_SECONDS, tz=UTC)
    return CheckInCode(payload=payload, activity_id=activity_id, expires_at=expires_at)


def read_code(key: bytes, payload: str, now: datetime) -> uuid.UUID:
    """The activity a scanned code is for.

    Raises:
        InvalidCheckInCode: malformed, or not signed with ``key``.
        CheckInCodeExpired: genuine but too old (or from a clock far ahead).
    """
    parts = payload.strip().split(".")
    if len(parts) != 4 or parts[0] != _PREFIX or not parts[2].isdigit():
        raise InvalidCheckInCode
    try:
        activity_id = uuid.UUID(hex=parts[1])
    except ValueError:
        raise InvalidCheckInCode from None
    step = int(parts[2])
    if not hmac.compare_digest(_signature(key, activity_id, step), parts[3]):
        raise InvalidCheckInCode
    if _step(now) - step not in _ACCEPTED_STEPS:
        raise CheckInCodeExpired("the check-in code has expired; scan the current one", field="code")
    return activity_id
