"""A party member's volunteer service scores in the party assessment: the record's chain posts minutes, coins and
points, and settling it credits ``volunteer_hour`` in the member's account for the period, within the catalogue's
caps, once, however approval is retried or a crash is finished; when nothing can be credited the record says why."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import timedelta

from tests.integration.volunteering.conftest import (
    BASE_SCORE,
    DAY_ONE,
    Clock,
    Neighbourhood,
    add_volunteer,
    balances,
    ledger_violations,
    open_assessment,
    period_score,
    serve,
)
from timebank.access.principal import Principal
from timebank.db import Database, bound
from timebank.ledger import Asset, LedgerService, TransferFlags
from timebank.scoring import AUTOMATIC_ITEMS, VOLUNTEER_HOUR, catalogue
from timebank.scoring.catalogue import NewCatalogue
from timebank.scoring.model import Item, ItemKind, ItemSource
from timebank.volunteering import crediting
from timebank.volunteering.policy import DEFAULT_RULES
from timebank.volunteering.posting import post_chain
from timebank.volunteering.records import ServiceRecord, get_record
from timebank.volunteering.service import Volunteering

MEETING = Item(code="three_meetings", name="三会一课", kind=ItemKind.bonus, source=ItemSource.manual, points=3)


async def _record(database: Database, hood: Neighbourhood, record_id: uuid.UUID) -> ServiceRecord:
    async with bound(database.pool, [hood.community]) as connection:
        return await get_record(connection, record_id)


def _scored(record: ServiceRecord) -> tuple[int | None, str | None, int | None]:
    return record.party_score_units, record.party_score_outcome, record.party_score


async def test_one_chain_of_three_assets_and_the_score_within_the_items_cap(
    database: Database, hood: Neighbourhood, volunteering: Volunteering, ledger: LedgerService, clock: Clock
) -> None:
    capped_hours = replace(AUTOMATIC_ITEMS[0], cap=3)
    period = await open_assessment(database, hood, items=(capped_hours, *AUTOMATIC_ITEMS[1:]))
    wei = await add_volunteer(database, hood, "魏红", party_member=True)
    first = await serve(volunteering, clock, hood, wei, starts_at=DAY_ONE, minutes=120)
    second = await serve(volunteering, clock, hood, wei, starts_at=DAY_ONE + timedelta(days=1), minutes=120)
    await volunteering.approve(hood.staff, [first, second])

    # The record's own credits are still one linked chain, all or nothing; party score is not part of it.
    chain = await database.pool.fetch(
        "SELECT asset, amount, flags FROM ledger_transfer WHERE ref_id = $1 ORDER BY seq", first
    )
    assert [(Asset(row["asset"]), row["amount"]) for row in chain] == [
        (Asset.service_minutes, 120),
        (Asset.time_coins, 120),
        (Asset.points, 2),
    ]
    assert [bool(row["flags"] & TransferFlags.linked) for row in chain] == [True, True, False]
    # Two hours, then one of the next two: the item's cap of 3 for the period.
    assert _scored(await _record(database, hood, first)) == (2, "credited", 2)
    assert _scored(await _record(database, hood, second)) == (2, "capped", 1)
    assert await period_score(ledger, hood, period, wei) == BASE_SCORE + 3
    assert (await balances(ledger, hood, wei))["party_score"] == 0
    assert await ledger_violations(database, hood) == []


async def test_what_the_assessment_cannot_credit_is_skipped_and_the_record_says_why(
    database: Database, hood: Neighbourhood, volunteering: Volunteering, ledger: LedgerService, clock: Clock
) -> None:
    feng = await add_volunteer(database, hood, "冯军", party_member=True)
    retired = await add_volunteer(database, hood, "褚大爷", party_member=True, member_type="retired")
    before_any_period = await serve(volunteering, clock, hood, feng, starts_at=DAY_ONE, minutes=60)
    assert (await volunteering.approve_one(hood.staff, before_any_period)).status == "credited"

    # The year opens with a catalogue that scores no volunteer service; from April it does.
    period = await open_assessment(database, hood, items=(MEETING,))
    march = await serve(volunteering, clock, hood, feng, starts_at=DAY_ONE + timedelta(days=1), minutes=60)
    await volunteering.approve_one(hood.staff, march)
    april = DAY_ONE + timedelta(days=35)
    async with bound(database.pool, [hood.community]) as connection:
        await catalogue.publish_catalogue(
            connection,
            hood.staff,
            hood.community,
            NewCatalogue(
                id=uuid.uuid4(), effective_from=april.date(), base_score=BASE_SCORE, items=(MEETING, *AUTOMATIC_ITEMS)
            ),
        )
    scored = await serve(volunteering, clock, hood, feng, starts_at=april, minutes=60)
    exempt = await serve(volunteering, clock, hood, retired, starts_at=april, minutes=60)
    await volunteering.approve(hood.staff, [scored, exempt])
    await volunteering.approve(hood.staff, [before_any_period, march])  # approving again retries nothing

    assert _scored(await _record(database, hood, before_any_period)) == (1, "no_open_period", 0)
    assert _scored(await _record(database, hood, march)) == (1, "not_in_catalogue", 0)
    assert _scored(await _record(database, hood, scored)) == (1, "credited", 1)
    assert _scored(await _record(database, hood, exempt)) == (1, "not_enrolled", 0)
    # The rest of every record was credited all the same.
    assert (await balances(ledger, hood, feng))["service_minutes"] == 180
    assert (await balances(ledger, hood, retired))["service_minutes"] == 60
    assert await period_score(ledger, hood, period, feng) == BASE_SCORE + 1
    assert await ledger_violations(database, hood) == []


async def test_party_score_only_for_the_policys_tags(
    database: Database, hood: Neighbourhood, volunteering: Volunteering, ledger: LedgerService, clock: Clock
) -> None:
    period = await open_assessment(database, hood)
    await volunteering.write_policy(
        hood.staff,
        hood.community,
        version=1,
        valid_from=DAY_ONE - timedelta(days=30),
        rules=replace(DEFAULT_RULES, party_score_tags=("三亮三比",)),
    )
    jiang = await add_volunteer(database, hood, "蒋丽", party_member=True)
    plain = await serve(volunteering, clock, hood, jiang, starts_at=DAY_ONE, minutes=60)
    tagged = await serve(
        volunteering, clock, hood, jiang, starts_at=DAY_ONE + timedelta(hours=3), minutes=60, tags=("三亮三比",)
    )
    await volunteering.approve(hood.staff, [plain, tagged])
    assert _scored(await _record(database, hood, plain)) == (0, None, None)
    assert _scored(await _record(database, hood, tagged)) == (1, "credited", 1)
    assert await period_score(ledger, hood, period, jiang) == BASE_SCORE + 1


async def test_a_crash_after_posting_and_racing_approvals_score_once(
    database: Database, hood: Neighbourhood, volunteering: Volunteering, ledger: LedgerService, clock: Clock
) -> None:
    shen = await add_volunteer(database, hood, "沈涛", party_member=True)
    period = await open_assessment(database, hood)
    crashed = await serve(volunteering, clock, hood, shen, starts_at=DAY_ONE, minutes=60)
    raced = await serve(volunteering, clock, hood, shen, starts_at=DAY_ONE + timedelta(days=1), minutes=120)

    # Planned and posted, then the process died before settling: the chain is in, the score not yet.
    async with bound(database.pool, [hood.community]) as connection:
        planned = await crediting.plan_approval(connection, hood.staff, crashed)
    assert await post_chain(ledger, planned) is None
    assert (await balances(ledger, hood, shen))["service_minutes"] == 60
    assert await period_score(ledger, hood, period, shen) == BASE_SCORE
    assert await volunteering.settle_pending(Principal.system("test")) >= 1
    assert await volunteering.settle_pending(Principal.system("test")) == 0
    async with bound(database.pool, [hood.community]) as connection:  # a late settle of the same answer
        await crediting.settle(connection, crashed, None)

    # Two staff approve the same record at once.
    await asyncio.gather(*(volunteering.approve_one(hood.staff, raced) for _ in range(2)))
    await volunteering.approve_one(hood.staff, raced)

    assert _scored(await _record(database, hood, crashed)) == (1, "credited", 1)
    assert _scored(await _record(database, hood, raced)) == (2, "credited", 2)
    assert await period_score(ledger, hood, period, shen) == BASE_SCORE + 3
    assert (await balances(ledger, hood, shen))["service_minutes"] == 180
    async with bound(database.pool, [hood.community]) as connection:
        entries = await connection.fetchval(
            "SELECT count(*) FROM scoring_entry WHERE person_id = $1 AND item_code = $2", shen, VOLUNTEER_HOUR
        )
    assert entries == 2
    assert await ledger_violations(database, hood) == []
