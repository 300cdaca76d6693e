"""Corrections of credited records (民政部令第67号 art. 13): the volunteer asks, staff approve, the original credits
are reversed and the corrected record's credits posted in one linked chain. Both records stay visible: the
original as ``corrected``, the new one naming it in ``corrects_id``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from timebank.access.principal import Principal
from timebank.community import audit
from timebank.community.accounts import account_id
from timebank.errors import Conflict, InvalidInput, NotFound
from timebank.ledger import Asset, Code, Result
from timebank.volunteering import crediting
from timebank.volunteering.posting import Planned
from timebank.volunteering.records import COLUMNS, get_record, record_of, service_day

__all__ = [
    "Correction",
    "get_correction",
    "plan_correction",
    "reject_correction",
    "request_correction",
    "settle_correction",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Correction:
    id: uuid.UUID
    community_id: uuid.UUID
    record_id: uuid.UUID
    requested_by: uuid.UUID
    started_at: datetime
    ended_at: datetime
    reason: str
    status: str
    corrected_record_id: uuid.UUID | None
    decided_by: uuid.UUID | None
    decided_at: datetime | None
    outcome: str
    requested_at: datetime


_COLUMNS = (
    "id, community_id, record_id, requested_by, started_at, ended_at, reason, status, corrected_record_id, "
    "decided_by, decided_at, outcome, requested_at"
)


async def get_correction(connection: asyncpg.Connection, correction_id: uuid.UUID, *, lock: bool = False) -> Correction:
    suffix = " FOR UPDATE" if lock else ""
    row = await connection.fetchrow(f"SELECT {_COLUMNS} FROM record_correction WHERE id = $1{suffix}", correction_id)
    if row is None:
        raise NotFound("no such correction", field="correction_id", correction_id=str(correction_id))
    return Correction(**dict(row))


async def request_correction(
    connection: asyncpg.Connection,
    actor: Principal,
    *,
    id: uuid.UUID,
    record_id: uuid.UUID,
    started_at: datetime,
    ended_at: datetime,
    reason: str,
    now: datetime,
) -> tuple[Correction, bool]:
    """The volunteer asks to correct the times of one of their credited records; asking again with the same id
    returns the request.

    Raises:
        InvalidInput: the corrected times are empty or in the future.
        Conflict: the record is not credited, is not the requester's, or has an open request already.
    """
    if ended_at <= started_at:
        raise InvalidInput("the corrected service must end after it starts", field="ended_at")
    if ended_at > now + timedelta(minutes=5):
        raise InvalidInput("a time cannot be in the future", field="ended_at")
    record = await get_record(connection, record_id)
    if record.person_id != actor.person_id:
        raise Conflict("only the volunteer of a record asks to correct it", field="record_id")
    existing = await connection.fetchrow(f"SELECT {_COLUMNS} FROM record_correction WHERE id = $1", id)
    if existing is not None:
        found = Correction(**dict(existing))
        if (found.record_id, found.started_at, found.ended_at) != (record_id, started_at, ended_at):
            raise Conflict("this correction id was used for another request", field="id")
        return found, False
    if record.status != "credited":
        raise Conflict(f"only credited records are corrected; this one is {record.status}", field="record_id")
    try:
        async with connection.transaction():
            row = await connection.fetchrow(
                f"""
                INSERT INTO record_correction (id, community_id, record_id, requested_by, started_at, ended_at, reason)
                VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {_COLUMNS}
                """,
                id,
                record.community_id,
                record_id,
                actor.person_id,
                started_at,
                ended_at,
                reason,
            )
    except asyncpg.UniqueViolationError:
        raise Conflict("a correction of this record is waiting for staff already", field="record_id") from None
    correction = Correction(**dict(row))
    await audit.record(
        connection,
        actor,
        community_id=record.community_id,
        action="request",
        entity="record_correction",
        entity_id=id,
        after={"record_id": str(record_id), "started_at": started_at.isoformat(), "ended_at": ended_at.isoformat()},
    )
    return correction, True


async def plan_correction(
    connection: asyncpg.Connection, actor: Principal, correction_id: uuid.UUID
) -> tuple[Correction, list[Planned]]:
    """Staff approve: mark the original corrected, make the corrected record, and plan its credits followed by the
    reversals of the original's (credits first, so a reduction never overdraws what the volunteer holds).

    Approving again returns the stored plan while it is unposted, and nothing once it is settled.
    """
    correction = await get_correction(connection, correction_id, lock=True)
    if correction.status != "requested":
        if correction.status == "approved" and correction.corrected_record_id is not None:
            corrected = await get_record(connection, correction.corrected_record_id)
            if corrected.status == "approved":
                return correction, await crediting.planned_of(connection, corrected)
        return correction, []
    original = await get_record(connection, correction.record_id, lock=True)
    if original.status != "credited":
        raise Conflict(f"the record is {original.status}, no longer credited", field="record_id")
    credits = await crediting.planned_of(connection, original)
    await connection.execute("UPDATE service_record SET status = 'corrected' WHERE id = $1", original.id)
    new_id = uuid.uuid5(correction.id, "record")
    row = await connection.fetchrow(
        f"""
        INSERT INTO service_record (id, community_id, activity_id, person_id, corrects_id, activity_title, category,
            content, place, organiser, leader_id, started_at, ended_at, service_day, minutes, status, certified_by,
            note)
        SELECT $1, community_id, activity_id, person_id, id, activity_title, category, content, place, organiser,
               leader_id, $2, $3, $4, NULL, 'confirmed', $5, $6
        FROM service_record WHERE id = $7
        RETURNING {COLUMNS}
        """,
        new_id,
        correction.started_at,
        correction.ended_at,
        service_day(correction.started_at),
        actor.person_id,
        f"更正: {correction.reason}"[:500],
        original.id,
    )
    corrected = record_of(row)
    coins = account_id(original.community_id, "person", original.person_id, Asset.time_coins)
    coins_back = sum(item.amount for item in credits if item.credit_account_id == coins)
    planned, _ = await crediting.plan_credits(connection, actor, corrected, credited_back=coins_back)
    reversals = [
        Planned(
            transfer_id=uuid.uuid5(item.transfer_id, "reversal"),
            asset=item.asset,
            debit_account_id=item.credit_account_id,
            credit_account_id=item.debit_account_id,
            amount=item.amount,
            code=Code.reversal,
            policy_version=item.policy_version,
            ref_type=crediting.REF_TYPE,
            ref_id=corrected.id,
            memo="",
            reverses_id=item.transfer_id,
        )
        for item in credits
    ]
    await crediting.store_planned(connection, corrected, reversals, first_position=len(planned))
    row = await connection.fetchrow(
        f"""
        UPDATE record_correction SET status = 'approved', corrected_record_id = $2, decided_by = $3,
            decided_at = clock_timestamp()
        WHERE id = $1 RETURNING {_COLUMNS}
        """,
        correction.id,
        corrected.id,
        actor.person_id,
    )
    await audit.record(
        connection,
        actor,
        community_id=correction.community_id,
        action="approve",
        entity="record_correction",
        entity_id=correction.id,
        after={"original": str(original.id), "corrected": str(corrected.id)},
    )
    return Correction(**dict(row)), [*planned, *reversals]


async def settle_correction(
    connection: asyncpg.Connection, correction_id: uuid.UUID, failure: Result | None
) -> Correction:
    """Credit the corrected record; if the ledger refused the chain, the original stands and the request is
    ``refused`` with the ledger's reason (the volunteer may ask again)."""
    correction = await get_correction(connection, correction_id, lock=True)
    if correction.status != "approved" or correction.corrected_record_id is None:
        return correction
    if failure is None:
        await crediting.settle(connection, correction.corrected_record_id, None)
        return correction
    corrected = await get_record(connection, correction.corrected_record_id, lock=True)
    if corrected.status != "approved":
        return correction
    await connection.execute(
        "UPDATE service_record SET status = 'rejected', note = $2 WHERE id = $1",
        corrected.id,
        f"the ledger refused the correction: {failure.name}",
    )
    await connection.execute("UPDATE service_record SET status = 'credited' WHERE id = $1", correction.record_id)
    row = await connection.fetchrow(
        f"UPDATE record_correction SET status = 'refused', outcome = $2 WHERE id = $1 RETURNING {_COLUMNS}",
        correction_id,
        failure.name,
    )
    return Correction(**dict(row))


async def reject_correction(
    connection: asyncpg.Connection, actor: Principal, correction_id: uuid.UUID, *, reason: str
) -> Correction:
    correction = await get_correction(connection, correction_id, lock=True)
    if correction.status == "rejected":
        return correction
    if correction.status != "requested":
        raise Conflict(f"the correction is {correction.status}", field="correction_id")
    row = await connection.fetchrow(
        f"""
        UPDATE record_correction SET status = 'rejected', outcome = $3, decided_by = $2, decided_at = clock_timestamp()
        WHERE id = $1 RETURNING {_COLUMNS}
        """,
        correction_id,
        actor.person_id,
        reason,
    )
    await audit.record(
        connection,
        actor,
        community_id=correction.community_id,
        action="reject",
        entity="record_correction",
        entity_id=correction_id,
        after={"reason": reason},
    )
    return Correction(**dict(row))
