"""Many orders at once: never oversold, never overspent, whatever the interleaving."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from tests.integration.rewards.support import (
    CODES,
    Mall,
    available,
    build_mall,
    ledger_verifies,
    resident,
    stock_of,
    stocked_item,
)
from timebank.access.principal import Principal
from timebank.db import Database, bound
from timebank.errors import TimebankError
from timebank.rewards import Item
from timebank.rewards.errors import LimitReached, NotEnoughPoints, OutOfStock
from timebank.rewards.orders import OrderRequest, place_order


@pytest.fixture(name="wide")
async def fx_wide(database_url: str) -> AsyncIterator[Database]:
    """A pool with a connection per contender, so every order really runs at the same time."""
    database = Database(database_url, pool_size=32)
    await database.open()
    try:
        yield database
    finally:
        await database.close()


async def _place(database: Database, mall: Mall, actor: Principal, item: Item, quantity: int) -> str:
    assert actor.person_id is not None
    request = OrderRequest(
        id=uuid.uuid4(), station_id=mall.station, person_id=actor.person_id, lines=((item.id, quantity),)
    )
    try:
        async with bound(database.pool, [mall.community]) as connection:
            await place_order(connection, actor, CODES, mall.community, request)
    except TimebankError as exc:
        return exc.code
    return "ok"


async def test_concurrent_orders_for_the_last_items_never_oversell(database: Database, wide: Database) -> None:
    mall = await build_mall(database)
    last = await stocked_item(database, mall, price=10, stock=3)
    buyers = [await resident(database, mall, points=50, name=f"居民{n}") for n in range(24)]

    outcomes = await asyncio.gather(*(_place(wide, mall, buyer, last, 1) for buyer in buyers))

    assert outcomes.count("ok") == 3
    assert outcomes.count(OutOfStock.code) == 21
    assert await stock_of(database, mall, last) == (3, 3)
    holders = [buyer for buyer, outcome in zip(buyers, outcomes, strict=True) if outcome == "ok"]
    assert [await available(database, mall, buyer) for buyer in holders] == [40, 40, 40]
    assert await ledger_verifies(database, mall) == []


async def test_concurrent_orders_beyond_a_balance_never_overspend(database: Database, wide: Database) -> None:
    """One resident (or their relatives, on their phones) orders from everywhere at once: held points count."""
    mall = await build_mall(database)
    items = [await stocked_item(database, mall, price=30, stock=5, name=f"商品{n}") for n in range(12)]
    spender = await resident(database, mall, points=100)

    outcomes = await asyncio.gather(*(_place(wide, mall, spender, item, 1) for item in items))

    assert outcomes.count("ok") == 3  # 3 × 30 ≤ 100 < 4 × 30
    assert outcomes.count(NotEnoughPoints.code) == 9
    assert await available(database, mall, spender) == 10
    reserved = [(await stock_of(database, mall, item))[1] for item in items]
    assert sum(reserved) == 3  # a refused order left no reservation behind
    assert await ledger_verifies(database, mall) == []


async def test_a_crowd_with_scarce_goods_and_points(database: Database, wide: Database) -> None:
    """Goods and points both scarce: 12 residents who can each afford one order of 2 pieces, 3 orders each, for
    21 pieces (10 orders' worth): ten succeed, no one twice, and the last piece stays on the shelf."""
    mall = await build_mall(database)
    scarce = await stocked_item(database, mall, price=20, stock=21)
    crowd = [await resident(database, mall, points=45, name=f"居民{n}") for n in range(12)]

    outcomes = await asyncio.gather(*(_place(wide, mall, crowd[n % 12], scarce, 2) for n in range(36)))

    assert outcomes.count("ok") == 10
    assert await stock_of(database, mall, scarce) == (21, 20)
    balances = [await available(database, mall, person) for person in crowd]
    assert sorted(balances) == [5] * 10 + [45] * 2
    assert await ledger_verifies(database, mall) == []


async def test_concurrent_orders_of_one_person_never_slip_under_a_limit(database: Database, wide: Database) -> None:
    mall = await build_mall(database)
    once = await stocked_item(database, mall, price=1, stock=50, limit_per_person=2)
    eager = await resident(database, mall, points=100)

    outcomes = await asyncio.gather(*(_place(wide, mall, eager, once, 1) for _ in range(12)))

    assert outcomes.count("ok") == 2
    assert outcomes.count(LimitReached.code) == 10
    assert await stock_of(database, mall, once) == (50, 2)
