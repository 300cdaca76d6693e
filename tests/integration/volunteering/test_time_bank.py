"""The time bank: keep, gift to a verified lineal relative, donate, staff grants to people in need, storage cap,
age gate, and team hours that go to the pool."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date, timedelta

import pytest

from tests.integration.volunteering.conftest import DAY_ONE, Clock, Neighbourhood, add_volunteer, balances, serve
from timebank.community import family
from timebank.community.accounts import SystemRole, system_account_id
from timebank.db import Database, bound
from timebank.ledger import Asset, LedgerService
from timebank.volunteering.policy import DEFAULT_RULES
from timebank.volunteering.service import Volunteering
from timebank.volunteering.time_bank import MovementRefused, NotInNeed, NotLinealRelatives, OverStorageCap


async def _earn(volunteering: Volunteering, clock: Clock, hood: Neighbourhood, person: uuid.UUID, minutes: int) -> None:
    record = await serve(volunteering, clock, hood, person, starts_at=DAY_ONE, minutes=minutes)
    await volunteering.approve_one(hood.staff, record)


async def _link(database: Database, hood: Neighbourhood, person: uuid.UUID, relative: uuid.UUID, relation: str) -> None:
    async with bound(database.pool, [hood.community]) as connection:
        link, _ = await family.request_link(
            connection, hood.staff, id=uuid.uuid4(), person_id=person, relative_id=relative, relation=relation
        )
        await family.verify_link(connection, hood.staff, link.id)


async def test_gift_to_a_verified_lineal_relative_only(
    database: Database, hood: Neighbourhood, volunteering: Volunteering, ledger: LedgerService, clock: Clock
) -> None:
    daughter = await add_volunteer(database, hood, "林晓")
    mother = await add_volunteer(database, hood, "林母", birth_date=date(1950, 1, 1))
    neighbour = await add_volunteer(database, hood, "邻居老张")
    await _earn(volunteering, clock, hood, daughter, 120)
    await _link(database, hood, daughter, mother, "parent")
    me = hood.principal(daughter)

    with pytest.raises(NotLinealRelatives):
        await volunteering.move_coins(
            me, hood.community, id=uuid.uuid4(), kind="gift", amount=30, from_person_id=daughter, to_person_id=neighbour
        )
    gift = uuid.uuid4()
    for _ in range(2):  # a retry gifts once
        moved, _ = await volunteering.move_coins(
            me, hood.community, id=gift, kind="gift", amount=90, from_person_id=daughter, to_person_id=mother
        )
        assert moved.status == "posted"
    assert (await balances(ledger, hood, daughter))["time_coins"] == 30
    assert (await balances(ledger, hood, mother))["time_coins"] == 90

    too_much = uuid.uuid4()
    for _ in range(2):  # refused, and refused the same way when retried
        with pytest.raises(MovementRefused) as refused:
            await volunteering.move_coins(
                me, hood.community, id=too_much, kind="gift", amount=31, from_person_id=daughter, to_person_id=mother
            )
        assert refused.value.fields["result"] == "exceeds_credits"


async def test_donations_fill_the_pool_and_staff_grant_to_elders_in_need_first(
    database: Database, hood: Neighbourhood, volunteering: Volunteering, ledger: LedgerService, clock: Clock
) -> None:
    giver = await add_volunteer(database, hood, "何伟")
    bereaved = await add_volunteer(database, hood, "失独老人", birth_date=date(1948, 5, 1), household="bereaved_elder")
    solitary = await add_volunteer(database, hood, "独居老人", birth_date=date(1940, 5, 1), household="solitary_elder")
    hardship = await add_volunteer(database, hood, "困难户", birth_date=date(1964, 5, 1), household="hardship")
    ordinary = await add_volunteer(database, hood, "普通居民", birth_date=date(1950, 5, 1))
    await _earn(volunteering, clock, hood, giver, 120)
    await volunteering.move_coins(
        hood.principal(giver), hood.community, id=uuid.uuid4(), kind="donation", amount=120, from_person_id=giver
    )
    pool = system_account_id(hood.community, SystemRole.donation_pool, Asset.time_coins)
    assert (await ledger.get_account(pool)).posted == 120

    candidates = await volunteering.grant_candidates(hood.staff, hood.community)
    assert [c.person_id for c in candidates] == [solitary, bereaved, hardship]
    await volunteering.move_coins(
        hood.staff, hood.community, id=uuid.uuid4(), kind="grant", amount=60, to_person_id=solitary, memo="助老"
    )
    with pytest.raises(NotInNeed):
        await volunteering.move_coins(
            hood.staff, hood.community, id=uuid.uuid4(), kind="grant", amount=10, to_person_id=ordinary
        )
    assert (await balances(ledger, hood, solitary))["time_coins"] == 60
    assert (await ledger.get_account(pool)).posted == 60

    # The age gate: 65 in general, 60 for hardship households.
    clock.now = DAY_ONE
    assert (await volunteering.coin_account(hood.staff, hood.community, ordinary)).may_redeem
    assert (await volunteering.coin_account(hood.staff, hood.community, hardship)).may_redeem
    assert not (await volunteering.coin_account(hood.staff, hood.community, giver)).may_redeem


async def test_the_storage_cap_holds_for_gifts_and_grants(
    database: Database, hood: Neighbourhood, volunteering: Volunteering, clock: Clock
) -> None:
    await volunteering.write_policy(
        hood.staff,
        hood.community,
        version=1,
        valid_from=DAY_ONE - timedelta(days=1),
        rules=replace(DEFAULT_RULES, coin_storage_cap=100, coin_daily_cap=None),
    )
    giver = await add_volunteer(database, hood, "冯军")
    elder = await add_volunteer(database, hood, "冯奶奶", household="solitary_elder")
    await _earn(volunteering, clock, hood, giver, 90)
    await volunteering.move_coins(
        hood.principal(giver), hood.community, id=uuid.uuid4(), kind="donation", amount=90, from_person_id=giver
    )
    await volunteering.move_coins(
        hood.staff, hood.community, id=uuid.uuid4(), kind="grant", amount=80, to_person_id=elder
    )
    with pytest.raises(OverStorageCap):
        await volunteering.move_coins(
            hood.staff, hood.community, id=uuid.uuid4(), kind="grant", amount=10 + 11, to_person_id=elder
        )


async def test_team_hours_go_to_the_donation_pool(
    database: Database, hood: Neighbourhood, volunteering: Volunteering, ledger: LedgerService, clock: Clock
) -> None:
    member = await add_volunteer(database, hood, "团队成员")
    record = await serve(volunteering, clock, hood, member, starts_at=DAY_ONE, minutes=60, team_service=True)
    await volunteering.approve_one(hood.staff, record)
    assert await balances(ledger, hood, member) == {
        "service_minutes": 60,
        "time_coins": 0,
        "points": 1,
        "party_score": 0,
    }
    pool = system_account_id(hood.community, SystemRole.donation_pool, Asset.time_coins)
    assert (await ledger.get_account(pool)).posted == 60
