"""Check-in and check-out: by scanning the leader's rotating code, or recorded by the leader for people without
phones. Scanning twice keeps the first time; the times themselves are judged later, when the roster is confirmed.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import asyncpg

from timebank.access.principal import Principal
from timebank.community import audit
from timebank.errors import Conflict, InvalidInput, RuleViolation
from timebank.volunteering.activities import get_activity
from timebank.volunteering.checkin_codes import read_code
from timebank.volunteering.signups import Signup, get_signup

__all__ = ["NotCheckedIn", "OutsideCheckInWindow", "check_in_by_code", "check_out_by_code", "record_times"]

#: Volunteers may check in from an hour before the start until the end, and check out until six hours after it.
CHECK_IN_OPENS = timedelta(hours=1)
CHECK_OUT_CLOSES = timedelta(hours=6)
#: Leaders' phones and the server disagree by a little; times recorded this far ahead still count as now.
CLOCK_SKEW = timedelta(minutes=5)

_COLUMNS = "id, community_id, activity_id, person_id, status, queued_at, checked_in_at, checked_out_at, attendance_by"


class OutsideCheckInWindow(RuleViolation):
    """Check-in opens an hour before the activity starts and closes when it ends; check-out closes six hours later."""

    code = "outside-check-in-window"
    title = "Outside the check-in window"


class NotCheckedIn(RuleViolation):
    """Checking out needs a check-in first."""

    code = "not-checked-in"
    title = "Not checked in"


async def _enrolled(connection: asyncpg.Connection, activity_id: uuid.UUID, person_id: uuid.UUID) -> Signup:
    signup = await get_signup(connection, activity_id, person_id, lock=True)
    if signup.status != "enrolled":
        raise Conflict(f"the sign-up is {signup.status}, not enrolled", field="person_id", status=signup.status)
    return signup


async def check_in_by_code(
    connection: asyncpg.Connection, key: bytes, person_id: uuid.UUID, payload: str, now: datetime
) -> Signup:
    """Check ``person_id`` in to the activity the scanned code names, at ``now``."""
    activity_id = read_code(key, payload, now)
    activity = await get_activity(connection, activity_id)
    if not activity.starts_at - CHECK_IN_OPENS <= now <= activity.ends_at or activity.status != "published":
        raise OutsideCheckInWindow("check-in is not open for this activity now", field="code")
    signup = await _enrolled(connection, activity_id, person_id)
    if signup.checked_in_at is not None:
        return signup
    return await _set_times(connection, signup.id, now, None, "code")


async def check_out_by_code(
    connection: asyncpg.Connection, key: bytes, person_id: uuid.UUID, payload: str, now: datetime
) -> Signup:
    """Check ``person_id`` out of the activity the scanned code names, at ``now``."""
    activity_id = read_code(key, payload, now)
    activity = await get_activity(connection, activity_id)
    if now > activity.ends_at + CHECK_OUT_CLOSES:
        raise OutsideCheckInWindow("check-out has closed for this activity", field="code")
    signup = await _enrolled(connection, activity_id, person_id)
    if signup.checked_in_at is None:
        raise NotCheckedIn("check in before checking out", field="code")
    if signup.checked_out_at is not None:
        return signup
    return await _set_times(connection, signup.id, signup.checked_in_at, now, "code")


async def record_times(
    connection: asyncpg.Connection,
    actor: Principal,
    activity_id: uuid.UUID,
    person_id: uuid.UUID,
    *,
    checked_in_at: datetime,
    checked_out_at: datetime | None,
    now: datetime,
) -> Signup:
    """The leader records when a volunteer came and went (no phone, flat battery); recording again replaces it.

    Times that make no sense as a duration (check-out before check-in) are kept as recorded: the roster
    confirmation holds such a record for staff instead of guessing.
    """
    for field, value in (("checked_in_at", checked_in_at), ("checked_out_at", checked_out_at)):
        if value is not None and value > now + CLOCK_SKEW:
            raise InvalidInput("a time cannot be in the future", field=field)
    activity = await get_activity(connection, activity_id)
    signup = await _enrolled(connection, activity_id, person_id)
    if await connection.fetchval("SELECT EXISTS (SELECT 1 FROM service_record WHERE signup_id = $1)", signup.id):
        raise Conflict("the roster is confirmed for this volunteer; ask staff to amend the record", field="person_id")
    updated = await _set_times(connection, signup.id, checked_in_at, checked_out_at, "leader")
    await audit.record(
        connection,
        actor,
        community_id=activity.community_id,
        action="record_times",
        entity="activity_signup",
        entity_id=signup.id,
        before=_times(signup),
        after=_times(updated),
    )
    return updated


async def _set_times(
    connection: asyncpg.Connection,
    signup_id: uuid.UUID,
    checked_in_at: datetime,
    checked_out_at: datetime | None,
    by: str,
) -> Signup:
    row = await connection.fetchrow(
        f"""
        UPDATE activity_signup SET checked_in_at = $2, checked_out_at = $3, attendance_by = $4 WHERE id = $1
        RETURNING {_COLUMNS}
        """,
        signup_id,
        checked_in_at,
        checked_out_at,
        by,
    )
    return Signup(**dict(row))


def _times(signup: Signup) -> dict[str, object]:
    return {
        "checked_in_at": None if signup.checked_in_at is None else signup.checked_in_at.isoformat(),
        "checked_out_at": None if signup.checked_out_at is None else signup.checked_out_at.isoformat(),
        "attendance_by": signup.attendance_by,
    }
