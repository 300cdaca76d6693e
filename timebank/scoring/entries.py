"""Score entries and how they post: caps computed under the member's lock, then one ledger transfer per entry.

A bonus moves ``party_score`` from the community's issuance account to the member's period account; a deduction
moves it back. The transfer id is derived from the entry, so posting an entry again changes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from timebank.errors import Conflict, NotFound
from timebank.ledger import Code, Transfer
from timebank.scoring import ids
from timebank.scoring._ledger import issuance_account, post_transfers
from timebank.scoring.model import Catalogue, Item, ItemKind, ItemSource, capped
from timebank.scoring.records import Card

__all__ = [
    "Entry",
    "NewEntry",
    "audit_view",
    "entries_of",
    "get_entry",
    "insert_posted",
    "post_amount",
    "score_transfer",
]

ENTRY_COLUMNS = (
    "id, community_id, period_id, person_id, kind, catalogue_id, item_code, quantity, requested, amount, "
    "source_type, source_id, occurred_on, evidence, note, status, submitted_by, decided_by, decided_at, "
    "decision_note, transfer_id, reversal_id, created_at"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry:
    id: uuid.UUID
    community_id: uuid.UUID
    period_id: uuid.UUID
    person_id: uuid.UUID
    kind: str
    catalogue_id: uuid.UUID
    item_code: str | None
    quantity: int
    requested: int
    amount: int
    source_type: str
    source_id: str | None
    occurred_on: date
    evidence: tuple[str, ...]
    note: str
    status: str
    submitted_by: uuid.UUID | None
    decided_by: uuid.UUID | None
    decided_at: datetime | None
    decision_note: str
    transfer_id: uuid.UUID | None
    reversal_id: uuid.UUID | None
    created_at: datetime

    @property
    def capped(self) -> int:
        """What a cap kept from counting (0 unless posted short of what was requested)."""
        return self.requested - self.amount if self.status in ("posted", "reversed") else 0

    @property
    def signed(self) -> int:
        """The entry's effect on the total while posted: deductions count negative."""
        if self.status != "posted":
            return 0
        return -self.amount if self.kind == ItemKind.deduction else self.amount


@dataclass(frozen=True, slots=True, kw_only=True)
class NewEntry:
    """What is being scored, before caps: the item, how many times, from which business record."""

    id: uuid.UUID
    item: Item
    quantity: int = 1
    source_type: str = "manual"
    source_id: str | None = None
    occurred_on: date
    evidence: tuple[str, ...] = ()
    note: str = ""
    requested: int | None = None  # defaults to points x quantity; appraisals and comparisons name their own

    @property
    def asked(self) -> int:
        return self.item.points * self.quantity if self.requested is None else self.requested


def entry_from(row: asyncpg.Record) -> Entry:
    values = dict(row)
    values["evidence"] = tuple(values["evidence"])
    return Entry(**values)


async def get_entry(connection: asyncpg.Connection, entry_id: uuid.UUID, *, for_update: bool = False) -> Entry:
    lock = " FOR UPDATE" if for_update else ""
    row = await connection.fetchrow(f"SELECT {ENTRY_COLUMNS} FROM scoring_entry WHERE id = $1{lock}", entry_id)
    if row is None:
        raise NotFound("no such score entry", field="entry_id", entry_id=str(entry_id))
    return entry_from(row)


async def entries_of(
    connection: asyncpg.Connection,
    period_id: uuid.UUID,
    person_id: uuid.UUID | None = None,
    *,
    status: str | None = None,
) -> list[Entry]:
    rows = await connection.fetch(
        f"""
        SELECT {ENTRY_COLUMNS} FROM scoring_entry
        WHERE period_id = $1 AND ($2::uuid IS NULL OR person_id = $2) AND ($3::text IS NULL OR status = $3)
        ORDER BY occurred_on, created_at, id
        """,
        period_id,
        person_id,
        status,
    )
    return [entry_from(row) for row in rows]


async def post_amount(connection: asyncpg.Connection, card: Card, catalogue: Catalogue, item: Item, asked: int) -> int:
    """How much of ``asked`` still counts under the item's cap and the period's bonus cap. Hold the card's lock."""
    used = await connection.fetchrow(
        """
        SELECT coalesce(sum(e.amount) FILTER (WHERE e.item_code = $3), 0) AS item_used,
               coalesce(sum(e.amount) FILTER (WHERE e.kind = 'bonus' AND i.source <> 'appraisal'), 0) AS bonus_used
        FROM scoring_entry e
        LEFT JOIN scoring_item i ON i.catalogue_id = e.catalogue_id AND i.code = e.item_code
        WHERE e.period_id = $1 AND e.person_id = $2 AND e.status = 'posted'
        """,
        card.period_id,
        card.person_id,
        item.code,
    )
    amount = capped(asked, used=used["item_used"], cap=item.cap)
    if item.kind is ItemKind.bonus and item.source is not ItemSource.appraisal:
        amount = capped(amount, used=used["bonus_used"], cap=catalogue.period_cap)
    return amount


def score_transfer(
    community_id: uuid.UUID,
    account_id: uuid.UUID,
    *,
    policy_version: int,
    entry_id: uuid.UUID,
    kind: str,
    amount: int,
    label: str,
) -> Transfer:
    """The ledger transfer that posts an entry: issuance to the member for base and bonus, back for a deduction."""
    issuance = issuance_account(community_id)
    deduction = kind == ItemKind.deduction
    code = {"base": Code.score_base, "bonus": Code.score_bonus, "deduction": Code.score_deduction}[kind]
    return Transfer(
        id=ids.transfer_id(entry_id),
        debit_account_id=account_id if deduction else issuance,
        credit_account_id=issuance if deduction else account_id,
        amount=amount,
        code=code,
        ref_type="scoring_entry",
        ref_id=entry_id,
        policy_version=policy_version,
        memo=label[:200],
    )


def _same(existing: Entry, card: Card, new: NewEntry) -> bool:
    return (
        existing.period_id == card.period_id
        and existing.person_id == card.person_id
        and existing.item_code == new.item.code
        and existing.quantity == new.quantity
        and existing.source_type == new.source_type
        and existing.source_id == new.source_id
        and existing.occurred_on == new.occurred_on
    )


async def insert_posted(
    connection: asyncpg.Connection,
    card: Card,
    catalogue: Catalogue,
    new: NewEntry,
    *,
    submitted_by: uuid.UUID | None,
    decided_by: uuid.UUID | None,
    now: datetime,
) -> tuple[Entry, bool]:
    """Score ``new`` on the member's card now: capped amount, posted entry, ledger transfer. Hold the card's lock.

    Returns the entry and whether it is new; the same id again returns the stored entry (a replay).

    Raises:
        Conflict: the id was used for a different entry.
    """
    amount = await post_amount(connection, card, catalogue, new.item, new.asked)
    transfer = score_transfer(
        card.community_id,
        card.account_id,
        policy_version=catalogue.version,
        entry_id=new.id,
        kind=new.item.kind.value,
        amount=amount,
        label=new.item.code,
    )
    row = await connection.fetchrow(
        f"""
        INSERT INTO scoring_entry (id, community_id, period_id, person_id, kind, catalogue_id, item_code, quantity,
            requested, amount, source_type, source_id, occurred_on, evidence, note, status, submitted_by, decided_by,
            decided_at, transfer_id)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 'posted', $16, $17, $18, $19)
        ON CONFLICT (id) DO NOTHING
        RETURNING {ENTRY_COLUMNS}
        """,
        new.id,
        card.community_id,
        card.period_id,
        card.person_id,
        new.item.kind.value,
        catalogue.id,
        new.item.code,
        new.quantity,
        new.asked,
        amount,
        new.source_type,
        new.source_id,
        new.occurred_on,
        list(new.evidence),
        new.note,
        submitted_by,
        decided_by,
        now,
        transfer.id if amount > 0 else None,
    )
    if row is None:  # a replay (the same entry again), or the id is taken
        existing = await connection.fetchrow(f"SELECT {ENTRY_COLUMNS} FROM scoring_entry WHERE id = $1", new.id)
        if existing is None or not _same(entry_from(existing), card, new):
            raise Conflict("this entry id was used for a different entry", field="id", id=str(new.id))
        return entry_from(existing), False
    if amount > 0:
        await post_transfers(connection, [transfer])
    return entry_from(row), True


def audit_view(entry: Entry) -> dict[str, object]:
    return {
        "person_id": str(entry.person_id),
        "item_code": entry.item_code,
        "quantity": entry.quantity,
        "requested": entry.requested,
        "amount": entry.amount,
        "status": entry.status,
    }
