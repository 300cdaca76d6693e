"""What the database guarantees on its own, whatever the service does: no overselling, stock only by movements,
append-only history, the order state machine, and one community's mall invisible to another."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from tests.integration.rewards.support import build_mall, order, resident, stocked_item
from timebank.db import Database, bound


async def test_stock_cannot_be_oversold_even_by_hand(database: Database) -> None:
    mall = await build_mall(database)
    soap = await stocked_item(database, mall, price=10, stock=2)
    async with bound(database.pool, [mall.community]) as connection:
        with pytest.raises(asyncpg.CheckViolationError) as caught:
            await connection.execute("UPDATE rewards_stock SET reserved = 3 WHERE item_id = $1", soap.id)
    assert caught.value.constraint_name == "rewards_stock_not_oversold"


async def test_on_hand_changes_only_by_appending_a_movement(database: Database) -> None:
    mall = await build_mall(database)
    soap = await stocked_item(database, mall, price=10, stock=2)
    async with bound(database.pool, [mall.community]) as connection:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await connection.execute("UPDATE rewards_stock SET on_hand = 100 WHERE item_id = $1", soap.id)
    async with bound(database.pool, [mall.community]) as connection:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await connection.execute("DELETE FROM rewards_stock_movement WHERE item_id = $1", soap.id)
    async with bound(database.pool, [mall.community]) as connection:
        with pytest.raises(asyncpg.CheckViolationError):
            await connection.execute(
                """
                INSERT INTO rewards_stock_movement (id, community_id, station_id, item_id, kind, quantity)
                VALUES ($1, $2, $3, $4, 'writeoff', -3)
                """,
                uuid.uuid4(),
                mall.community,
                mall.station,
                soap.id,
            )


async def test_an_order_moves_only_along_its_states(database: Database) -> None:
    mall = await build_mall(database)
    soap = await stocked_item(database, mall, price=10, stock=2)
    buyer = await resident(database, mall, points=50)
    placed = await order(database, mall, buyer, (soap, 1))
    async with bound(database.pool, [mall.community]) as connection:
        with pytest.raises(asyncpg.CheckViolationError) as caught:
            await connection.execute(
                "UPDATE rewards_order SET status = 'picked_up', posted_points = 10, closed_at = now() WHERE id = $1",
                placed.id,
            )
    assert caught.value.constraint_name == "rewards_order_transition"
    async with bound(database.pool, [mall.community]) as connection:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await connection.execute("UPDATE rewards_order SET total_points = 1 WHERE id = $1", placed.id)


async def test_another_communitys_mall_does_not_exist(database: Database) -> None:
    mall = await build_mall(database)
    elsewhere = await build_mall(database)
    soap = await stocked_item(database, mall, price=10, stock=2)
    buyer = await resident(database, mall, points=50)
    await order(database, mall, buyer, (soap, 1))
    tables = ("rewards_station", "rewards_item", "rewards_stock", "rewards_stock_movement", "rewards_order",
              "rewards_order_line", "rewards_policy")  # fmt: skip
    async with bound(database.pool, [elsewhere.community]) as connection:
        seen = {
            table: await connection.fetchval(f"SELECT count(*) FROM {table} WHERE community_id = $1", mall.community)
            for table in tables
        }
    assert seen == dict.fromkeys(tables, 0)
