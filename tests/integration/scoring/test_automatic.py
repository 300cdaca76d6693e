"""credit_item: what volunteering and closed orders call to score party members, once per business record; and
withdraw_credit, which takes a credit back when its record is corrected."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

import pytest

from tests.auth_support import Org
from tests.integration.scoring.support import at, build, member, open_year
from timebank.community.accounts import SystemRole, account_id, community_accounts, open_accounts, system_account_id
from timebank.db import Database, bound
from timebank.errors import InvalidInput
from timebank.ledger import Asset, Code, LedgerService, Result, Transfer
from timebank.ledger.store import write_batch
from timebank.scoring import (
    AUTOMATIC_ITEMS,
    ORDER_SERVICE,
    VOLUNTEER_HOUR,
    Credit,
    CreditOutcome,
    Withdrawal,
    WithdrawalOutcome,
    credit_item,
    ids,
    periods,
    recording,
    withdraw_credit,
)
from timebank.scoring.model import ItemSource


async def _credit(database: Database, community: uuid.UUID, person: uuid.UUID, **kwargs: object) -> Credit:
    values: dict[str, object] = {
        "item_code": "volunteer_hour",
        "source_type": "service_record",
        "source_id": str(uuid.uuid4()),
        "occurred_on": date(2026, 5, 1),
    }
    values.update(kwargs)
    async with bound(database.pool, [community]) as connection:
        return await credit_item(connection, community_id=community, person_id=person, **values)  # type: ignore[arg-type]


async def test_a_record_credits_once(org: Org, database: Database, ledger: LedgerService) -> None:
    setup = await build(org, database, members=1)
    period = await open_year(database, setup)
    who, record = setup.members[0].id, str(uuid.uuid4())
    first = await _credit(database, setup.community, who, source_id=record, quantity=3)
    again = await _credit(database, setup.community, who, source_id=record, quantity=3)
    account = await ledger.get_account(ids.period_account_id(setup.community, period.id, who))
    assert (first.outcome, first.amount) == (CreditOutcome.credited, 3)
    assert (again.outcome, again.entry_id, again.amount) == (CreditOutcome.replayed, first.entry_id, 3)
    assert account.posted == 63


async def test_concurrent_credits_stop_exactly_at_the_cap(org: Org, database: Database, ledger: LedgerService) -> None:
    setup = await build(org, database, members=1)
    period = await open_year(database, setup)
    who = setup.members[0].id
    # Ten records of 4 hours each race for a cap of 15 (and one record is sent twice).
    twice = str(uuid.uuid4())
    records = [twice, twice, *(str(uuid.uuid4()) for _ in range(8))]
    credits = await asyncio.gather(
        *(_credit(database, setup.community, who, source_id=record, quantity=4) for record in records)
    )
    account = await ledger.get_account(ids.period_account_id(setup.community, period.id, who))
    async with bound(database.pool, [setup.community]) as connection:
        entries = await connection.fetchval(
            "SELECT count(*) FROM scoring_entry WHERE period_id = $1 AND person_id = $2 AND item_code = $3",
            period.id,
            who,
            "volunteer_hour",
        )
    assert account.posted == 60 + 15
    assert entries == 9
    assert sum(c.amount for c in credits if c.outcome is not CreditOutcome.replayed) == 15
    assert sum(c.outcome is CreditOutcome.replayed for c in credits) == 1


async def test_what_cannot_be_credited_says_why(org: Org, database: Database) -> None:
    setup = await build(org, database, members=1)
    who = setup.members[0].id
    before_any_period = await _credit(database, setup.community, who)
    await open_year(database, setup)
    outcomes = [
        before_any_period.outcome,
        (await _credit(database, setup.community, setup.resident.id)).outcome,
        (await _credit(database, setup.community, who, occurred_on=date(2027, 2, 1))).outcome,
        (await _credit(database, setup.community, who, item_code="three_meetings")).outcome,
        (await _credit(database, setup.community, who, item_code="no_such_item")).outcome,
        (await _credit(database, setup.community, who, item_code="dual_report")).outcome,
    ]
    assert outcomes == [
        CreditOutcome.no_open_period,
        CreditOutcome.not_enrolled,
        CreditOutcome.no_open_period,
        CreditOutcome.not_in_catalogue,  # recorded by hand, not automatic
        CreditOutcome.not_in_catalogue,
        CreditOutcome.not_in_catalogue,  # only for dual-registered members
    ]
    with pytest.raises(InvalidInput):
        await _credit(database, setup.community, who, source_type="Service Record")


async def test_a_member_who_joined_after_the_period_opened_is_enrolled_on_first_credit(
    org: Org, database: Database, ledger: LedgerService
) -> None:
    setup = await build(org, database, members=0)
    period = await open_year(database, setup)
    newcomer = await member(org, database, setup.community, setup.group, member_type="dual_registered")
    credit = await _credit(database, setup.community, newcomer.id, item_code="dual_report", quantity=2)
    account = await ledger.get_account(ids.period_account_id(setup.community, period.id, newcomer.id))
    assert (credit.outcome, credit.amount) == (CreditOutcome.credited, 4)
    assert account.posted == 60 + 4


async def test_crediting_after_ledger_writes_in_the_same_transaction_never_deadlocks(
    org: Org, database: Database, ledger: LedgerService
) -> None:
    """A policy writes its own transfers, then credits the score, while the branch scores the same member."""
    setup = await build(org, database, members=1)
    period = await open_year(database, setup)
    who = setup.members[0].id
    async with bound(database.pool, [setup.community]) as connection:
        await open_accounts(connection, community_accounts(setup.community))
    wrote = asyncio.Event()

    async def policy() -> Credit:
        async with bound(database.pool, [setup.community]) as connection:
            points = Transfer(
                id=uuid.uuid4(),
                debit_account_id=system_account_id(setup.community, SystemRole.issuance, Asset.points),
                credit_account_id=account_id(setup.community, "person", who, Asset.points),
                amount=10,
                code=Code.service_credit,
            )
            assert await write_batch(connection, [points]) == [Result.ok]
            wrote.set()
            await asyncio.sleep(0.3)  # the branch's write is now waiting on a lock
            return await credit_item(
                connection,
                community_id=setup.community,
                person_id=who,
                item_code="volunteer_hour",
                source_type="service_record",
                source_id="record-1",
                occurred_on=date(2026, 5, 1),
            )

    async def branch() -> int:
        await wrote.wait()
        async with bound(database.pool, [setup.community]) as connection:
            entry, _ = await recording.record_item(
                connection,
                setup.secretary.principal,
                period.id,
                id=uuid.uuid4(),
                person_id=who,
                item_code="party_day",
                occurred_on=date(2026, 5, 1),
            )
        return entry.amount

    credit, recorded = await asyncio.wait_for(asyncio.gather(policy(), branch()), timeout=10)
    account = await ledger.get_account(ids.period_account_id(setup.community, period.id, who))
    assert (credit.outcome, recorded, account.posted) == (CreditOutcome.credited, 2, 63)


async def _withdraw(database: Database, community: uuid.UUID, person: uuid.UUID, source_id: str) -> Withdrawal:
    async with bound(database.pool, [community]) as connection:
        return await withdraw_credit(
            connection,
            community_id=community,
            person_id=person,
            item_code="volunteer_hour",
            source_type="service_record",
            source_id=source_id,
            occurred_on=date(2026, 5, 1),
            reason="service record corrected",
        )


async def test_a_withdrawn_credit_gives_its_cap_room_back_once(
    org: Org, database: Database, ledger: LedgerService
) -> None:
    setup = await build(org, database, members=1)
    period = await open_year(database, setup)
    who, first, second, never = setup.members[0].id, str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    credited = await _credit(database, setup.community, who, source_id=first, quantity=12)
    capped = await _credit(database, setup.community, who, source_id=second, quantity=12)
    taken = await _withdraw(database, setup.community, who, first)
    again = await _withdraw(database, setup.community, who, first)
    nothing = await _withdraw(database, setup.community, who, never)
    # The cap of 15 has room again: a correction's new record scores in full.
    corrected = await _credit(database, setup.community, who, source_id=str(uuid.uuid4()), quantity=6)
    account = await ledger.get_account(ids.period_account_id(setup.community, period.id, who))
    assert (capped.outcome, capped.amount) == (CreditOutcome.capped, 3)
    assert (taken.outcome, taken.entry_id, taken.amount) == (WithdrawalOutcome.withdrawn, credited.entry_id, 12)
    assert (again.outcome, again.amount) == (WithdrawalOutcome.replayed, 12)
    assert nothing.outcome is WithdrawalOutcome.nothing
    assert (corrected.outcome, corrected.amount) == (CreditOutcome.credited, 6)
    assert account.posted == 60 + 3 + 6


async def test_a_credit_in_a_closed_period_stays(org: Org, database: Database) -> None:
    setup = await build(org, database, members=1)
    period = await open_year(database, setup)
    who, record = setup.members[0].id, str(uuid.uuid4())
    await _credit(database, setup.community, who, source_id=record, quantity=2)
    async with bound(database.pool, [setup.community]) as connection:
        await periods.close_period(connection, setup.staff.principal, period.id, now=at(12, 31, 20))
    assert (await _withdraw(database, setup.community, who, record)).outcome is WithdrawalOutcome.period_closed


def test_the_standard_automatic_items_are_the_codes_other_capabilities_credit() -> None:
    assert [item.code for item in AUTOMATIC_ITEMS] == [VOLUNTEER_HOUR, ORDER_SERVICE]
    assert all(item.source is ItemSource.automatic and item.cap is None for item in AUTOMATIC_ITEMS)
