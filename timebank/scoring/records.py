"""Periods and score cards as records, and who may act on a member's card.

Shared by the other modules of the assessment; the use cases that change them live in ``periods`` and ``entries``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from timebank.access.principal import Principal, Role
from timebank.errors import Forbidden, NotFound
from timebank.scoring._ledger import lock_ledger
from timebank.scoring.errors import NotEnrolled, PeriodClosed, SelfAssessment

__all__ = [
    "Card",
    "Period",
    "card_of",
    "get_period",
    "is_staff",
    "leads",
    "lock_card",
    "require_leader",
    "require_open",
    "require_person",
    "writable_period",
]

_PERIOD_COLUMNS = "id, community_id, name, starts_on, ends_on, status, opened_at, closed_at"
_CARD_COLUMNS = "community_id, period_id, person_id, account_id, member_type, branch_id, group_id, veto_reason"


@dataclass(frozen=True, slots=True, kw_only=True)
class Period:
    id: uuid.UUID
    community_id: uuid.UUID
    name: str
    starts_on: date
    ends_on: date
    status: str
    opened_at: datetime
    closed_at: datetime | None

    @property
    def is_open(self) -> bool:
        return self.status == "open"


@dataclass(frozen=True, slots=True, kw_only=True)
class Card:
    """A member's score card for one period: their ledger account and their branch and building group."""

    community_id: uuid.UUID
    period_id: uuid.UUID
    person_id: uuid.UUID
    account_id: uuid.UUID
    member_type: str
    branch_id: uuid.UUID | None
    group_id: uuid.UUID | None
    veto_reason: str | None


def period_from(row: asyncpg.Record) -> Period:
    return Period(**dict(row))


def card_from(row: asyncpg.Record) -> Card:
    return Card(**dict(row))


async def get_period(connection: asyncpg.Connection, period_id: uuid.UUID, *, for_update: bool = False) -> Period:
    lock = " FOR UPDATE" if for_update else ""
    row = await connection.fetchrow(f"SELECT {_PERIOD_COLUMNS} FROM scoring_period WHERE id = $1{lock}", period_id)
    if row is None:
        raise NotFound("no such assessment period", field="period_id", period_id=str(period_id))
    return period_from(row)


def require_open(period: Period) -> None:
    if not period.is_open:
        raise PeriodClosed(f"period {period.name} is closed", period_id=str(period.id))


async def writable_period(connection: asyncpg.Connection, period_id: uuid.UUID, *, ledger: bool) -> Period:
    """The period, share-locked and open: closing it (which takes the row's update lock) waits for this write,
    and a write that waited for a close finds the period closed. ``ledger``: the write may post, so take the
    community's ledger lock first (see ``_ledger.lock_ledger`` for the order of locks).
    """
    if ledger:
        community_id = await connection.fetchval("SELECT community_id FROM scoring_period WHERE id = $1", period_id)
        if community_id is not None:
            await lock_ledger(connection, community_id)
    row = await connection.fetchrow(f"SELECT {_PERIOD_COLUMNS} FROM scoring_period WHERE id = $1 FOR SHARE", period_id)
    if row is None:
        raise NotFound("no such assessment period", field="period_id", period_id=str(period_id))
    period = period_from(row)
    require_open(period)
    return period


async def card_of(connection: asyncpg.Connection, period_id: uuid.UUID, person_id: uuid.UUID) -> Card:
    row = await connection.fetchrow(
        f"SELECT {_CARD_COLUMNS} FROM scoring_card WHERE period_id = $1 AND person_id = $2", period_id, person_id
    )
    if row is None:
        raise await _no_card(connection, period_id, person_id)
    return card_from(row)


async def _no_card(connection: asyncpg.Connection, period_id: uuid.UUID, person_id: uuid.UUID) -> Exception:
    """Why there is no card: no such period (or not visible), or the person is not enrolled in it."""
    await get_period(connection, period_id)
    return NotEnrolled("the person is not enrolled in this period", field="person_id", person_id=str(person_id))


async def lock_card(connection: asyncpg.Connection, period_id: uuid.UUID, person_id: uuid.UUID) -> Card:
    """Take the member's score lock for this period: every cap is computed under it (after the ledger lock)."""
    row = await connection.fetchrow(
        f"SELECT {_CARD_COLUMNS} FROM scoring_card WHERE period_id = $1 AND person_id = $2 FOR UPDATE",
        period_id,
        person_id,
    )
    if row is None:
        raise await _no_card(connection, period_id, person_id)
    return card_from(row)


def is_staff(actor: Principal, community_id: uuid.UUID) -> bool:
    return actor.is_system or actor.holds(Role.community_staff, community_id=community_id)


def leads(actor: Principal, card: Card) -> bool:
    """Community staff, or the secretary of the member's branch (组织 for 三评 and for the branch's decisions)."""
    if is_staff(actor, card.community_id):
        return True
    return card.branch_id is not None and actor.holds(
        Role.branch_secretary, community_id=card.community_id, scope_id=card.branch_id
    )


def require_person(actor: Principal) -> uuid.UUID:
    if actor.person_id is None:
        raise Forbidden("this action is taken by a person, not a service account")
    return actor.person_id


def require_leader(actor: Principal, card: Card, *, staff_only: bool = False) -> None:
    """The actor decides for the member's branch (or, with ``staff_only``, for the community), never for themself.

    Raises:
        SelfAssessment: the actor is the member.
        Forbidden: the actor neither leads the member's branch nor is community staff.
    """
    if actor.person_id == card.person_id:
        raise SelfAssessment("nobody decides their own score", person_id=str(card.person_id))
    allowed = is_staff(actor, card.community_id) if staff_only else leads(actor, card)
    if not allowed:
        raise Forbidden(
            "only the member's branch secretary or community staff decide this", person_id=str(card.person_id)
        )
