"""亮承诺: pledges with a due date, reported kept with evidence, assessed by the branch from their 三评 reviews."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

import asyncpg

from timebank.access.principal import Principal
from timebank.errors import Conflict, Forbidden, InvalidInput, NotFound
from timebank.scoring import ids
from timebank.scoring._campaign import campaign_catalogue, own_card, within
from timebank.scoring._reviews import by_role, reviews_of
from timebank.scoring.entries import NewEntry, insert_posted
from timebank.scoring.errors import WrongStage
from timebank.scoring.model import ItemSource, ReviewerRole, local_day, weighted_score
from timebank.scoring.records import (
    Card,
    Period,
    lock_card,
    require_leader,
    writable_period,
)

__all__ = ["Pledge", "assess", "assess_pledge", "get_pledge", "pledges_of", "publish_pledge", "report_fulfilment"]

_PLEDGE_COLUMNS = (
    "id, community_id, period_id, person_id, content, due_on, status, evidence, reported_at, review_score, "
    "assessed_by, assessed_at, entry_id"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Pledge:
    id: uuid.UUID
    community_id: uuid.UUID
    period_id: uuid.UUID
    person_id: uuid.UUID
    content: str
    due_on: date
    status: str
    evidence: tuple[str, ...]
    reported_at: datetime | None
    review_score: int | None
    assessed_by: uuid.UUID | None
    assessed_at: datetime | None
    entry_id: uuid.UUID | None


def _pledge(row: asyncpg.Record) -> Pledge:
    values = dict(row)
    values["evidence"] = tuple(values["evidence"])
    return Pledge(**values)


async def get_pledge(
    connection: asyncpg.Connection, pledge_id: uuid.UUID, *, for_update: bool = False, for_share: bool = False
) -> Pledge:
    lock = " FOR UPDATE" if for_update else " FOR SHARE" if for_share else ""
    row = await connection.fetchrow(f"SELECT {_PLEDGE_COLUMNS} FROM scoring_pledge WHERE id = $1{lock}", pledge_id)
    if row is None:
        raise NotFound("no such pledge", field="pledge_id", pledge_id=str(pledge_id))
    return _pledge(row)


async def pledges_of(
    connection: asyncpg.Connection, period_id: uuid.UUID, person_id: uuid.UUID | None = None
) -> list[Pledge]:
    rows = await connection.fetch(
        f"""
        SELECT {_PLEDGE_COLUMNS} FROM scoring_pledge
        WHERE period_id = $1 AND ($2::uuid IS NULL OR person_id = $2) ORDER BY due_on, id
        """,
        period_id,
        person_id,
    )
    return [_pledge(row) for row in rows]


async def publish_pledge(
    connection: asyncpg.Connection,
    actor: Principal,
    period_id: uuid.UUID,
    *,
    id: uuid.UUID,
    content: str,
    due_on: date,
) -> tuple[Pledge, bool]:
    """The member publishes a pledge due within the period; idempotent by id."""
    period = await writable_period(connection, period_id, ledger=False)
    card = await own_card(connection, actor, period)
    if not period.starts_on <= due_on <= period.ends_on:
        raise InvalidInput("a pledge falls due within its period", field="due_on")
    row = await connection.fetchrow(
        f"""
        INSERT INTO scoring_pledge (id, community_id, period_id, person_id, content, due_on)
        VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING RETURNING {_PLEDGE_COLUMNS}
        """,
        id,
        card.community_id,
        period.id,
        card.person_id,
        content,
        due_on,
    )
    if row is None:
        try:
            existing = await get_pledge(connection, id)
        except NotFound:
            raise Conflict("this pledge id is taken", field="id", id=str(id)) from None
        if (existing.person_id, existing.content, existing.due_on) != (card.person_id, content, due_on):
            raise Conflict("this pledge id was used for another pledge", field="id", id=str(id))
        return existing, False
    return _pledge(row), True


async def report_fulfilment(
    connection: asyncpg.Connection,
    actor: Principal,
    pledge_id: uuid.UUID,
    *,
    evidence: tuple[str, ...],
    now: datetime | None = None,
) -> Pledge:
    """The member reports the pledge kept, with evidence; reporting the same evidence again is a replay."""
    now = now or datetime.now(UTC)
    if not evidence:
        raise InvalidInput("reporting a pledge kept needs evidence", field="evidence")
    pledge = await get_pledge(connection, pledge_id)
    if pledge.person_id != actor.person_id:
        raise Forbidden("only the member reports their own pledge", pledge_id=str(pledge_id))
    await writable_period(connection, pledge.period_id, ledger=False)
    pledge = await get_pledge(connection, pledge_id, for_update=True)
    if pledge.status == "reported" and pledge.evidence == evidence:
        return pledge
    if pledge.status != "published":
        raise WrongStage(f"the pledge is {pledge.status}", field="pledge_id", status=pledge.status)
    row = await connection.fetchrow(
        f"""
        UPDATE scoring_pledge SET status = 'reported', evidence = $2, reported_at = $3 WHERE id = $1
        RETURNING {_PLEDGE_COLUMNS}
        """,
        pledge_id,
        list(evidence),
        now,
    )
    return _pledge(row)


async def assess_pledge(
    connection: asyncpg.Connection, actor: Principal, pledge_id: uuid.UUID, *, now: datetime | None = None
) -> Pledge:
    """The branch assesses a pledge from its reviews: kept (reported, a leader reviewed it, the 三评 result reaches
    the pass mark) scores the catalogue's pledge item; otherwise it is missed. Assessing again is a replay.
    """
    now = now or datetime.now(UTC)
    pledge = await get_pledge(connection, pledge_id)
    period = await writable_period(connection, pledge.period_id, ledger=True)
    card = await lock_card(connection, pledge.period_id, pledge.person_id)
    require_leader(actor, card)
    return await assess(connection, card, period, pledge_id, assessed_by=actor.person_id, now=now)


async def assess(
    connection: asyncpg.Connection,
    card: Card,
    period: Period,
    pledge_id: uuid.UUID,
    *,
    assessed_by: uuid.UUID | None,
    now: datetime,
) -> Pledge:
    pledge = await get_pledge(connection, pledge_id, for_update=True)
    if pledge.status in ("fulfilled", "missed"):
        return pledge
    if pledge.status == "published" and local_day(now) <= pledge.due_on:
        raise WrongStage("the pledge is not reported kept and not yet due", field="pledge_id", status=pledge.status)
    catalogue = await campaign_catalogue(connection, period, now)
    reviews = by_role(await reviews_of(connection, period.id, pledge.person_id, pledge_id=pledge_id))
    result = weighted_score(reviews, catalogue.weights)
    kept = (
        pledge.status == "reported"
        and bool(reviews.get(ReviewerRole.leader))
        and result is not None
        and result >= catalogue.pass_mark
    )
    entry_id = None
    items = catalogue.of_source(ItemSource.pledge)
    if kept and items and items[0].applies_to(card.member_type):
        entry, _ = await insert_posted(
            connection,
            card,
            catalogue,
            NewEntry(
                id=ids.source_entry_id(period.id, card.person_id, items[0].code, "pledge", str(pledge_id)),
                item=items[0],
                source_type="pledge",
                source_id=str(pledge_id),
                occurred_on=within(period, local_day(now)),
                evidence=pledge.evidence,
            ),
            submitted_by=None,
            decided_by=assessed_by,
            now=now,
        )
        entry_id = entry.id
    row = await connection.fetchrow(
        f"""
        UPDATE scoring_pledge SET status = $2, review_score = $3, assessed_by = $4, assessed_at = $5, entry_id = $6
        WHERE id = $1 RETURNING {_PLEDGE_COLUMNS}
        """,
        pledge_id,
        "fulfilled" if kept else "missed",
        result,
        assessed_by,
        now,
        entry_id,
    )
    return _pledge(row)
