"""Service records (志愿服务记录): made when the leader confirms the roster, held when anomalous, amended or
rejected by staff. Crediting them is :mod:`timebank.volunteering.crediting`'s work.

A record copies what the national rules ask for (民政部令第67号 art. 7): activity name, date, place, content,
service time, the organising unit and the responsible person, plus who certified it and who approved it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone

import asyncpg

from timebank.access.principal import Principal
from timebank.community import audit
from timebank.errors import Conflict, InvalidInput, NotFound
from timebank.volunteering.activities import get_activity
from timebank.volunteering.anomalies import detect
from timebank.volunteering.policy import policy_at
from timebank.volunteering.pricing import round_minutes
from timebank.volunteering.signups import Signup

__all__ = [
    "CHINA_TIME",
    "ConfirmOutcome",
    "ServiceRecord",
    "amend_record",
    "confirm_roster",
    "get_record",
    "list_records",
    "reject_record",
    "service_day",
]

#: Service days are dates in China Standard Time (UTC+8 all year).
CHINA_TIME = timezone(timedelta(hours=8), "CST")

#: Records staff may still amend or reject.
_OPEN = ("confirmed", "held")


def service_day(at: datetime) -> date:
    return at.astimezone(CHINA_TIME).date()


def whole_minutes(started_at: datetime, ended_at: datetime | None) -> int:
    return 0 if ended_at is None else int((ended_at - started_at).total_seconds() // 60)


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceRecord:
    id: uuid.UUID
    community_id: uuid.UUID
    activity_id: uuid.UUID
    person_id: uuid.UUID
    signup_id: uuid.UUID | None
    corrects_id: uuid.UUID | None
    activity_title: str
    category: str
    content: str
    place: str
    organiser: str
    leader_id: uuid.UUID
    started_at: datetime
    ended_at: datetime | None
    service_day: date
    minutes: int | None
    status: str
    anomalies: tuple[str, ...]
    certified_by: uuid.UUID
    certified_at: datetime
    approved_by: uuid.UUID | None
    approved_at: datetime | None
    policy_version: int | None
    posting_attempt: int
    note: str
    #: Units of the assessment's ``volunteer_hour`` item the policy priced (0: none earned; None: not yet priced,
    #: or credited before party score went through the assessment).
    party_score_units: int | None
    #: What the party assessment answered when the record was credited (a ``CreditOutcome``), and what counted.
    party_score_outcome: str | None
    party_score: int | None
    party_score_entry_id: uuid.UUID | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfirmOutcome:
    """One roster line: ``confirmed``, ``held`` (with its anomalies), ``exists`` (confirmed before), ``absent`` (never
    checked in) or ``not_enrolled``."""

    person_id: uuid.UUID
    outcome: str
    record_id: uuid.UUID | None = None
    anomalies: tuple[str, ...] = ()


COLUMNS = (
    "id, community_id, activity_id, person_id, signup_id, corrects_id, activity_title, category, content, place, "
    "organiser, leader_id, started_at, ended_at, service_day, minutes, status, anomalies, certified_by, "
    "certified_at, approved_by, approved_at, policy_version, posting_attempt, note, party_score_units, "
    "party_score_outcome, party_score, party_score_entry_id"
)


def record_of(row: asyncpg.Record) -> ServiceRecord:
    values = dict(row)
    values["anomalies"] = tuple(values["anomalies"])
    return ServiceRecord(**values)


def record_id_for(signup_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(signup_id, "record")


async def get_record(connection: asyncpg.Connection, record_id: uuid.UUID, *, lock: bool = False) -> ServiceRecord:
    suffix = " FOR UPDATE" if lock else ""
    row = await connection.fetchrow(f"SELECT {COLUMNS} FROM service_record WHERE id = $1{suffix}", record_id)
    if row is None:
        raise NotFound("no such service record", field="record_id", record_id=str(record_id))
    return record_of(row)


async def list_records(
    connection: asyncpg.Connection,
    community_id: uuid.UUID,
    *,
    person_id: uuid.UUID | None = None,
    activity_id: uuid.UUID | None = None,
    status: str | None = None,
    limit: int = 100,
) -> list[ServiceRecord]:
    rows = await connection.fetch(
        f"""
        SELECT {COLUMNS} FROM service_record
        WHERE community_id = $1 AND ($2::uuid IS NULL OR person_id = $2) AND ($3::uuid IS NULL OR activity_id = $3)
          AND ($4::text IS NULL OR status = $4)
        ORDER BY started_at, id LIMIT $5
        """,
        community_id,
        person_id,
        activity_id,
        status,
        limit,
    )
    return [record_of(row) for row in rows]


async def confirm_roster(
    connection: asyncpg.Connection,
    actor: Principal,
    activity_id: uuid.UUID,
    person_ids: Sequence[uuid.UUID] | None = None,
) -> list[ConfirmOutcome]:
    """The leader confirms the attendance of ``person_ids`` (everyone enrolled when None) in one go.

    Each checked-in volunteer gets one service record (its id derives from the sign-up, so confirming again reports
    ``exists``); a record with anomalies is ``held`` for staff.
    """
    if actor.person_id is None:
        raise InvalidInput("a roster is confirmed by a person, who certifies it", field="actor")
    await get_activity(connection, activity_id)
    rows = await connection.fetch(
        """
        SELECT id, community_id, activity_id, person_id, status, queued_at, checked_in_at, checked_out_at,
               attendance_by
        FROM activity_signup WHERE activity_id = $1 AND status = 'enrolled' ORDER BY queued_at, id
        """,
        activity_id,
    )
    enrolled = {row["person_id"]: Signup(**dict(row)) for row in rows}
    wanted = list(enrolled) if person_ids is None else list(dict.fromkeys(person_ids))
    outcomes = []
    for person_id in wanted:
        signup = enrolled.get(person_id)
        if signup is None:
            outcomes.append(ConfirmOutcome(person_id=person_id, outcome="not_enrolled"))
        elif signup.checked_in_at is None:
            outcomes.append(ConfirmOutcome(person_id=person_id, outcome="absent"))
        else:
            outcomes.append(await _confirm_one(connection, actor, actor.person_id, signup))
    return outcomes


async def _confirm_one(
    connection: asyncpg.Connection, actor: Principal, certifier: uuid.UUID, signup: Signup
) -> ConfirmOutcome:
    assert signup.checked_in_at is not None
    record_id = record_id_for(signup.id)
    existing = await connection.fetchrow("SELECT status, anomalies FROM service_record WHERE id = $1", record_id)
    if existing is not None:
        return ConfirmOutcome(
            person_id=signup.person_id, outcome="exists", record_id=record_id, anomalies=tuple(existing["anomalies"])
        )
    started_at, ended_at = signup.checked_in_at, signup.checked_out_at
    policy = await policy_at(connection, signup.community_id, started_at)
    minutes = round_minutes(whole_minutes(started_at, ended_at), policy.rounding_minutes, policy.rounding_mode)
    day = service_day(started_at)
    anomalies = await detect(
        connection,
        policy,
        record_id=record_id,
        person_id=signup.person_id,
        certified_by=certifier,
        started_at=started_at,
        ended_at=ended_at,
        minutes=minutes,
        service_day=day,
    )
    status = "held" if anomalies else "confirmed"
    await connection.execute(
        """
        INSERT INTO service_record (id, community_id, activity_id, person_id, signup_id, activity_title, category,
            content, place, organiser, leader_id, started_at, ended_at, service_day, minutes, status, anomalies,
            certified_by)
        SELECT $1, community_id, id, $3, $4, title, category, CASE WHEN content = '' THEN title ELSE content END,
               place, organiser, leader_id, $5, $6, $7, $8, $9, $10, $11
        FROM volunteer_activity WHERE id = $2
        """,
        record_id,
        signup.activity_id,
        signup.person_id,
        signup.id,
        started_at,
        ended_at,
        day,
        minutes,
        status,
        anomalies,
        certifier,
    )
    await audit.record(
        connection,
        actor,
        community_id=signup.community_id,
        action="confirm",
        entity="service_record",
        entity_id=record_id,
        after={"status": status, "minutes": minutes, "anomalies": anomalies},
    )
    return ConfirmOutcome(person_id=signup.person_id, outcome=status, record_id=record_id, anomalies=tuple(anomalies))


async def amend_record(
    connection: asyncpg.Connection,
    actor: Principal,
    record_id: uuid.UUID,
    *,
    started_at: datetime,
    ended_at: datetime,
    note: str = "",
) -> ServiceRecord:
    """Staff set the times of a record not yet credited (a forgotten check-out, a mistyped time); the anomalies
    are judged again on the new times."""
    before = await get_record(connection, record_id, lock=True)
    if before.status not in _OPEN:
        raise Conflict(f"a {before.status} record is corrected, not amended", field="record_id", status=before.status)
    if ended_at > datetime.now(UTC) + timedelta(minutes=5):
        raise InvalidInput("a time cannot be in the future", field="ended_at")
    policy = await policy_at(connection, before.community_id, started_at)
    minutes = round_minutes(whole_minutes(started_at, ended_at), policy.rounding_minutes, policy.rounding_mode)
    day = service_day(started_at)
    anomalies = await detect(
        connection,
        policy,
        record_id=record_id,
        person_id=before.person_id,
        certified_by=before.certified_by,
        started_at=started_at,
        ended_at=ended_at,
        minutes=minutes,
        service_day=day,
    )
    row = await connection.fetchrow(
        f"""
        UPDATE service_record SET started_at = $2, ended_at = $3, service_day = $4, minutes = $5, anomalies = $6,
            status = CASE WHEN cardinality($6::text[]) > 0 THEN 'held' ELSE 'confirmed' END,
            note = CASE WHEN $7 = '' THEN note ELSE $7 END
        WHERE id = $1 RETURNING {COLUMNS}
        """,
        record_id,
        started_at,
        ended_at,
        day,
        minutes,
        anomalies,
        note,
    )
    after = record_of(row)
    await audit.record(
        connection,
        actor,
        community_id=after.community_id,
        action="amend",
        entity="service_record",
        entity_id=record_id,
        before=_times(before),
        after=_times(after),
    )
    return after


async def reject_record(
    connection: asyncpg.Connection, actor: Principal, record_id: uuid.UUID, *, note: str
) -> ServiceRecord:
    """Staff reject a record that is not volunteer service or did not happen; rejecting twice changes nothing."""
    before = await get_record(connection, record_id, lock=True)
    if before.status == "rejected":
        return before
    if before.status not in _OPEN:
        raise Conflict(f"a {before.status} record cannot be rejected", field="record_id", status=before.status)
    row = await connection.fetchrow(
        f"UPDATE service_record SET status = 'rejected', note = $2 WHERE id = $1 RETURNING {COLUMNS}", record_id, note
    )
    after = record_of(row)
    await audit.record(
        connection,
        actor,
        community_id=after.community_id,
        action="reject",
        entity="service_record",
        entity_id=record_id,
        before={"status": before.status},
        after={"status": after.status, "note": note},
    )
    return after


def _times(record: ServiceRecord) -> dict[str, object]:
    return {
        "started_at": record.started_at.isoformat(),
        "ended_at": None if record.ended_at is None else record.ended_at.isoformat(),
        "minutes": record.minutes,
        "status": record.status,
        "anomalies": list(record.anomalies),
    }
