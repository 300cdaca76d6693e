"""Scoring by people: the branch records items, members report their own with evidence for someone else to decide,
staff reverse mistakes, the branch records the democratic appraisal (民主评议) and any veto (一票否决).

Every decision is audited, and the database refuses any decision a member makes about their own score.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import asyncpg

from timebank.access.principal import Principal
from timebank.community import audit
from timebank.errors import Conflict, InvalidInput, NotFound, RuleViolation
from timebank.scoring import ids
from timebank.scoring._decisions import approve_entry, reject_entry, reverse_entry
from timebank.scoring.catalogue import catalogue_on
from timebank.scoring.entries import (
    ENTRY_COLUMNS,
    Entry,
    NewEntry,
    audit_view,
    entry_from,
    get_entry,
    insert_posted,
)
from timebank.scoring.errors import WrongStage
from timebank.scoring.model import Catalogue, Item, ItemSource, ReviewerScope, local_day
from timebank.scoring.records import (
    Card,
    Period,
    card_of,
    get_period,
    lock_card,
    require_leader,
    require_person,
    writable_period,
)

__all__ = [
    "approve_entry",
    "record_appraisal",
    "record_item",
    "reject_entry",
    "reverse_entry",
    "submit_item",
    "veto",
]


#: Bounds the database also holds (scoring_entry CHECKs), refused here first with the field named.
MAX_QUANTITY = 1000
MAX_EVIDENCE = 20


async def _manual_item(connection: asyncpg.Connection, period: Period, day: date, code: str) -> tuple[Catalogue, Item]:
    if not period.starts_on <= day <= period.ends_on:
        raise InvalidInput("the date is outside the period", field="occurred_on")
    catalogue = await catalogue_on(connection, period.community_id, day)
    item = catalogue.item(code)
    if item is None or item.source is not ItemSource.manual:
        raise InvalidInput(f"{code} is not an item recorded by hand in this catalogue", field="item_code")
    return catalogue, item


def _check_item(item: Item, card: Card, quantity: int, evidence: tuple[str, ...]) -> None:
    if not 1 <= quantity <= MAX_QUANTITY:
        raise InvalidInput(f"quantity is 1 to {MAX_QUANTITY}", field="quantity")
    if len(evidence) > MAX_EVIDENCE:
        raise InvalidInput(f"at most {MAX_EVIDENCE} pieces of evidence", field="evidence")
    if not item.applies_to(card.member_type):
        raise RuleViolation(f"{item.code} does not apply to {card.member_type} members", field="item_code")
    if item.evidence_required and not evidence:
        raise InvalidInput(f"{item.code} needs evidence", field="evidence")


async def record_item(
    connection: asyncpg.Connection,
    actor: Principal,
    period_id: uuid.UUID,
    *,
    id: uuid.UUID,
    person_id: uuid.UUID,
    item_code: str,
    occurred_on: date,
    quantity: int = 1,
    evidence: tuple[str, ...] = (),
    note: str = "",
    now: datetime | None = None,
) -> tuple[Entry, bool]:
    """The branch (or staff, for items staff review) scores a member's item now, within its caps."""
    now = now or datetime.now(UTC)
    period = await writable_period(connection, period_id, ledger=True)
    catalogue, item = await _manual_item(connection, period, occurred_on, item_code)
    card = await lock_card(connection, period.id, person_id)
    require_leader(actor, card, staff_only=item.reviewer is ReviewerScope.community)
    _check_item(item, card, quantity, evidence)
    new = NewEntry(id=id, item=item, quantity=quantity, occurred_on=occurred_on, evidence=evidence, note=note)
    entry, created = await insert_posted(
        connection, card, catalogue, new, submitted_by=actor.person_id, decided_by=actor.person_id, now=now
    )
    if created:
        await audit.record(
            connection,
            actor,
            community_id=card.community_id,
            action="score",
            entity="scoring_entry",
            entity_id=entry.id,
            after=audit_view(entry),
        )
    return entry, created


async def submit_item(
    connection: asyncpg.Connection,
    actor: Principal,
    period_id: uuid.UUID,
    *,
    id: uuid.UUID,
    item_code: str,
    occurred_on: date,
    quantity: int = 1,
    evidence: tuple[str, ...] = (),
    note: str = "",
) -> tuple[Entry, bool]:
    """A member reports an item of their own, with evidence; it counts once the branch (or staff) approves it."""
    period = await writable_period(connection, period_id, ledger=False)
    catalogue, item = await _manual_item(connection, period, occurred_on, item_code)
    card = await card_of(connection, period.id, require_person(actor))
    _check_item(item, card, quantity, evidence)
    row = await connection.fetchrow(
        f"""
        INSERT INTO scoring_entry (id, community_id, period_id, person_id, kind, catalogue_id, item_code, quantity,
            requested, source_type, occurred_on, evidence, note, status, submitted_by)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'self_report', $10, $11, $12, 'submitted', $4)
        ON CONFLICT (id) DO NOTHING RETURNING {ENTRY_COLUMNS}
        """,
        id,
        card.community_id,
        period.id,
        card.person_id,
        item.kind.value,
        catalogue.id,
        item.code,
        quantity,
        item.points * quantity,
        occurred_on,
        list(evidence),
        note,
    )
    if row is None:
        existing = await _taken(connection, id)
        if (existing.person_id, existing.item_code, existing.quantity, existing.occurred_on) != (
            card.person_id,
            item.code,
            quantity,
            occurred_on,
        ):
            raise Conflict("this entry id was used for a different entry", field="id", id=str(id))
        return existing, False
    entry = entry_from(row)
    await audit.record(
        connection,
        actor,
        community_id=card.community_id,
        action="submit",
        entity="scoring_entry",
        entity_id=entry.id,
        after=audit_view(entry),
    )
    return entry, True


async def _taken(connection: asyncpg.Connection, entry_id: uuid.UUID) -> Entry:
    """The entry an insert collided with; an id taken elsewhere (invisible here) is a conflict, not a 404."""
    try:
        return await get_entry(connection, entry_id)
    except NotFound:
        raise Conflict("this entry id is taken", field="id", id=str(entry_id)) from None


async def record_appraisal(
    connection: asyncpg.Connection,
    actor: Principal,
    period_id: uuid.UUID,
    *,
    person_id: uuid.UUID,
    points: int,
    now: datetime | None = None,
) -> Entry:
    """The branch records the member's democratic appraisal, 0 up to the catalogue's appraisal item points.

    One appraisal counts per member and period: recording the same points again is a replay, other points are a
    conflict (reverse the first to correct it).
    """
    now = now or datetime.now(UTC)
    period = await writable_period(connection, period_id, ledger=True)
    day = min(max(local_day(now), period.starts_on), period.ends_on)
    catalogue = await catalogue_on(connection, period.community_id, day)
    items = catalogue.of_source(ItemSource.appraisal)
    if not items:
        raise RuleViolation("the catalogue has no democratic appraisal item", field="points")
    item = items[0]
    if not 0 <= points <= item.points:
        raise InvalidInput(f"the appraisal is 0 to {item.points} points", field="points")
    card = await lock_card(connection, period.id, person_id)
    require_leader(actor, card)
    rows = await connection.fetch(
        f"SELECT {ENTRY_COLUMNS} FROM scoring_entry WHERE period_id = $1 AND person_id = $2 AND source_type = "
        "'appraisal' ORDER BY created_at",
        period.id,
        person_id,
    )
    standing = [entry_from(row) for row in rows if row["status"] == "posted"]
    if standing:
        if standing[0].requested != points:
            raise Conflict("the appraisal is recorded already; reverse it to correct it", field="points")
        return standing[0]
    source_id = f"appraisal/{len(rows) + 1}"
    new = NewEntry(
        id=ids.source_entry_id(period.id, person_id, item.code, "appraisal", source_id),
        item=item,
        source_type="appraisal",
        source_id=source_id,
        occurred_on=day,
        requested=points,
    )
    entry, _ = await insert_posted(
        connection, card, catalogue, new, submitted_by=actor.person_id, decided_by=actor.person_id, now=now
    )
    await audit.record(
        connection,
        actor,
        community_id=card.community_id,
        action="appraise",
        entity="scoring_entry",
        entity_id=entry.id,
        after=audit_view(entry),
    )
    return entry


async def veto(
    connection: asyncpg.Connection, actor: Principal, period_id: uuid.UUID, *, person_id: uuid.UUID, reason: str
) -> Card:
    """The branch vetoes a member's rating (一票否决, e.g. a breach of discipline): one star whatever the score."""
    period = await get_period(connection, period_id)
    card = await lock_card(connection, period.id, person_id)
    require_leader(actor, card)
    if await connection.fetchval("SELECT 1 FROM scoring_rating_list WHERE period_id = $1", period.id):
        raise WrongStage("the rating list is drafted already", field="period_id")
    if card.veto_reason == reason:
        return card
    await connection.execute(
        "UPDATE scoring_card SET veto_reason = $3, vetoed_by = $4 WHERE period_id = $1 AND person_id = $2",
        period.id,
        person_id,
        reason,
        actor.person_id,
    )
    await audit.record(
        connection,
        actor,
        community_id=card.community_id,
        action="veto",
        entity="scoring_card",
        entity_id=f"{period.id}/{person_id}",
        before={"veto_reason": card.veto_reason},
        after={"veto_reason": reason},
    )
    return await card_of(connection, period.id, person_id)
