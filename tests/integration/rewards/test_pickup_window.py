"""Orders whose pickup window passes: refused at the counter, expired by the sweeper, goods and points released."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from click.testing import CliRunner

from tests.integration.rewards.support import (
    CODES,
    available,
    build_mall,
    ledger_verifies,
    order,
    resident,
    stock_of,
    stocked_item,
)
from timebank.db import Database, bound
from timebank.ledger import Code, LedgerService, TransferFlags
from timebank.rewards import OrderStatus
from timebank.rewards.counter import hand_over, pickup_code
from timebank.rewards.errors import PickupWindowPassed
from timebank.rewards.orders import approve_order, cancel_order, get_order
from timebank.rewards.sweeper import sweep_expired_orders

WINDOW = 1  # seconds; the policy's pickup window for these tests


async def _past_the_window() -> None:
    await asyncio.sleep(WINDOW + 0.2)


async def test_order_then_the_window_expires_and_the_sweeper_releases_everything(database: Database) -> None:
    mall = await build_mall(database, pickup_window_seconds=WINDOW)
    soap = await stocked_item(database, mall, price=10, stock=5)
    resident_ = await resident(database, mall, points=100)
    placed = await order(database, mall, resident_, (soap, 3))
    async with bound(database.pool, [mall.community]) as connection:
        approved = await approve_order(connection, mall.staff, placed.id)
    assert await available(database, mall, resident_) == 70

    await _past_the_window()
    code, _ = pickup_code(CODES, approved)
    async with bound(database.pool, [mall.community]) as connection:
        with pytest.raises(PickupWindowPassed):
            await hand_over(connection, mall.staff, CODES, placed.id, code=code)
    swept = await sweep_expired_orders(database.pool)

    async with bound(database.pool, [mall.community]) as connection:
        expired = await get_order(connection, placed.id)
    assert swept >= 1
    assert expired.status is OrderStatus.expired
    assert expired.close_reason == "the pickup window passed"
    assert await available(database, mall, resident_) == 100
    assert await stock_of(database, mall, soap) == (5, 0)
    [void] = await LedgerService(database.pool).lookup_transfers([uuid.uuid5(placed.hold_transfer_id, "expired")])
    assert void.flags == TransferFlags.void_pending
    assert void.code == Code.expiry
    assert await ledger_verifies(database, mall) == []


async def test_the_ledgers_own_sweeper_first_leaves_the_goods_to_ours(database: Database) -> None:
    """Whichever sweeper voids the hold first, the other finds it done; the goods still come back."""
    mall = await build_mall(database, pickup_window_seconds=WINDOW)
    soap = await stocked_item(database, mall, price=10, stock=5)
    resident_ = await resident(database, mall, points=100)
    placed = await order(database, mall, resident_, (soap, 2))
    await _past_the_window()

    assert await LedgerService(database.pool).void_expired() >= 1
    assert await stock_of(database, mall, soap) == (5, 2)  # the ledger knows nothing of goods
    await sweep_expired_orders(database.pool)

    async with bound(database.pool, [mall.community]) as connection:
        assert (await get_order(connection, placed.id)).status is OrderStatus.expired
    assert await stock_of(database, mall, soap) == (5, 0)
    assert await available(database, mall, resident_) == 100
    assert await ledger_verifies(database, mall) == []


async def test_cancelling_after_the_window_expires_the_order_instead(database: Database) -> None:
    mall = await build_mall(database, pickup_window_seconds=WINDOW)
    soap = await stocked_item(database, mall, price=10, stock=5)
    resident_ = await resident(database, mall, points=100)
    placed = await order(database, mall, resident_, (soap, 1))
    await _past_the_window()

    async with bound(database.pool, [mall.community]) as connection:
        with pytest.raises(PickupWindowPassed):
            await approve_order(connection, mall.staff, placed.id)
    async with bound(database.pool, [mall.community]) as connection:
        closed = await cancel_order(connection, resident_, placed.id)

    assert closed.status is OrderStatus.expired
    assert await stock_of(database, mall, soap) == (5, 0)
    assert await available(database, mall, resident_) == 100


def test_the_sweep_command_runs_the_sweeper(database_url: str) -> None:
    from timebank.cli import main

    result = CliRunner().invoke(main, ["rewards", "sweep"], env={"TIMEBANK_DATABASE_URL": database_url})
    assert result.exit_code == 0, result.output
    assert "expired" in result.output
