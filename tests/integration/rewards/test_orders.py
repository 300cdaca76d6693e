"""Orders end to end: placed (points held, goods reserved), approved, handed over at the counter (hold posted)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from tests.integration.rewards.support import (
    CODES,
    available,
    build_mall,
    issue,
    ledger_verifies,
    link_family,
    order,
    pick_up,
    resident,
    stock_of,
    stocked_item,
)
from timebank.db import Database, bound
from timebank.errors import Conflict, Forbidden, InvalidInput
from timebank.ledger import Code, LedgerService, TransferFlags
from timebank.rewards import OrderStatus
from timebank.rewards.counter import find_by_code, hand_over, pickup_code
from timebank.rewards.errors import NotEnoughPoints, OutOfStock, WrongState
from timebank.rewards.orders import OrderRequest, approve_order, cancel_order, place_order, reject_order


async def test_order_approve_pickup_moves_points_and_goods_together(database: Database) -> None:
    mall = await build_mall(database)
    rice = await stocked_item(database, mall, price=44, stock=3)
    soap = await stocked_item(database, mall, price=10, stock=10, name="香皂")
    resident_ = await resident(database, mall, points=100)

    placed = await order(database, mall, resident_, (rice, 1), (soap, 2))
    assert placed.status is OrderStatus.placed  # no policy: staff approve every order
    assert placed.total_points == 64
    assert await available(database, mall, resident_) == 36  # held points count against the balance
    assert await stock_of(database, mall, rice) == (3, 1)
    assert await stock_of(database, mall, soap) == (10, 2)

    async with bound(database.pool, [mall.community]) as connection:
        approved = await approve_order(connection, mall.staff, placed.id)
        again = await approve_order(connection, mall.staff, placed.id)
        code, qr = pickup_code(CODES, approved)
        found_by_code = await find_by_code(connection, CODES, mall.station, code=code)
        found_by_qr = await find_by_code(connection, CODES, mall.station, qr=qr)
    assert approved.status is OrderStatus.approved
    assert approved.approved_by == mall.staff.person_id
    assert again == approved
    assert found_by_code.id == found_by_qr.id == placed.id

    done = await pick_up(database, mall, approved)
    assert done.status is OrderStatus.picked_up
    assert done.posted_points == 64
    assert await available(database, mall, resident_) == 36
    assert await stock_of(database, mall, rice) == (2, 0)
    assert await stock_of(database, mall, soap) == (8, 0)
    # Handing over twice (a retried request) changes nothing.
    assert await pick_up(database, mall, approved) == done

    [hold, post] = await LedgerService(database.pool).lookup_transfers(
        [placed.hold_transfer_id, uuid.uuid5(placed.id, "post")]
    )
    assert hold.flags == TransferFlags.pending
    assert hold.timeout_at is not None
    assert placed.expires_at <= hold.timeout_at < placed.expires_at + timedelta(seconds=1)  # the order ends first
    assert post.flags == TransferFlags.post_pending
    assert post.amount == 64
    assert post.code == Code.redemption
    assert (post.ref_type, post.ref_id) == ("mall_order", placed.id)
    assert await ledger_verifies(database, mall) == []


async def test_a_partial_pickup_posts_part_and_releases_the_rest(database: Database) -> None:
    mall = await build_mall(database)
    rice = await stocked_item(database, mall, price=44, stock=3)
    soap = await stocked_item(database, mall, price=10, stock=10, name="香皂")
    resident_ = await resident(database, mall, points=100)
    placed = await order(database, mall, resident_, (rice, 1), (soap, 2))
    async with bound(database.pool, [mall.community]) as connection:
        await approve_order(connection, mall.staff, placed.id)

    done = await pick_up(database, mall, placed, taken={soap.id: 1})

    assert done.posted_points == 10
    assert {line.item_id: line.picked_quantity for line in done.lines} == {rice.id: 0, soap.id: 1}
    assert await available(database, mall, resident_) == 90
    assert await stock_of(database, mall, rice) == (3, 0)
    assert await stock_of(database, mall, soap) == (9, 0)
    assert await ledger_verifies(database, mall) == []


async def test_orders_under_the_policy_threshold_are_approved_at_once(database: Database) -> None:
    mall = await build_mall(database, auto_approve_max_points=20)
    soap = await stocked_item(database, mall, price=10, stock=10)
    resident_ = await resident(database, mall, points=100)

    small = await order(database, mall, resident_, (soap, 2))
    large = await order(database, mall, resident_, (soap, 3))

    assert (small.status, large.status) == (OrderStatus.approved, OrderStatus.placed)
    assert small.policy_version == 1


async def test_rejecting_or_cancelling_voids_the_hold_and_returns_the_goods(database: Database) -> None:
    mall = await build_mall(database)
    soap = await stocked_item(database, mall, price=10, stock=5)
    resident_ = await resident(database, mall, points=100)
    first = await order(database, mall, resident_, (soap, 2))
    second = await order(database, mall, resident_, (soap, 3))
    assert await stock_of(database, mall, soap) == (5, 5)

    async with bound(database.pool, [mall.community]) as connection:
        rejected = await reject_order(connection, mall.staff, first.id, "库存盘点中")
        cancelled = await cancel_order(connection, resident_, second.id)
        cancelled_again = await cancel_order(connection, resident_, second.id)
        with pytest.raises(WrongState):
            await approve_order(connection, mall.staff, first.id)

    assert (rejected.status, rejected.close_reason) == (OrderStatus.rejected, "库存盘点中")
    assert cancelled.status is OrderStatus.cancelled
    assert cancelled_again == cancelled
    assert await available(database, mall, resident_) == 100
    assert await stock_of(database, mall, soap) == (5, 0)
    assert await ledger_verifies(database, mall) == []


async def test_the_counter_needs_the_residents_code_and_an_approved_order(database: Database) -> None:
    mall = await build_mall(database)
    soap = await stocked_item(database, mall, price=10, stock=5)
    resident_ = await resident(database, mall, points=100)
    placed = await order(database, mall, resident_, (soap, 1))
    code, _ = pickup_code(CODES, placed)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    async with bound(database.pool, [mall.community]) as connection:
        with pytest.raises(WrongState):
            await hand_over(connection, mall.staff, CODES, placed.id, code=code)
        await approve_order(connection, mall.staff, placed.id)
        with pytest.raises(InvalidInput) as caught:
            await hand_over(connection, mall.staff, CODES, placed.id, code=wrong)
        with pytest.raises(InvalidInput):
            await hand_over(connection, mall.staff, CODES, placed.id, qr="TBP1.AAAA.0.forged")
        with pytest.raises(InvalidInput):
            await hand_over(connection, mall.staff, CODES, placed.id, code=code, taken={soap.id: 2})
    assert caught.value.fields["field"] == "code"


async def test_staff_cannot_approve_their_own_order(database: Database) -> None:
    mall = await build_mall(database)
    soap = await stocked_item(database, mall, price=10, stock=5)
    assert mall.staff.person_id is not None
    await issue(database, mall.community, mall.staff.person_id, 50)
    placed = await order(database, mall, mall.staff, (soap, 1))
    async with bound(database.pool, [mall.community]) as connection:
        with pytest.raises(Forbidden):
            await approve_order(connection, mall.staff, placed.id)
        approved = await approve_order(connection, mall.second_staff, placed.id)
    assert approved.approved_by == mall.second_staff.person_id


async def test_a_verified_relative_may_order_with_the_elders_points(database: Database) -> None:
    mall = await build_mall(database)
    soap = await stocked_item(database, mall, price=10, stock=5)
    elder = await resident(database, mall, points=50, name="赵桂兰")
    child = await resident(database, mall, points=0, name="赵明")
    stranger = await resident(database, mall, points=0, name="路人")
    await link_family(database, mall, child, elder, verify=True)
    await link_family(database, mall, stranger, elder, verify=False)

    placed = await order(database, mall, child, (soap, 2), person=elder.person_id)
    with pytest.raises(Forbidden):
        await order(database, mall, stranger, (soap, 1), person=elder.person_id)

    assert (placed.person_id, placed.placed_by) == (elder.person_id, child.person_id)
    assert await available(database, mall, elder) == 30
    async with bound(database.pool, [mall.community]) as connection:
        with pytest.raises(Forbidden):
            await cancel_order(connection, stranger, placed.id)
        assert (await cancel_order(connection, child, placed.id)).status is OrderStatus.cancelled


async def test_an_order_beyond_the_stock_or_the_balance_changes_nothing(database: Database) -> None:
    mall = await build_mall(database)
    rice = await stocked_item(database, mall, price=44, stock=2)
    soap = await stocked_item(database, mall, price=10, stock=10, name="香皂")
    resident_ = await resident(database, mall, points=100)

    with pytest.raises(OutOfStock) as out:
        await order(database, mall, resident_, (soap, 1), (rice, 3))
    with pytest.raises(NotEnoughPoints) as poor:
        await order(database, mall, resident_, (rice, 2), (soap, 2))

    assert (out.value.fields["requested"], out.value.fields["available"]) == (3, 2)
    assert (poor.value.fields["needed"], poor.value.fields["available"]) == (108, 100)
    # Nothing half written: no reservation and no hold survived either refusal.
    assert await stock_of(database, mall, rice) == (2, 0)
    assert await stock_of(database, mall, soap) == (10, 0)
    assert await available(database, mall, resident_) == 100


async def test_placing_is_idempotent_by_order_id(database: Database) -> None:
    mall = await build_mall(database)
    soap = await stocked_item(database, mall, price=10, stock=5)
    resident_ = await resident(database, mall, points=100)
    assert resident_.person_id is not None
    request = OrderRequest(id=uuid.uuid4(), station_id=mall.station, person_id=resident_.person_id,
                           lines=((soap.id, 2),))  # fmt: skip
    async with bound(database.pool, [mall.community]) as connection:
        first, created = await place_order(connection, resident_, CODES, mall.community, request)
        again, created_again = await place_order(connection, resident_, CODES, mall.community, request)
        with pytest.raises(Conflict):
            await place_order(
                connection, resident_, CODES, mall.community, OrderRequest(
                    id=request.id, station_id=mall.station, person_id=resident_.person_id, lines=((soap.id, 3),)
                ),
            )  # fmt: skip
    assert (created, created_again) == (True, False)
    assert again == first
    assert await available(database, mall, resident_) == 80
    assert await stock_of(database, mall, soap) == (5, 2)
