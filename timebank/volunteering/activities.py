"""Activities that team leaders and staff publish: what, where, when, how many, and who answers for them."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import datetime

import asyncpg

from timebank.access.principal import Principal
from timebank.community import audit
from timebank.errors import Conflict, InvalidInput, NotFound

__all__ = ["Activity", "NewActivity", "cancel_activity", "get_activity", "list_activities", "publish_activity"]


@dataclass(frozen=True, slots=True, kw_only=True)
class NewActivity:
    """An activity to publish. ``organiser`` is the recording organisation the service records name."""

    id: uuid.UUID
    title: str
    category: str
    place: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    leader_id: uuid.UUID
    organiser: str
    content: str = ""
    skills_wanted: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    serves_kind: str | None = None
    serves_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None
    team_service: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Activity(NewActivity):
    community_id: uuid.UUID
    status: str
    published_by: uuid.UUID | None
    enrolled: int = 0
    waitlisted: int = 0


_COLUMNS = (
    "id, community_id, title, category, content, place, starts_at, ends_at, capacity, skills_wanted, tags, "
    "serves_kind, serves_id, team_id, team_service, leader_id, organiser, status, published_by"
)
_COUNTS = (
    "(SELECT count(*) FROM activity_signup s WHERE s.activity_id = a.id AND s.status = 'enrolled') AS enrolled, "
    "(SELECT count(*) FROM activity_signup s WHERE s.activity_id = a.id AND s.status = 'waitlisted') AS waitlisted"
)
#: Fields a replayed publish must repeat exactly.
_SAME = ("title", "category", "place", "starts_at", "ends_at", "capacity", "leader_id", "organiser", "team_id")


def _activity(row: asyncpg.Record) -> Activity:
    values = dict(row)
    values["skills_wanted"] = tuple(values["skills_wanted"])
    values["tags"] = tuple(values["tags"])
    return Activity(**values)


async def publish_activity(
    connection: asyncpg.Connection, actor: Principal, community_id: uuid.UUID, new: NewActivity
) -> tuple[Activity, bool]:
    """Publish ``new`` in ``community_id``; publishing the same id again returns it (idempotent).

    Raises:
        InvalidInput: the time window is empty, or a team activity names no team.
        NotFound: the leader or the team is not in this community.
        Conflict: the id was used for a different activity.
    """
    if new.ends_at <= new.starts_at:
        raise InvalidInput("an activity must end after it starts", field="ends_at")
    if (new.serves_kind is None) != (new.serves_id is None):
        raise InvalidInput("name both what the activity serves and its id, or neither", field="serves_id")
    if new.team_service and new.team_id is None:
        raise InvalidInput("team service needs the team", field="team_id")
    if await connection.fetchval("SELECT 1 FROM person WHERE id = $1", new.leader_id) is None:
        raise NotFound("the leader is not a person of this community", field="leader_id")
    try:
        async with connection.transaction():
            row = await connection.fetchrow(
                f"""
                INSERT INTO volunteer_activity (id, community_id, title, category, content, place, starts_at, ends_at,
                    capacity, skills_wanted, tags, serves_kind, serves_id, team_id, team_service, leader_id, organiser,
                    published_by)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
                ON CONFLICT (id) DO NOTHING
                RETURNING {_COLUMNS}, 0::bigint AS enrolled, 0::bigint AS waitlisted
                """,
                new.id,
                community_id,
                new.title,
                new.category,
                new.content,
                new.place,
                new.starts_at,
                new.ends_at,
                new.capacity,
                list(new.skills_wanted),
                list(new.tags),
                new.serves_kind,
                new.serves_id,
                new.team_id,
                new.team_service,
                new.leader_id,
                new.organiser,
                actor.person_id,
            )
    except asyncpg.ForeignKeyViolationError:
        raise NotFound("the team is not in this community", field="team_id") from None
    except asyncpg.CheckViolationError as exc:
        raise InvalidInput(f"the activity breaks a rule ({exc.constraint_name})", field="activity") from None
    if row is None:
        existing = await get_activity(connection, new.id)
        if existing.community_id != community_id or any(
            getattr(existing, name) != getattr(new, name) for name in _SAME
        ):
            raise Conflict("this activity id was used for a different activity", field="id")
        return existing, False
    activity = _activity(row)
    await audit.record(
        connection,
        actor,
        community_id=community_id,
        action="publish",
        entity="volunteer_activity",
        entity_id=activity.id,
        after=_view(activity),
    )
    return activity, True


async def get_activity(connection: asyncpg.Connection, activity_id: uuid.UUID, *, lock: bool = False) -> Activity:
    if lock:
        # Sign-ups and cancellations of one activity queue here, so places and the waitlist change one at a time.
        await connection.execute("SELECT 1 FROM volunteer_activity WHERE id = $1 FOR UPDATE", activity_id)
    row = await connection.fetchrow(
        f"SELECT {_COLUMNS}, {_COUNTS} FROM volunteer_activity a WHERE id = $1", activity_id
    )
    if row is None:
        raise NotFound("no such activity", field="activity_id", activity_id=str(activity_id))
    return _activity(row)


async def list_activities(
    connection: asyncpg.Connection,
    community_id: uuid.UUID,
    *,
    starting_after: datetime | None = None,
    starting_before: datetime | None = None,
    limit: int = 50,
) -> list[Activity]:
    """Published and cancelled activities of a community in start order, optionally within a window."""
    rows = await connection.fetch(
        f"""
        SELECT {_COLUMNS}, {_COUNTS} FROM volunteer_activity a
        WHERE community_id = $1 AND ($2::timestamptz IS NULL OR starts_at >= $2)
          AND ($3::timestamptz IS NULL OR starts_at < $3)
        ORDER BY starts_at, id LIMIT $4
        """,
        community_id,
        starting_after,
        starting_before,
        limit,
    )
    return [_activity(row) for row in rows]


async def cancel_activity(connection: asyncpg.Connection, actor: Principal, activity_id: uuid.UUID) -> Activity:
    """Cancel an activity nobody has checked in to yet; cancelling twice changes nothing."""
    before = await get_activity(connection, activity_id, lock=True)
    if before.status == "cancelled":
        return before
    if await connection.fetchval(
        "SELECT EXISTS (SELECT 1 FROM activity_signup WHERE activity_id = $1 AND checked_in_at IS NOT NULL)",
        activity_id,
    ):
        raise Conflict("volunteers have checked in already; confirm or reject their hours instead", field="status")
    await connection.execute("UPDATE volunteer_activity SET status = 'cancelled' WHERE id = $1", activity_id)
    await connection.execute(
        "UPDATE activity_signup SET status = 'cancelled' WHERE activity_id = $1 AND status <> 'cancelled'",
        activity_id,
    )
    after = await get_activity(connection, activity_id)
    await audit.record(
        connection,
        actor,
        community_id=after.community_id,
        action="cancel",
        entity="volunteer_activity",
        entity_id=activity_id,
        before={"status": before.status},
        after={"status": after.status},
    )
    return after


def _view(activity: Activity) -> dict[str, object]:
    return {
        key: (
            str(value)
            if isinstance(value, uuid.UUID | datetime)
            else list(value)
            if isinstance(value, tuple)
            else value
        )
        for key, value in asdict(activity).items()
    }
