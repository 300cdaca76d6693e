"""Two claimers racing for one open order: the database lets exactly one win."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from tests.integration.marketplace.conftest import Neighbourhood
from timebank.access.principal import Principal
from timebank.db import Database
from timebank.marketplace import claims, needs, orders
from timebank.marketplace.errors import AlreadyClaimed
from timebank.marketplace.model import NeedKind, OrderMode, Settlement


async def _open_order(database: Database, hood: Neighbourhood) -> uuid.UUID:
    async with hood.bound(database) as connection:
        need, _ = await needs.raise_need(
            connection,
            hood.requester,
            hood.community,
            needs.NewNeed(
                id=uuid.uuid4(),
                kind=NeedKind.need,
                category="companionship",
                title="周末陪老人聊天",
                household_id=hood.household,
                est_minutes=60,
                settlement=Settlement.public_good,
            ),
        )
        order, _ = await orders.place_order(
            connection, hood.staff, orders.NewOrder(id=uuid.uuid4(), need_id=need.id, mode=OrderMode.open)
        )
    return order.id


async def _try(database: Database, hood: Neighbourhood, who: Principal, order_id: uuid.UUID) -> str:
    try:
        async with hood.bound(database) as connection:
            await claims.claim_order(connection, who, order_id, claims.NewClaim(id=uuid.uuid4()))
    except AlreadyClaimed:
        return "lost"
    return "won"


async def test_of_two_simultaneous_claimers_exactly_one_wins(database: Database, hood: Neighbourhood) -> None:
    order_ids = [await _open_order(database, hood) for _ in range(10)]
    for order_id in order_ids:
        outcomes = await asyncio.gather(
            _try(database, hood, hood.helper, order_id), _try(database, hood, hood.neighbour, order_id)
        )
        assert sorted(outcomes) == ["lost", "won"]
    async with hood.bound(database) as connection:
        live = await connection.fetch(
            "SELECT order_id, count(*) AS n FROM order_claim WHERE order_id = ANY ($1::uuid[]) GROUP BY order_id",
            order_ids,
        )
        accepted = await connection.fetchval(
            "SELECT count(*) FROM service_order WHERE id = ANY ($1::uuid[]) AND status = 'accepted'", order_ids
        )
    assert sorted(row["n"] for row in live) == [1] * 10
    assert accepted == 10


async def test_the_second_claimer_waits_for_the_first_and_then_loses(database: Database, hood: Neighbourhood) -> None:
    order_id = await _open_order(database, hood)
    first_claimed = asyncio.Event()
    release_first = asyncio.Event()

    async def first() -> None:
        async with hood.bound(database) as connection:
            await claims.claim_order(connection, hood.helper, order_id, claims.NewClaim(id=uuid.uuid4()))
            first_claimed.set()
            await release_first.wait()  # commit only once the second claimer is blocked on the order's row

    async def second() -> str:
        await first_claimed.wait()
        return await _try(database, hood, hood.neighbour, order_id)

    winner = asyncio.create_task(first())
    loser = asyncio.create_task(second())
    # Watch as the database owner: the application role cannot see other sessions' wait events.
    observer = await asyncpg.connect(database.dsn)
    try:
        for _ in range(500):
            waiting = await observer.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if waiting:
                break
            await asyncio.sleep(0.01)
        else:
            pytest.fail("the second claimer never waited for the first one's lock")
    finally:
        await observer.close()
    release_first.set()
    await winner
    assert await loser == "lost"
