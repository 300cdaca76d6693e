"""The catalogue: audited price and stock changes, versioned policy, limits, availability and eligibility."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timedelta

import pytest

from tests.integration.rewards.support import (
    CODES,
    build_mall,
    order,
    resident,
    stocked_item,
)
from timebank.db import Database, bound
from timebank.errors import Conflict, InvalidInput, NotFound
from timebank.rewards import Category, NewItem, Policy, Source, catalogue, policy
from timebank.rewards.errors import LimitReached, NotEligible, OutOfStock
from timebank.rewards.orders import OrderRequest, cancel_order, place_order


async def test_price_and_stock_changes_are_audited_with_before_and_after(database: Database) -> None:
    mall = await build_mall(database)
    rice = await stocked_item(database, mall, price=44, stock=10)
    async with bound(database.pool, [mall.community]) as connection:
        changed = await catalogue.update_item(connection, mall.staff, rice.id, {"price_points": 40, "listed": False})
        unchanged = await catalogue.update_item(connection, mall.staff, rice.id, {"price_points": 40})
        with pytest.raises(InvalidInput):
            await catalogue.update_item(connection, mall.staff, rice.id, {"source": "purchased"})
        written_off, _ = await catalogue.move_stock(
            connection, mall.staff, rice.id, id=uuid.uuid4(), kind="writeoff", quantity=3, note="受潮"
        )
        with pytest.raises(OutOfStock):
            await catalogue.move_stock(connection, mall.staff, rice.id, id=uuid.uuid4(), kind="writeoff", quantity=8)
        events = await connection.fetch(
            "SELECT action, actor_id, before, after FROM audit_event WHERE entity_id = $1 ORDER BY id", str(rice.id)
        )
    assert (changed.price_points, changed.listed) == (40, False)
    assert unchanged == changed
    assert written_off.on_hand == 7
    assert [e["action"] for e in events] == ["create", "purchase_in", "update", "writeoff"]
    update = events[2]
    assert update["actor_id"] == mall.staff.person_id
    assert json.loads(update["before"])["price_points"] == 44
    assert json.loads(update["after"])["price_points"] == 40
    assert json.loads(events[3]["after"])["note"] == "受潮"


async def test_items_and_policies_are_idempotent_by_id_and_version(database: Database) -> None:
    mall = await build_mall(database)
    rice = await stocked_item(database, mall, price=44, stock=0)
    async with bound(database.pool, [mall.community]) as connection:
        with pytest.raises(Conflict):
            await catalogue.create_item(
                connection,
                mall.staff,
                mall.community,
                NewItem(
                    id=rice.id,
                    station_id=mall.station,
                    name=rice.name,
                    category=Category.grain_oil,
                    price_points=45,
                    source=Source.purchased,
                ),
            )
        first, created = await policy.set_policy(
            connection, mall.staff, Policy(community_id=mall.community, version=1, auto_approve_max_points=50)
        )
        replay, replayed = await policy.set_policy(
            connection, mall.staff, Policy(community_id=mall.community, version=1, auto_approve_max_points=50)
        )
        with pytest.raises(Conflict):
            await policy.set_policy(
                connection, mall.staff, Policy(community_id=mall.community, version=1, auto_approve_max_points=60)
            )
        with pytest.raises(Conflict) as skipped:
            await policy.set_policy(connection, mall.staff, Policy(community_id=mall.community, version=3))
        current = await policy.current_policy(connection, mall.community)
    assert (created, replayed, replay) == (True, False, first)
    assert skipped.value.fields["expected"] == 2
    assert current.version == 1
    assert current.auto_approve_max_points == 50


async def test_per_person_limits_count_open_and_collected_orders_but_not_cancelled_ones(database: Database) -> None:
    mall = await build_mall(database)
    eggs = await stocked_item(database, mall, price=5, stock=50, limit_per_day=3, limit_per_person=5)
    buyer = await resident(database, mall, points=500)

    first = await order(database, mall, buyer, (eggs, 2))
    with pytest.raises(LimitReached) as daily:
        await order(database, mall, buyer, (eggs, 2))
    async with bound(database.pool, [mall.community]) as connection:
        await cancel_order(connection, buyer, first.id)
    await order(database, mall, buyer, (eggs, 3))  # the cancelled order no longer counts

    assert (daily.value.fields["period"], daily.value.fields["limit"], daily.value.fields["used"]) == ("day", 3, 2)
    other = await resident(database, mall, points=500, name="李四")
    await order(database, mall, other, (eggs, 3))  # limits are per person


async def test_eligibility_by_age_household_and_window(database: Database) -> None:
    mall = await build_mall(database)
    now = datetime.now().astimezone()
    for_elders = await stocked_item(database, mall, price=10, stock=5, name="老年奶粉", min_age=60)
    for_hardship = await stocked_item(
        database, mall, price=10, stock=5, name="米面油", household_kinds=("hardship", "solitary_elder")
    )
    later = await stocked_item(
        database, mall, price=10, stock=5, name="月饼", available_from=now + timedelta(days=10),
        available_until=now + timedelta(days=20),
    )  # fmt: skip
    elder = await resident(database, mall, points=100, birth_date=date(1950, 3, 1), household=mall.hardship_household)
    young = await resident(database, mall, points=100, birth_date=date(2000, 3, 1), name="小王")
    unknown_age = await resident(database, mall, points=100, name="老李")

    await order(database, mall, elder, (for_elders, 1), (for_hardship, 1))
    refusals = []
    for who, item in ((young, for_elders), (unknown_age, for_elders), (young, for_hardship), (elder, later)):
        with pytest.raises(NotEligible) as caught:
            await order(database, mall, who, (item, 1))
        refusals.append(caught.value.detail)
    assert "60" in refusals[0]
    assert "birth date" in refusals[1]
    assert "hardship" in refusals[2]
    assert "offered from" in refusals[3]


async def test_grant_only_items_and_foreign_stations_cannot_be_ordered(database: Database) -> None:
    mall = await build_mall(database)
    elsewhere = await build_mall(database)
    donated = await stocked_item(database, mall, price=0, stock=5, name="旧衣")
    foreign = await stocked_item(database, elsewhere, price=10, stock=5)
    buyer = await resident(database, mall, points=100)
    assert buyer.person_id is not None
    with pytest.raises(InvalidInput):
        await order(database, mall, buyer, (donated, 1))
    async with bound(database.pool, [mall.community]) as connection:
        with pytest.raises(NotFound):
            await place_order(
                connection,
                buyer,
                CODES,
                mall.community,
                OrderRequest(
                    id=uuid.uuid4(), station_id=mall.station, person_id=buyer.person_id, lines=((foreign.id, 1),)
                ),
            )
