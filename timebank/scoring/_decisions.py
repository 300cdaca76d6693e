"""Deciding what members report about themselves (approve, reject) and correcting posted entries (reverse).

A report counts only on the decision of someone who answers for it (never a job, never the member); a correction is
a reversal of the entry's transfer, and both stay.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg

from timebank.access.principal import Principal
from timebank.community import audit
from timebank.ledger import Code, Transfer
from timebank.scoring import ids
from timebank.scoring._ledger import issuance_account, post_transfers
from timebank.scoring.catalogue import get_catalogue
from timebank.scoring.entries import (
    ENTRY_COLUMNS,
    Entry,
    audit_view,
    entry_from,
    get_entry,
    post_amount,
    score_transfer,
)
from timebank.scoring.errors import WrongStage
from timebank.scoring.model import Catalogue, Item, ReviewerScope
from timebank.scoring.records import (
    Card,
    lock_card,
    require_leader,
    require_person,
    writable_period,
)

__all__ = ["approve_entry", "reject_entry", "reverse_entry"]


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
        before=audit_view(entry),
        after=audit_view(posted),
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
        before=audit_view(entry),
        after={**audit_view(rejected), "reason": reason},
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
        before=audit_view(entry),
        after={**audit_view(reversed_entry), "reason": reason},
    )
    return reversed_entry


def _issuance(card: Card) -> uuid.UUID:
    return issuance_account(card.community_id)
