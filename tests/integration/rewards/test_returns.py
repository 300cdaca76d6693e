"""Returns after pickup: points back (a reversal, or a refund of part), goods back into stock, reason kept."""

from __future__ import annotations

import uuid

import pytest

from tests.integration.rewards.support import (
    Mall,
    available,
    build_mall,
    ledger_verifies,
    order,
    pick_up,
    resident,
    stock_of,
    stocked_item,
)
from timebank.access.principal import Principal
from timebank.db import Database, bound
from timebank.errors import Conflict, InvalidInput
from timebank.ledger import Code, LedgerService
from timebank.rewards import Item, Order
from timebank.rewards.errors import WrongState
from timebank.rewards.orders import approve_order, get_order
from timebank.rewards.returns import list_returns, return_goods


async def _picked_up(database: Database, *lines: tuple[int, int]) -> tuple[Mall, list[Item], Principal, Order]:
    mall = await build_mall(database, auto_approve_max_points=1000)
    items = [
        await stocked_item(database, mall, price=price, stock=5, name=f"货{n}") for n, (price, _) in enumerate(lines)
    ]
    buyer = await resident(database, mall, points=200)
    placed = await order(database, mall, buyer, *((item, qty) for item, (_, qty) in zip(items, lines, strict=True)))
    done = await pick_up(database, mall, placed)
    return mall, items, buyer, done


async def test_returning_everything_reverses_the_redemption(database: Database) -> None:
    mall, [kettle], buyer, done = await _picked_up(database, (90, 1))
    assert await available(database, mall, buyer) == 110

    async with bound(database.pool, [mall.community]) as connection:
        returned, created = await return_goods(
            connection, mall.staff, id=uuid.uuid4(), order_id=done.id, item_id=kettle.id, quantity=1, reason="漏水"
        )
    assert created
    [refund] = await LedgerService(database.pool).lookup_transfers([returned.refund_transfer_id])
    assert refund.reverses_id == uuid.uuid5(done.id, "post")
    assert refund.code == Code.reversal
    assert await available(database, mall, buyer) == 200
    assert await stock_of(database, mall, kettle) == (5, 0)
    assert await ledger_verifies(database, mall) == []


async def test_returning_part_refunds_the_part_and_never_more_than_was_taken(database: Database) -> None:
    mall, [bowl, basket], buyer, done = await _picked_up(database, (10, 3), (5, 2))
    assert await available(database, mall, buyer) == 160
    return_id = uuid.uuid4()

    async with bound(database.pool, [mall.community]) as connection:
        first, _ = await return_goods(
            connection, mall.staff, id=return_id, order_id=done.id, item_id=bowl.id, quantity=2, reason="有裂纹"
        )
        replay, created = await return_goods(
            connection, mall.staff, id=return_id, order_id=done.id, item_id=bowl.id, quantity=2, reason="有裂纹"
        )
        with pytest.raises(Conflict):
            await return_goods(
                connection, mall.staff, id=return_id, order_id=done.id, item_id=bowl.id, quantity=1, reason="有裂纹"
            )
        with pytest.raises(InvalidInput) as too_many:
            await return_goods(
                connection, mall.staff, id=uuid.uuid4(), order_id=done.id, item_id=bowl.id, quantity=2, reason="又坏"
            )
        await return_goods(
            connection, mall.staff, id=uuid.uuid4(), order_id=done.id, item_id=basket.id, quantity=2, reason="不合适"
        )
        after = await get_order(connection, done.id)
        returns = await list_returns(connection, done.id)

    assert (replay, created) == (first, False)
    assert too_many.value.fields["returnable"] == 1
    [refund] = await LedgerService(database.pool).lookup_transfers([first.refund_transfer_id])
    assert refund.reverses_id is None  # a part: a refund of its own, the posting stays whole
    assert refund.amount == 20
    assert await available(database, mall, buyer) == 190
    assert {line.item_id: line.returned_quantity for line in after.lines} == {bowl.id: 2, basket.id: 2}
    assert [r.reason for r in returns] == ["有裂纹", "不合适"]
    assert await stock_of(database, mall, bowl) == (4, 0)
    assert await ledger_verifies(database, mall) == []


async def test_only_goods_handed_over_can_be_returned(database: Database) -> None:
    mall = await build_mall(database)
    bowl = await stocked_item(database, mall, price=10, stock=5)
    buyer = await resident(database, mall, points=100)
    placed = await order(database, mall, buyer, (bowl, 1))
    async with bound(database.pool, [mall.community]) as connection:
        await approve_order(connection, mall.staff, placed.id)
        with pytest.raises(WrongState):
            await return_goods(
                connection, mall.staff, id=uuid.uuid4(), order_id=placed.id, item_id=bowl.id, quantity=1, reason="x"
            )
