"""Automatic credits: other capabilities' policies (volunteer service, closed orders) score party members here.

Call :func:`credit_item` on your own transaction, so your record and its score commit together, before or after
your own ledger writes (it takes the community's ledger lock first, as every ledger write does, so the order of
locks is the same everywhere). It never raises for an ordinary "nothing to credit" (not a party member, no open
period, item not in the catalogue): it says so in the returned :class:`Credit`. When the business record turns out
wrong (a corrected service record), :func:`withdraw_credit` reverses what it scored, so the cap room comes back.

The codes other capabilities credit are named here (:data:`VOLUNTEER_HOUR`, :data:`ORDER_SERVICE`); a community's
catalogue scores them once it has automatic items of those codes (:data:`AUTOMATIC_ITEMS` are the standard ones).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum

import asyncpg

from timebank.access.principal import Principal
from timebank.errors import InvalidInput, NotFound
from timebank.scoring import ids
from timebank.scoring._decisions import reverse_entry
from timebank.scoring.catalogue import catalogue_on
from timebank.scoring.entries import NewEntry, get_entry, insert_posted
from timebank.scoring.errors import NotEnrolled, PeriodClosed
from timebank.scoring.model import Item, ItemKind, ItemSource
from timebank.scoring.periods import enrol, period_covering
from timebank.scoring.records import lock_card, writable_period

__all__ = [
    "AUTOMATIC_ITEMS",
    "ORDER_SERVICE",
    "VOLUNTEER_HOUR",
    "Credit",
    "CreditOutcome",
    "Withdrawal",
    "WithdrawalOutcome",
    "credit_item",
    "withdraw_credit",
]

_SYSTEM = Principal.system("scoring.credit_item")
_SOURCE_TYPE = re.compile(r"[a-z][a-z_]{0,31}")

#: Volunteer service (timebank.volunteering): one unit per unit of party score the earning policy prices a record at
#: (by default one an hour), for party members and, if the policy names tags, only for tagged activities.
VOLUNTEER_HOUR = "volunteer_hour"
#: A closed public-good order (timebank.marketplace): the order policy's score bonus in units, unless rated low.
ORDER_SERVICE = "order_service"
#: The standard definitions of the items above, one point a unit and no cap of their own; a community publishes
#: them in its catalogue (with its own points and caps if it likes) for volunteer service and orders to score.
AUTOMATIC_ITEMS: tuple[Item, ...] = (
    Item(code=VOLUNTEER_HOUR, name="志愿服务", kind=ItemKind.bonus, source=ItemSource.automatic, points=1),
    Item(code=ORDER_SERVICE, name="服务接单", kind=ItemKind.bonus, source=ItemSource.automatic, points=1),
)


class CreditOutcome(StrEnum):
    credited = "credited"
    #: Credited short of what was asked (possibly nothing) because a cap was reached; the entry records it.
    capped = "capped"
    #: This business record was credited before: nothing changed.
    replayed = "replayed"
    #: The person has no active party membership here, or their member type is exempt.
    not_enrolled = "not_enrolled"
    #: No period covers the date, or it is closed.
    no_open_period = "no_open_period"
    #: The catalogue in force has no automatic item of this code for the member's type.
    not_in_catalogue = "not_in_catalogue"


@dataclass(frozen=True, slots=True, kw_only=True)
class Credit:
    outcome: CreditOutcome
    entry_id: uuid.UUID | None = None
    amount: int = 0


async def credit_item(
    connection: asyncpg.Connection,
    *,
    community_id: uuid.UUID,
    person_id: uuid.UUID,
    item_code: str,
    source_type: str,
    source_id: str,
    occurred_on: date,
    quantity: int = 1,
) -> Credit:
    """Score the catalogue's automatic item ``item_code`` for one business record, exactly once.

    Args:
        connection: the caller's transaction, bound to ``community_id`` (or to every community).
        community_id: where the member is assessed.
        person_id: the member.
        item_code: an item of source ``automatic`` in the catalogue in force on ``occurred_on``.
        source_type: what kind of record earned it, e.g. ``service_record`` or ``order`` (lower snake case).
        source_id: that record's id: the same record credits the item once, however often this is called.
        occurred_on: when it happened; picks the period and the catalogue version.
        quantity: how many times the item's points (e.g. hours served).

    Returns:
        What happened; ``entry_id`` and ``amount`` name the posted entry when there is one.

    Raises:
        InvalidInput: ``quantity`` or ``source_type`` is malformed (a bug in the caller, not a state).
    """
    if not 1 <= quantity <= 1000:
        raise InvalidInput("quantity is 1 to 1000", field="quantity")
    if _SOURCE_TYPE.fullmatch(source_type) is None:
        raise InvalidInput("source_type is lower snake case, at most 32 characters", field="source_type")
    covering = await period_covering(connection, community_id, occurred_on)
    if covering is None:
        return Credit(outcome=CreditOutcome.no_open_period)
    try:
        period = await writable_period(connection, covering.id, ledger=True)
    except PeriodClosed:
        return Credit(outcome=CreditOutcome.no_open_period)
    try:
        catalogue = await catalogue_on(connection, community_id, occurred_on)
    except NotFound:
        return Credit(outcome=CreditOutcome.not_in_catalogue)
    item = catalogue.item(item_code)
    if item is None or item.source is not ItemSource.automatic:
        return Credit(outcome=CreditOutcome.not_in_catalogue)
    if not await connection.fetchval(
        "SELECT 1 FROM scoring_card WHERE period_id = $1 AND person_id = $2", period.id, person_id
    ):
        # A member who joined after the period opened is enrolled on first use (base score included).
        await enrol(connection, _SYSTEM, period.id, person_id=person_id)
    try:
        card = await lock_card(connection, period.id, person_id)
    except NotEnrolled:
        return Credit(outcome=CreditOutcome.not_enrolled)
    if not item.applies_to(card.member_type):
        return Credit(outcome=CreditOutcome.not_in_catalogue)
    entry, created = await insert_posted(
        connection,
        card,
        catalogue,
        NewEntry(
            id=ids.source_entry_id(period.id, person_id, item.code, source_type, source_id),
            item=item,
            quantity=quantity,
            source_type=source_type,
            source_id=source_id,
            occurred_on=occurred_on,
        ),
        submitted_by=None,
        decided_by=None,
        now=datetime.now(UTC),
    )
    if not created:
        return Credit(outcome=CreditOutcome.replayed, entry_id=entry.id, amount=entry.amount)
    outcome = CreditOutcome.credited if entry.amount == entry.requested else CreditOutcome.capped
    return Credit(outcome=outcome, entry_id=entry.id, amount=entry.amount)


class WithdrawalOutcome(StrEnum):
    #: The entry's transfer is reversed now; its amount no longer counts, and the caps have the room back.
    withdrawn = "withdrawn"
    #: It was withdrawn before: nothing changed.
    replayed = "replayed"
    #: There is nothing to take back: the record never scored, or a cap kept it from counting anything.
    nothing = "nothing"
    #: It scored in a period that is closed now; closed periods never change, so it stays.
    period_closed = "period_closed"


@dataclass(frozen=True, slots=True, kw_only=True)
class Withdrawal:
    outcome: WithdrawalOutcome
    entry_id: uuid.UUID | None = None
    amount: int = 0


async def withdraw_credit(
    connection: asyncpg.Connection,
    *,
    community_id: uuid.UUID,
    person_id: uuid.UUID,
    item_code: str,
    source_type: str,
    source_id: str,
    occurred_on: date,
    reason: str,
) -> Withdrawal:
    """Take back what :func:`credit_item` scored for one business record (called with the same arguments), once.

    On the caller's transaction; it takes the community's ledger lock first, like :func:`credit_item`. The entry
    stays, reversed, with ``reason`` and an audit record naming this job.
    """
    period = await period_covering(connection, community_id, occurred_on)
    if period is None:
        return Withdrawal(outcome=WithdrawalOutcome.nothing)
    entry_id = ids.source_entry_id(period.id, person_id, item_code, source_type, source_id)
    try:
        entry = await get_entry(connection, entry_id)
    except NotFound:
        return Withdrawal(outcome=WithdrawalOutcome.nothing)
    if entry.status == "reversed":
        return Withdrawal(outcome=WithdrawalOutcome.replayed, entry_id=entry.id, amount=entry.amount)
    if entry.status != "posted" or entry.amount == 0:
        return Withdrawal(outcome=WithdrawalOutcome.nothing, entry_id=entry.id)
    try:
        reversed_entry = await reverse_entry(connection, _SYSTEM, entry.id, reason=reason)
    except PeriodClosed:
        return Withdrawal(outcome=WithdrawalOutcome.period_closed, entry_id=entry.id, amount=entry.amount)
    return Withdrawal(outcome=WithdrawalOutcome.withdrawn, entry_id=reversed_entry.id, amount=reversed_entry.amount)
