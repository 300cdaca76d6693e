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
from timebank.ledger import Code, Transfer
from timebank.scoring import ids
from timebank.scoring._ledger import issuance_account, post_transfers
from timebank.scoring.catalogue import catalogue_on, get_catalogue
from timebank.scoring.entries import (
    ENTRY_COLUMNS,
    Entry,
    NewEntry,
    entry_from,
    get_entry,
    insert_posted,
    post_amount,
    score_transfer,
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


def _audit_view(entry: Entry) -> dict[str, object]:
    return {
        "person_id": str(entry.person_id),
        "item_code": entry.item_code,
        "quantity": entry.quantity,
        "requested": entry.requested,
        "amount": entry.amount,
        "status": entry.status,
    }


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
            after=_audit_view(entry),
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
        after=_audit_view(entry),
    )
    return entry, True


async def _taken(connection: asyncpg.Connection, entry_id: uuid.UUID) -> Entry:
    """The entry an insert collided with; an id taken elsewhere (invisible here) is a conflict, not a 404."""
    try:
        return await get_entry(connection, entry_id)
    except NotFound:
        raise Conflict("this entry id is taken", field="id", id=str(entry_id)) from None


async def _locked_entry(
    connection: asyncpg.Connection, actor: Principal, entry_id: uuid.UUID, *, staff_only: bool | None = None
) -> tuple[Card, Entry, Catalogue, Item | None]:
    """Lock the entry's card then the entry, and check the actor decides for the member (never their own)."""
    first = await get_entry(connection, entry_id)
    await writable_period(connection, first.period_id, ledger=True)
    card = await lock_card(connection, first.period_id, first.person_id)
    entry = await get_entry(connection, entry_id, for_update=True)
    catalogue = await get_catalogue(connection, entry.catalogue_id)
    item = None if entry.item_code is None else catalogue.item(entry.item_code)
    if staff_only is None:
        staff_only = item is None or item.reviewer is ReviewerScope.community
    require_leader(actor, card, staff_only=staff_only)
    return card, entry, catalogue, item


async def approve_entry(
    connection: asyncpg.Connection,
    actor: Principal,
    entry_id: uuid.UUID,
    *,
    note: str = "",
    now: datetime | None = None,
) -> Entry:
    """Approve a member's report: it posts now, within the caps as they stand now. Approving again is a replay."""
    now = now or datetime.now(UTC)
    require_person(actor)  # a report is decided by someone who answers for it, never by a job
    card, entry, catalogue, item = await _locked_entry(connection, actor, entry_id)
    if entry.status == "posted" and entry.decided_by == actor.person_id:
        return entry
    if entry.status != "submitted" or item is None:
        raise WrongStage(f"the entry is {entry.status}", field="entry_id", status=entry.status)
    amount = await post_amount(connection, card, catalogue, item, entry.requested)
    transfer = score_transfer(
        card.community_id,
        card.account_id,
        policy_version=catalogue.version,
        entry_id=entry.id,
        kind=entry.kind,
        amount=amount,
        label=item.code,
    )
    row = await connection.fetchrow(
        f"""
        UPDATE scoring_entry SET status = 'posted', amount = $2, decided_by = $3, decided_at = $4,
            decision_note = $5, transfer_id = $6
        WHERE id = $1 RETURNING {ENTRY_COLUMNS}
        """,
        entry.id,
        amount,
        actor.person_id,
        now,
        note,
        transfer.id if amount > 0 else None,
    )
    if amount > 0:
        await post_transfers(connection, [transfer])
    posted = entry_from(row)
    await audit.record(
        connection,
        actor,
        community_id=card.community_id,
        action="approve",
        entity="scoring_entry",
        entity_id=entry.id,
        before=_audit_view(entry),
        after=_audit_view(posted),
    )
    return posted


async def reject_entry(
    connection: asyncpg.Connection,
    actor: Principal,
    entry_id: uuid.UUID,
    *,
    reason: str,
    now: datetime | None = None,
) -> Entry:
    """Reject a member's report, saying why; rejecting again is a replay."""
    now = now or datetime.now(UTC)
    require_person(actor)
    card, entry, _, _ = await _locked_entry(connection, actor, entry_id)
    if entry.status == "rejected":
        return entry
    if entry.status != "submitted":
        raise WrongStage(f"the entry is {entry.status}", field="entry_id", status=entry.status)
    row = await connection.fetchrow(
        f"""
        UPDATE scoring_entry SET status = 'rejected', decided_by = $2, decided_at = $3, decision_note = $4
        WHERE id = $1 RETURNING {ENTRY_COLUMNS}
        """,
        entry.id,
        actor.person_id,
        now,
        reason,
    )
    rejected = entry_from(row)
    await audit.record(
        connection,
        actor,
        community_id=card.community_id,
        action="reject",
        entity="scoring_entry",
        entity_id=entry.id,
        before=_audit_view(entry),
        after={**_audit_view(rejected), "reason": reason},
    )
    return rejected


async def reverse_entry(connection: asyncpg.Connection, actor: Principal, entry_id: uuid.UUID, *, reason: str) -> Entry:
    """Community staff correct a posted entry by reversing its transfer; the entry and both transfers stay."""
    card, entry, catalogue, _ = await _locked_entry(connection, actor, entry_id, staff_only=True)
    if entry.status == "reversed":
        return entry
    if entry.status != "posted" or entry.transfer_id is None:
        raise WrongStage("only a posted entry that added or took points can be reversed", field="entry_id")
    reversal = Transfer(
        id=ids.reversal_id(entry.id),
        debit_account_id=card.account_id if entry.kind != "deduction" else _issuance(card),
        credit_account_id=_issuance(card) if entry.kind != "deduction" else card.account_id,
        amount=entry.amount,
        code=Code.reversal,
        reverses_id=entry.transfer_id,
        ref_type="scoring_entry",
        ref_id=entry.id,
        policy_version=catalogue.version,
        memo=reason[:200],
    )
    row = await connection.fetchrow(
        f"""
        UPDATE scoring_entry SET status = 'reversed', reversal_id = $2, decision_note = $3
        WHERE id = $1 RETURNING {ENTRY_COLUMNS}
        """,
        entry.id,
        reversal.id,
        reason,
    )
    await post_transfers(connection, [reversal])
    reversed_entry = entry_from(row)
    await audit.record(
        connection,
        actor,
        community_id=card.community_id,
        action="reverse",
        entity="scoring_entry",
        entity_id=entry.id,
        before=_audit_view(entry),
        after={**_audit_view(reversed_entry), "reason": reason},
    )
    return reversed_entry


def _issuance(card: Card) -> uuid.UUID:
    return issuance_account(card.community_id)


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
        after=_audit_view(entry),
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
