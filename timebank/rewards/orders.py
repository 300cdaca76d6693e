"""Orders in the points mall: place (points held, goods reserved), approve, reject, cancel, expire.

Placing an order is one transaction: the order row claims its id (a concurrent retry waits, then replays), the
stock rows are reserved in item order, the limits are checked under those locks, and the ledger holds the points
last (its lock on the community's chain then lasts only until commit), with the pickup window as the hold's
timeout; the order's own ``expires_at`` is taken a moment before, so the order never outlives its hold. A refusal
anywhere rolls everything back, so an order never holds points without goods or goods without points. Closing an
order voids the hold and releases the goods together.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import asyncpg

from timebank.access.principal import Principal, Role
from timebank.community import audit, family
from timebank.errors import Conflict, Forbidden, InvalidInput, NotFound
from timebank.ledger import Result
from timebank.rewards import points, stock
from timebank.rewards.catalogue import get_item
from timebank.rewards.codes import PickupCodes
from timebank.rewards.eligibility import check_eligible
from timebank.rewards.errors import PickupWindowPassed, WrongState
from timebank.rewards.limits import check_limits
from timebank.rewards.model import Order, OrderLine, OrderStatus, Policy
from timebank.rewards.policy import current_policy

__all__ = [
    "OrderRequest",
    "approve_order",
    "cancel_order",
    "expire_orders",
    "get_order",
    "list_orders",
    "may_act_for",
    "place_order",
    "reject_order",
]

_ORDER_COLUMNS = (
    "id, community_id, station_id, person_id, placed_by, status, total_points, posted_points, hold_transfer_id, "
    "policy_version, expires_at, code_attempt, placed_at, approved_at, approved_by, closed_at, closed_by, close_reason"
)
_LINE_COLUMNS = "item_id, quantity, unit_points, picked_quantity, returned_quantity"
_MAX_CODE_ATTEMPTS = 32
_CLOSING_ACTION = {OrderStatus.rejected: "reject", OrderStatus.cancelled: "cancel"}
_EXPIRED_VOID_OK = frozenset({Result.ok, Result.exists, Result.pending_already_voided})


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderRequest:
    """An order to place: ``person_id`` spends the points; ``id`` is the client's idempotency key."""

    id: uuid.UUID
    station_id: uuid.UUID
    person_id: uuid.UUID
    lines: tuple[tuple[uuid.UUID, int], ...]


def _quantities(lines: Sequence[tuple[uuid.UUID, int]]) -> dict[uuid.UUID, int]:
    if not lines:
        raise InvalidInput("an order names at least one item", field="lines")
    quantities: dict[uuid.UUID, int] = {}
    for item_id, quantity in lines:
        if item_id in quantities:
            raise InvalidInput("each item appears once in an order", field="lines", item_id=str(item_id))
        if not 1 <= quantity <= 1000:
            raise InvalidInput("a quantity is between 1 and 1000", field="lines", item_id=str(item_id))
        quantities[item_id] = quantity
    return quantities


def _order(row: asyncpg.Record, lines: Iterable[asyncpg.Record]) -> Order:
    values = dict(row)
    values["status"] = OrderStatus(values["status"])
    return Order(**values, lines=tuple(OrderLine(**dict(line)) for line in lines))


async def get_order(connection: asyncpg.Connection, order_id: uuid.UUID, *, lock: bool = False) -> Order:
    suffix = " FOR UPDATE" if lock else ""
    row = await connection.fetchrow(f"SELECT {_ORDER_COLUMNS} FROM rewards_order WHERE id = $1{suffix}", order_id)
    if row is None:
        raise NotFound("no such order", order_id=str(order_id))
    lines = await connection.fetch(
        f"SELECT {_LINE_COLUMNS} FROM rewards_order_line WHERE order_id = $1 ORDER BY item_id", order_id
    )
    return _order(row, lines)


async def list_orders(
    connection: asyncpg.Connection,
    *,
    station_id: uuid.UUID | None = None,
    person_id: uuid.UUID | None = None,
    status: OrderStatus | None = None,
    limit: int = 100,
) -> list[Order]:
    """Newest first, filtered by station, person and status."""
    rows = await connection.fetch(
        f"""
        SELECT {_ORDER_COLUMNS} FROM rewards_order
        WHERE ($1::uuid IS NULL OR station_id = $1) AND ($2::uuid IS NULL OR person_id = $2)
          AND ($3::text IS NULL OR status = $3)
        ORDER BY placed_at DESC, id LIMIT $4
        """,
        station_id,
        person_id,
        None if status is None else str(status),
        limit,
    )
    lines = await connection.fetch(
        f"SELECT order_id, {_LINE_COLUMNS} FROM rewards_order_line WHERE order_id = ANY($1::uuid[]) ORDER BY item_id",
        [row["id"] for row in rows],
    )
    by_order: dict[uuid.UUID, list[asyncpg.Record]] = {}
    for line in lines:
        by_order.setdefault(line["order_id"], []).append(line)
    return [
        _order(row, [{k: v for k, v in line.items() if k != "order_id"} for line in by_order.get(row["id"], [])])
        for row in rows
    ]


async def may_act_for(
    connection: asyncpg.Connection, actor: Principal, community_id: uuid.UUID, person_id: uuid.UUID
) -> bool:
    """The person themselves, a verified lineal relative (代办), the community's staff, or the system."""
    if actor.is_system or actor.holds(Role.community_staff, community_id=community_id):
        return True
    if actor.person_id is None:
        return False
    return actor.person_id == person_id or await family.can_act_for(connection, actor.person_id, person_id)


async def place_order(
    connection: asyncpg.Connection,
    actor: Principal,
    codes: PickupCodes,
    community_id: uuid.UUID,
    request: OrderRequest,
) -> tuple[Order, bool]:
    """Hold the points and reserve the goods of an order; returns the order and whether it is new.

    Orders within the policy's auto-approval threshold are approved at once; others wait for staff.

    Raises:
        Forbidden: the actor may not order for this person.
        NotFound: the person, station or an item is not in this community.
        NotEligible, LimitReached, OutOfStock, NotEnoughPoints: a mall rule refuses the order.
        Conflict: the order id was used for a different order.
    """
    quantities = _quantities(request.lines)
    replay = await _replayed(connection, community_id, request, quantities)
    if replay is not None:
        return replay, False
    if not await may_act_for(connection, actor, community_id, request.person_id):
        raise Forbidden("an order is placed by the person or a verified relative", field="person_id")
    person = await connection.fetchrow(
        """
        SELECT p.birth_date, h.kind AS household_kind FROM person p LEFT JOIN household h ON h.id = p.household_id
        WHERE p.id = $1
        """,
        request.person_id,
    )
    if person is None:
        raise NotFound("no such person", field="person_id")
    prices = await _check_items(connection, community_id, request, quantities, person)
    policy = await current_policy(connection, community_id)
    total = sum(prices[item_id] * quantity for item_id, quantity in quantities.items())
    status = OrderStatus.approved if total <= policy.auto_approve_max_points else OrderStatus.placed
    if not await _insert_order(connection, actor, codes, community_id, request, total, status, policy):
        # Another request with this id committed while this one waited for it: answer as that one did.
        replay = await _replayed(connection, community_id, request, quantities)
        assert replay is not None
        return replay, False
    await connection.executemany(
        "INSERT INTO rewards_order_line (order_id, community_id, item_id, quantity, unit_points) "
        "VALUES ($1, $2, $3, $4, $5)",
        [(request.id, community_id, item, quantities[item], prices[item]) for item in sorted(quantities)],
    )
    await stock.reserve(connection, quantities)
    await check_limits(connection, request.person_id, request.id, quantities)
    order = await get_order(connection, request.id)
    await _audit(connection, actor, order, "place")
    # The hold comes last: the ledger locks the community's chain until commit, so nothing else may follow it.
    hold = points.hold(
        community_id,
        request.person_id,
        request.id,
        total,
        window=policy.pickup_window_seconds,
        policy=policy.version,
    )
    await points.apply(connection, [hold])
    return order, True


async def _replayed(
    connection: asyncpg.Connection, community_id: uuid.UUID, request: OrderRequest, quantities: Mapping[uuid.UUID, int]
) -> Order | None:
    try:
        existing = await get_order(connection, request.id)
    except NotFound:
        return None
    same = (
        existing.community_id == community_id
        and existing.station_id == request.station_id
        and existing.person_id == request.person_id
        and {line.item_id: line.quantity for line in existing.lines} == dict(quantities)
    )
    if not same:
        raise Conflict("this order id was used for another order", field="id")
    return existing


async def _check_items(
    connection: asyncpg.Connection,
    community_id: uuid.UUID,
    request: OrderRequest,
    quantities: Mapping[uuid.UUID, int],
    person: asyncpg.Record,
) -> dict[uuid.UUID, int]:
    """Every item exists at the station, has a point price, and is offered to this person now; returns prices."""
    now = await connection.fetchval("SELECT clock_timestamp()")
    prices = {}
    for item_id in sorted(quantities):
        try:
            item = await get_item(connection, item_id)
        except NotFound:
            raise NotFound("no such item", field="lines", item_id=str(item_id)) from None
        if item.community_id != community_id or item.station_id != request.station_id:
            raise NotFound("the item is not offered at this station", field="lines", item_id=str(item_id))
        if item.price_points == 0:
            raise InvalidInput(
                "this item is given only as a grant, not for points", field="lines", item_id=str(item_id)
            )
        check_eligible(item, now=now, birth_date=person["birth_date"], household_kind=person["household_kind"])
        prices[item_id] = item.price_points
    return prices


async def _insert_order(
    connection: asyncpg.Connection,
    actor: Principal,
    codes: PickupCodes,
    community_id: uuid.UUID,
    request: OrderRequest,
    total: int,
    status: OrderStatus,
    policy: Policy,
) -> bool:
    """Insert the order with a pickup code unique among the station's open orders; False if the id was taken."""
    hold_id = uuid.uuid5(request.id, "hold")
    for attempt in range(_MAX_CODE_ATTEMPTS):
        digest = codes.digest(request.station_id, codes.code(request.id, attempt))
        try:
            async with connection.transaction():
                inserted = await connection.fetchval(
                    """
                    INSERT INTO rewards_order (id, community_id, station_id, person_id, placed_by, status, total_points,
                        hold_transfer_id, policy_version, expires_at, code_attempt, pickup_digest, approved_at)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, clock_timestamp() + make_interval(secs => $10), $11,
                            $12, CASE WHEN $6 = 'approved' THEN clock_timestamp() END)
                    ON CONFLICT (id) DO NOTHING RETURNING true
                    """,
                    request.id,
                    community_id,
                    request.station_id,
                    request.person_id,
                    actor.person_id,
                    str(status),
                    total,
                    hold_id,
                    policy.version,
                    policy.pickup_window_seconds,
                    attempt,
                    digest,
                )
        except asyncpg.UniqueViolationError as exc:
            if exc.constraint_name == "rewards_order_open_code":
                continue  # another open order at this station has the same six digits: derive the next code
            raise
        except asyncpg.ForeignKeyViolationError:
            raise NotFound("no such station in this community", field="station_id") from None
        return bool(inserted)
    raise RuntimeError("no free pickup code at this station")  # 32 clashes in a row: a million codes are in use


async def approve_order(connection: asyncpg.Connection, actor: Principal, order_id: uuid.UUID) -> Order:
    """Staff approve a placed order; the resident can then collect it with the pickup code. Idempotent.

    Raises:
        Forbidden: staff approving an order of their own.
        WrongState: the order was closed.
        PickupWindowPassed: the window ended; the sweeper will expire the order.
    """
    order = await get_order(connection, order_id, lock=True)
    if order.status is OrderStatus.approved:
        return order
    if order.status is not OrderStatus.placed:
        raise WrongState(f"the order is {order.status}", field="order_id", status=str(order.status))
    if actor.person_id is not None and actor.person_id in (order.person_id, order.placed_by):
        raise Forbidden("staff cannot approve an order of their own", field="order_id")
    if await _window_passed(connection, order):
        raise PickupWindowPassed("the pickup window has passed; the order expires", field="order_id")
    await connection.execute(
        "UPDATE rewards_order SET status = 'approved', approved_at = clock_timestamp(), approved_by = $2 WHERE id = $1",
        order_id,
        actor.person_id,
    )
    approved = await get_order(connection, order_id)
    await _audit(connection, actor, approved, "approve", before=order)
    return approved


async def reject_order(connection: asyncpg.Connection, actor: Principal, order_id: uuid.UUID, reason: str) -> Order:
    """Staff refuse an open order: the hold is voided and the goods go back. Idempotent."""
    return await _close(connection, actor, order_id, OrderStatus.rejected, reason)


async def cancel_order(
    connection: asyncpg.Connection, actor: Principal, order_id: uuid.UUID, reason: str = ""
) -> Order:
    """The resident (or their verified relative, or staff) withdraws an open order. Idempotent.

    Raises:
        Forbidden: the actor may not act for the order's person.
    """
    order = await get_order(connection, order_id)
    if not await may_act_for(connection, actor, order.community_id, order.person_id):
        raise Forbidden("an order is cancelled by its person or a verified relative", field="order_id")
    return await _close(connection, actor, order_id, OrderStatus.cancelled, reason)


async def _close(
    connection: asyncpg.Connection, actor: Principal, order_id: uuid.UUID, status: OrderStatus, reason: str
) -> Order:
    order = await get_order(connection, order_id, lock=True)
    if order.status is status:
        return order
    if not order.status.open:
        raise WrongState(f"the order is {order.status}", field="order_id", status=str(order.status))
    if await _window_passed(connection, order):
        # Past the window the ledger only lets the hold lapse: the order expires rather than closing as asked.
        await expire_orders(connection, [order], actor)
        return await get_order(connection, order_id)
    await stock.release(connection, {line.item_id: line.quantity for line in order.lines})
    await connection.execute(
        "UPDATE rewards_order SET status = $2, closed_at = clock_timestamp(), closed_by = $3, close_reason = $4 "
        "WHERE id = $1",
        order_id,
        str(status),
        actor.person_id,
        reason[:500],
    )
    closed = await get_order(connection, order_id)
    await _audit(connection, actor, closed, _CLOSING_ACTION[status], before=order)
    await points.apply(connection, [points.void(order.id, order.hold_transfer_id, policy=order.policy_version)])
    return closed


async def expire_orders(connection: asyncpg.Connection, orders: Sequence[Order], actor: Principal | None) -> None:
    """Close open orders whose window passed: goods back, holds lapse. The orders must be locked by the caller."""
    if not orders:
        return
    released: dict[uuid.UUID, int] = {}
    for order in orders:
        for line in order.lines:
            released[line.item_id] = released.get(line.item_id, 0) + line.quantity
    await stock.release(connection, released)
    await connection.execute(
        """
        UPDATE rewards_order SET status = 'expired', closed_at = clock_timestamp(),
            close_reason = 'the pickup window passed'
        WHERE id = ANY($1::uuid[])
        """,
        [order.id for order in orders],
    )
    for order in orders:
        await audit.record(
            connection,
            actor,
            community_id=order.community_id,
            action="expire",
            entity="rewards_order",
            entity_id=order.id,
            before={"status": str(order.status)},
            after={"status": str(OrderStatus.expired)},
        )
    await points.apply(connection, [points.expiry_void(o.hold_transfer_id) for o in orders], accept=_EXPIRED_VOID_OK)


async def _window_passed(connection: asyncpg.Connection, order: Order) -> bool:
    return bool(await connection.fetchval("SELECT $1::timestamptz <= clock_timestamp()", order.expires_at))


async def _audit(
    connection: asyncpg.Connection, actor: Principal, order: Order, action: str, *, before: Order | None = None
) -> None:
    def view(o: Order) -> dict[str, object]:
        return {
            "status": str(o.status),
            "person_id": str(o.person_id),
            "total_points": o.total_points,
            "posted_points": o.posted_points,
            "lines": {str(line.item_id): line.quantity for line in o.lines},
        }

    await audit.record(
        connection,
        actor,
        community_id=order.community_id,
        action=action,
        entity="rewards_order",
        entity_id=order.id,
        before=None if before is None else view(before),
        after=view(order),
    )
