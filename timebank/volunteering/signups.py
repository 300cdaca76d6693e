"""Signing up for an activity and cancelling: places up to the capacity, then a waitlist served in order.

A person has one sign-up per activity; its id derives from both, so signing up twice finds the first. Every change
locks the activity row first, so places are handed out one at a time (and a trigger refuses more than the capacity
whatever the code does).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from timebank.access.principal import Principal
from timebank.community import audit
from timebank.errors import Conflict, NotFound, RuleViolation
from timebank.volunteering.activities import get_activity

__all__ = [
    "ActivityClosed",
    "RosterEntry",
    "Signup",
    "cancel_signup",
    "get_signup",
    "roster",
    "sign_up",
    "signup_id",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Signup:
    id: uuid.UUID
    community_id: uuid.UUID
    activity_id: uuid.UUID
    person_id: uuid.UUID
    status: str
    queued_at: datetime
    checked_in_at: datetime | None
    checked_out_at: datetime | None
    attendance_by: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class RosterEntry(Signup):
    name: str
    waitlist_position: int | None


class ActivityClosed(RuleViolation):
    """The activity is cancelled or over, so nobody can sign up for it."""

    code = "activity-closed"
    title = "Activity closed"


_COLUMNS = "id, community_id, activity_id, person_id, status, queued_at, checked_in_at, checked_out_at, attendance_by"


def signup_id(activity_id: uuid.UUID, person_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(activity_id, f"signup/{person_id}")


async def get_signup(
    connection: asyncpg.Connection, activity_id: uuid.UUID, person_id: uuid.UUID, *, lock: bool = False
) -> Signup:
    suffix = " FOR UPDATE" if lock else ""
    row = await connection.fetchrow(
        f"SELECT {_COLUMNS} FROM activity_signup WHERE id = $1{suffix}", signup_id(activity_id, person_id)
    )
    if row is None:
        raise NotFound("the person has not signed up for this activity", field="person_id")
    return Signup(**dict(row))


async def sign_up(
    connection: asyncpg.Connection, actor: Principal, activity_id: uuid.UUID, person_id: uuid.UUID, now: datetime
) -> tuple[Signup, bool]:
    """Enrol ``person_id`` if a place is free, else put them on the waitlist; returns the sign-up and whether it
    changed. Signing up again while enrolled or waiting changes nothing; after cancelling, it queues anew.
    """
    activity = await get_activity(connection, activity_id, lock=True)
    if activity.status != "published" or activity.ends_at <= now:
        raise ActivityClosed("the activity is cancelled or over", field="activity_id", status=activity.status)
    if await connection.fetchval("SELECT 1 FROM person WHERE id = $1", person_id) is None:
        raise NotFound("no such person", field="person_id")
    status = "enrolled" if activity.enrolled < activity.capacity else "waitlisted"
    row = await connection.fetchrow(
        f"""
        INSERT INTO activity_signup (id, community_id, activity_id, person_id, status)
        VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, queued_at = clock_timestamp()
            WHERE activity_signup.status = 'cancelled'
        RETURNING {_COLUMNS}
        """,
        signup_id(activity_id, person_id),
        activity.community_id,
        activity_id,
        person_id,
        status,
    )
    if row is None:
        return await get_signup(connection, activity_id, person_id), False
    signup = Signup(**dict(row))
    await audit.record(
        connection,
        actor,
        community_id=activity.community_id,
        action="sign_up",
        entity="activity_signup",
        entity_id=signup.id,
        after={"status": signup.status, "person_id": str(person_id)},
    )
    return signup, True


async def cancel_signup(
    connection: asyncpg.Connection, actor: Principal, activity_id: uuid.UUID, person_id: uuid.UUID
) -> Signup:
    """Give up a place (or leave the waitlist); the first person waiting takes a freed place. Idempotent."""
    activity = await get_activity(connection, activity_id, lock=True)
    before = await get_signup(connection, activity_id, person_id, lock=True)
    if before.status == "cancelled":
        return before
    if before.checked_in_at is not None:
        raise Conflict("the volunteer has checked in already", field="person_id")
    row = await connection.fetchrow(
        f"UPDATE activity_signup SET status = 'cancelled' WHERE id = $1 RETURNING {_COLUMNS}", before.id
    )
    promoted = None
    if before.status == "enrolled":
        promoted = await connection.fetchval(
            """
            UPDATE activity_signup SET status = 'enrolled' WHERE id = (
                SELECT id FROM activity_signup WHERE activity_id = $1 AND status = 'waitlisted'
                ORDER BY queued_at, id LIMIT 1)
            RETURNING person_id
            """,
            activity_id,
        )
    await audit.record(
        connection,
        actor,
        community_id=activity.community_id,
        action="cancel",
        entity="activity_signup",
        entity_id=before.id,
        before={"status": before.status},
        after={"status": "cancelled", "promoted": None if promoted is None else str(promoted)},
    )
    return Signup(**dict(row))


async def roster(connection: asyncpg.Connection, activity_id: uuid.UUID) -> list[RosterEntry]:
    """Everyone signed up: the enrolled first, then the waitlist in order, then those who cancelled."""
    await get_activity(connection, activity_id)
    rows = await connection.fetch(
        f"""
        SELECT {", ".join("s." + c.strip() for c in _COLUMNS.split(","))}, coalesce(p.name, '') AS name,
               CASE WHEN s.status = 'waitlisted'
                    THEN row_number() OVER (PARTITION BY s.status ORDER BY s.queued_at, s.id) END AS waitlist_position
        FROM activity_signup s LEFT JOIN person p ON p.id = s.person_id
        WHERE s.activity_id = $1
        ORDER BY array_position(ARRAY['enrolled', 'waitlisted', 'cancelled'], s.status), s.queued_at, s.id
        """,
        activity_id,
    )
    return [RosterEntry(**dict(row)) for row in rows]
