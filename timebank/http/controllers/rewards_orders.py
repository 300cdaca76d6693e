"""HTTP face of points-mall orders: placing, approving, rejecting, cancelling, the counter (核销), returns, and a
person's orders and expiry notices. Who may call what is the access policy's (timebank/access/rules/rewards.py)."""

from __future__ import annotations

import uuid
from typing import Annotated

import asyncpg
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from timebank.access.principal import Principal
from timebank.community import family
from timebank.db import Database
from timebank.http.controllers.rewards_common import DEPENDENCIES, bound_to
from timebank.http.responses import created
from timebank.rewards import Order, OrderStatus, PickupCodes, catalogue
from timebank.rewards import contracts as wire
from timebank.rewards.counter import find_by_code, hand_over, pickup_code
from timebank.rewards.expiry import notices_of
from timebank.rewards.orders import (
    OrderRequest,
    approve_order,
    cancel_order,
    get_order,
    list_orders,
    place_order,
    reject_order,
)
from timebank.rewards.returns import list_returns, return_goods

__all__ = ["MallOrderController", "MallPersonController", "MallStationOrdersController"]

Limit = Annotated[int, QueryParameter(ge=1, le=500)]


async def _view(
    connection: asyncpg.Connection, codes: PickupCodes, principal: Principal, order: Order
) -> wire.OrderResponse:
    """The order, with its pickup code for the person and whoever placed it or acts for them, once approved."""
    mine = principal.person_id is not None and (
        principal.person_id in (order.person_id, order.placed_by)
        or await family.can_act_for(connection, principal.person_id, order.person_id)
    )
    show = mine and order.status is OrderStatus.approved
    return wire.OrderResponse.of(order, code=pickup_code(codes, order) if show else None)


class MallStationOrdersController(Controller):
    path = "/mall/stations/{station_id:uuid}"
    tags = ["points mall"]  # noqa: RUF012
    dependencies = DEPENDENCIES

    @post(
        "/orders",
        operation_id="PlaceMallOrder",
        opt={"action": "rewards.order.place"},
        summary="Hold the points and reserve the goods of an order (idempotent by id)",
    )
    async def place(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        codes: NamedDependency[PickupCodes],
        station_id: FromPath[uuid.UUID],
        data: JSONBody[wire.OrderCreateRequest],
    ) -> Response[wire.OrderResponse]:
        request = OrderRequest(
            id=data.id,
            station_id=station_id,
            person_id=data.person_id,
            lines=tuple((line.item_id, line.quantity) for line in data.lines),
        )
        async with bound_to(database, principal) as connection:
            station = await catalogue.get_station(connection, station_id)
            order, is_new = await place_order(connection, principal, codes, station.community_id, request)
            body = await _view(connection, codes, principal, order)
        return created(body, is_new)

    @get("/orders", operation_id="ListMallStationOrders", opt={"action": "rewards.orders.list"})
    async def list_station_orders(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        codes: NamedDependency[PickupCodes],
        station_id: FromPath[uuid.UUID],
        status: FromQuery[OrderStatus | None] = None,
        limit: Limit = 100,
    ) -> list[wire.OrderResponse]:
        async with bound_to(database, principal) as connection:
            orders = await list_orders(connection, station_id=station_id, status=status, limit=limit)
            return [await _view(connection, codes, principal, order) for order in orders]

    @post(
        "/counter/lookup",
        operation_id="FindMallOrderByCode",
        status_code=200,
        opt={"action": "rewards.counter.lookup"},
        summary="The open order a six-digit code or scanned QR names (the code never travels in a URL)",
    )
    async def lookup(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        codes: NamedDependency[PickupCodes],
        station_id: FromPath[uuid.UUID],
        data: JSONBody[wire.CounterLookupRequest],
    ) -> wire.OrderResponse:
        async with bound_to(database, principal) as connection:
            order = await find_by_code(connection, codes, station_id, code=data.code, qr=data.qr)
            return await _view(connection, codes, principal, order)


class MallOrderController(Controller):
    path = "/mall/orders/{order_id:uuid}"
    tags = ["points mall"]  # noqa: RUF012
    dependencies = DEPENDENCIES

    @get("", operation_id="GetMallOrder", opt={"action": "rewards.order.read"})
    async def get_one(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        codes: NamedDependency[PickupCodes],
        order_id: FromPath[uuid.UUID],
    ) -> wire.OrderResponse:
        async with bound_to(database, principal) as connection:
            return await _view(connection, codes, principal, await get_order(connection, order_id))

    @post("/approve", operation_id="ApproveMallOrder", status_code=200, opt={"action": "rewards.order.decide"})
    async def approve(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        codes: NamedDependency[PickupCodes],
        order_id: FromPath[uuid.UUID],
    ) -> wire.OrderResponse:
        async with bound_to(database, principal) as connection:
            return await _view(connection, codes, principal, await approve_order(connection, principal, order_id))

    @post("/reject", operation_id="RejectMallOrder", status_code=200, opt={"action": "rewards.order.decide"})
    async def reject(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        codes: NamedDependency[PickupCodes],
        order_id: FromPath[uuid.UUID],
        data: JSONBody[wire.ReasonRequest],
    ) -> wire.OrderResponse:
        async with bound_to(database, principal) as connection:
            order = await reject_order(connection, principal, order_id, data.reason)
            return await _view(connection, codes, principal, order)

    @post("/cancel", operation_id="CancelMallOrder", status_code=200, opt={"action": "rewards.order.cancel"})
    async def cancel(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        codes: NamedDependency[PickupCodes],
        order_id: FromPath[uuid.UUID],
        data: JSONBody[wire.CancelRequest],
    ) -> wire.OrderResponse:
        async with bound_to(database, principal) as connection:
            order = await cancel_order(connection, principal, order_id, data.reason)
            return await _view(connection, codes, principal, order)

    @post(
        "/hand-over",
        operation_id="HandOverMallOrder",
        status_code=200,
        opt={"action": "rewards.counter.hand_over"},
        summary="Hand the goods over against the resident's code: the hold is posted (in part for a partial pickup)",
    )
    async def hand_over(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        codes: NamedDependency[PickupCodes],
        order_id: FromPath[uuid.UUID],
        data: JSONBody[wire.HandOverRequest],
    ) -> wire.OrderResponse:
        taken = None if data.taken is None else {line.item_id: line.quantity for line in data.taken}
        async with bound_to(database, principal) as connection:
            order = await hand_over(connection, principal, codes, order_id, code=data.code, qr=data.qr, taken=taken)
            return await _view(connection, codes, principal, order)

    @post("/returns", operation_id="ReturnMallGoods", opt={"action": "rewards.order.return"})
    async def take_back(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        order_id: FromPath[uuid.UUID],
        data: JSONBody[wire.ReturnRequest],
    ) -> Response[wire.ReturnResponse]:
        async with bound_to(database, principal) as connection:
            done, is_new = await return_goods(
                connection,
                principal,
                id=data.id,
                order_id=order_id,
                item_id=data.item_id,
                quantity=data.quantity,
                reason=data.reason,
            )
        return created(wire.ReturnResponse.of(done), is_new)

    @get("/returns", operation_id="ListMallReturns", opt={"action": "rewards.order.read"})
    async def returns(
        self, database: NamedDependency[Database], principal: NamedDependency[Principal], order_id: FromPath[uuid.UUID]
    ) -> list[wire.ReturnResponse]:
        async with bound_to(database, principal) as connection:
            await get_order(connection, order_id)
            return [wire.ReturnResponse.of(done) for done in await list_returns(connection, order_id)]


class MallPersonController(Controller):
    path = "/mall/people/{person_id:uuid}"
    tags = ["points mall"]  # noqa: RUF012
    dependencies = DEPENDENCIES

    @get("/orders", operation_id="ListMallPersonOrders", opt={"action": "rewards.person.orders"})
    async def orders(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        codes: NamedDependency[PickupCodes],
        person_id: FromPath[uuid.UUID],
        status: FromQuery[OrderStatus | None] = None,
        limit: Limit = 100,
    ) -> list[wire.OrderResponse]:
        async with bound_to(database, principal) as connection:
            orders = await list_orders(connection, person_id=person_id, status=status, limit=limit)
            return [await _view(connection, codes, principal, order) for order in orders]

    @get(
        "/points-expiry",
        operation_id="ListPointsExpiryNotices",
        opt={"action": "rewards.person.expiry"},
        summary="Notices of points that will expire (or expired), the latest first",
    )
    async def expiry_notices(
        self, database: NamedDependency[Database], principal: NamedDependency[Principal], person_id: FromPath[uuid.UUID]
    ) -> list[wire.ExpiryNoticeResponse]:
        async with bound_to(database, principal) as connection:
            return [wire.ExpiryNoticeResponse.of(n) for n in await notices_of(connection, person_id)]
