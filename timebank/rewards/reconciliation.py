"""Books and goods agree (账物相符): per station and period, stock in, out, reserved and on hand, and the points
held, posted and released for its orders, each figure computed from its own source and checked against the others.

Goods come from the movement log and the stock rows; points come from the ledger's transfers. The checks:
- every item's movements add up to what the stock row says is on hand;
- every item's reserved pieces are exactly those of open orders and approved grants;
- points held at the start plus points held in the period equal points posted, released and still held;
- points posted equal the goods handed over times their order price; refunds equal goods returned times price;
- points still held equal the open orders' totals.

A stock count (盘点) records what staff found against what the books said and books the difference.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from timebank.access.principal import Principal
from timebank.community import audit
from timebank.errors import Conflict, InvalidInput, NotFound
from timebank.rewards import stock
from timebank.rewards.errors import OutOfStock

__all__ = ["ItemBalance", "PointsBalance", "Reconciliation", "StockCount", "count_stock", "reconcile"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemBalance:
    item_id: uuid.UUID
    name: str
    source: str
    partner_unit_id: uuid.UUID | None
    opening: int
    received: int
    returned: int
    redeemed: int
    granted: int
    written_off: int
    count_adjusted: int
    closing: int
    on_hand: int
    reserved: int
    reserved_for_orders: int
    reserved_for_grants: int
    moved_total: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PointsBalance:
    held_at_start: int
    held: int
    posted: int
    released: int
    held_at_end: int
    refunded: int
    goods_out_points: int
    goods_returned_points: int
    open_orders_points: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Reconciliation:
    station_id: uuid.UUID
    since: datetime
    until: datetime
    items: tuple[ItemBalance, ...]
    points: PointsBalance
    discrepancies: tuple[str, ...]

    @property
    def balanced(self) -> bool:
        return not self.discrepancies


@dataclass(frozen=True, slots=True, kw_only=True)
class StockCount:
    id: uuid.UUID
    community_id: uuid.UUID
    station_id: uuid.UUID
    item_id: uuid.UUID
    expected: int
    counted: int
    difference: int
    counted_by: uuid.UUID | None
    note: str
    at: datetime


_COUNT_COLUMNS = "id, community_id, station_id, item_id, expected, counted, difference, counted_by, note, at"

_ITEMS = """
WITH moves AS (
    SELECT item_id,
        coalesce(sum(quantity) FILTER (WHERE at < $2), 0) AS opening,
        coalesce(sum(quantity) FILTER (WHERE at >= $2 AND at < $3 AND kind IN ('purchase_in', 'donation_in')), 0)
            AS received,
        coalesce(sum(quantity) FILTER (WHERE at >= $2 AND at < $3 AND kind = 'return_in'), 0) AS returned,
        coalesce(-sum(quantity) FILTER (WHERE at >= $2 AND at < $3 AND kind = 'redeem_out'), 0) AS redeemed,
        coalesce(-sum(quantity) FILTER (WHERE at >= $2 AND at < $3 AND kind = 'grant_out'), 0) AS granted,
        coalesce(-sum(quantity) FILTER (WHERE at >= $2 AND at < $3 AND kind = 'writeoff'), 0) AS written_off,
        coalesce(sum(quantity) FILTER (WHERE at >= $2 AND at < $3 AND kind = 'count_adjust'), 0) AS count_adjusted,
        coalesce(sum(quantity) FILTER (WHERE at < $3), 0) AS closing,
        sum(quantity) AS moved_total
    FROM rewards_stock_movement WHERE station_id = $1 GROUP BY item_id
),
open_orders AS (
    SELECT l.item_id, sum(l.quantity) AS quantity
    FROM rewards_order o JOIN rewards_order_line l ON l.order_id = o.id
    WHERE o.station_id = $1 AND o.status IN ('placed', 'approved') GROUP BY l.item_id
),
approved_grants AS (
    SELECT l.item_id, sum(l.quantity) AS quantity
    FROM rewards_grant g JOIN rewards_grant_line l ON l.grant_id = g.id
    WHERE g.station_id = $1 AND g.status = 'approved' GROUP BY l.item_id
)
SELECT i.id AS item_id, i.name, i.source, i.partner_unit_id, s.on_hand, s.reserved,
    coalesce(m.opening, 0) AS opening, coalesce(m.received, 0) AS received, coalesce(m.returned, 0) AS returned,
    coalesce(m.redeemed, 0) AS redeemed, coalesce(m.granted, 0) AS granted,
    coalesce(m.written_off, 0) AS written_off, coalesce(m.count_adjusted, 0) AS count_adjusted,
    coalesce(m.closing, 0) AS closing, coalesce(m.moved_total, 0) AS moved_total,
    coalesce(oo.quantity, 0) AS reserved_for_orders, coalesce(ag.quantity, 0) AS reserved_for_grants
FROM rewards_item i JOIN rewards_stock s ON s.item_id = i.id
LEFT JOIN moves m ON m.item_id = i.id
LEFT JOIN open_orders oo ON oo.item_id = i.id
LEFT JOIN approved_grants ag ON ag.item_id = i.id
WHERE i.station_id = $1
ORDER BY i.name
"""

# Points from the ledger alone: the station's holds, and whatever resolved them (posts, voids, lapses).
_POINTS = """
WITH holds AS (
    SELECT t.id, t.amount, t.created_at FROM ledger_transfer t
    WHERE t.id IN (SELECT hold_transfer_id FROM rewards_order WHERE station_id = $1)
),
resolutions AS (
    SELECT r.pending_id, r.flags, r.amount, r.created_at, h.amount AS hold_amount
    FROM ledger_transfer r JOIN holds h ON h.id = r.pending_id
)
SELECT
    (SELECT coalesce(sum(h.amount), 0) FROM holds h WHERE h.created_at < $2 AND NOT EXISTS
        (SELECT 1 FROM resolutions r WHERE r.pending_id = h.id AND r.created_at < $2))::bigint AS held_at_start,
    (SELECT coalesce(sum(amount), 0) FROM holds WHERE created_at >= $2 AND created_at < $3)::bigint AS held,
    (SELECT coalesce(sum(amount) FILTER (WHERE flags & 4 <> 0), 0) FROM resolutions
        WHERE created_at >= $2 AND created_at < $3)::bigint AS posted,
    (SELECT coalesce(sum(CASE WHEN flags & 4 <> 0 THEN hold_amount - amount ELSE hold_amount END), 0)
        FROM resolutions WHERE created_at >= $2 AND created_at < $3)::bigint AS released,
    (SELECT coalesce(sum(h.amount), 0) FROM holds h WHERE h.created_at < $3 AND NOT EXISTS
        (SELECT 1 FROM resolutions r WHERE r.pending_id = h.id AND r.created_at < $3))::bigint AS held_at_end,
    (SELECT coalesce(sum(t.amount), 0) FROM ledger_transfer t
        WHERE t.ref_type = 'mall_return' AND t.created_at >= $2 AND t.created_at < $3
          AND t.ref_id IN (SELECT r.id FROM rewards_return r JOIN rewards_order o ON o.id = r.order_id
                           WHERE o.station_id = $1))::bigint AS refunded
"""

# Points from the goods side: pieces handed over or returned in the period times the price they were ordered at.
_GOODS_POINTS = """
SELECT
    (SELECT coalesce(sum(-m.quantity * l.unit_points), 0)
        FROM rewards_stock_movement m JOIN rewards_order_line l ON l.order_id = m.ref_id AND l.item_id = m.item_id
        WHERE m.station_id = $1 AND m.kind = 'redeem_out' AND m.at >= $2 AND m.at < $3)::bigint AS goods_out_points,
    (SELECT coalesce(sum(r.points), 0)
        FROM rewards_stock_movement m JOIN rewards_return r ON r.id = m.ref_id
        WHERE m.station_id = $1 AND m.kind = 'return_in' AND m.at >= $2 AND m.at < $3)::bigint AS goods_returned_points,
    (SELECT coalesce(sum(total_points), 0) FROM rewards_order
        WHERE station_id = $1 AND status IN ('placed', 'approved'))::bigint AS open_orders_points
"""


async def reconcile(
    connection: asyncpg.Connection, station_id: uuid.UUID, *, since: datetime, until: datetime | None = None
) -> Reconciliation:
    """Reconcile ``station_id`` over ``[since, until)`` (until now by default); ``discrepancies`` names each
    figure that does not add up, and is empty when books and goods agree."""
    if await connection.fetchval("SELECT 1 FROM rewards_station WHERE id = $1", station_id) is None:
        raise NotFound("no such station", station_id=str(station_id))
    now = await connection.fetchval("SELECT clock_timestamp()")
    end = until if until is not None and until < now else now
    if end <= since:
        raise InvalidInput("the period ends before it starts", field="since")
    items = tuple(ItemBalance(**dict(row)) for row in await connection.fetch(_ITEMS, station_id, since, end))
    ledger = dict(await connection.fetchrow(_POINTS, station_id, since, end))
    goods = dict(await connection.fetchrow(_GOODS_POINTS, station_id, since, end))
    balance = PointsBalance(**ledger, **goods)
    found: list[str] = []
    for item in items:
        if item.moved_total != item.on_hand:
            found.append(f"{item.name}: movements add up to {item.moved_total}, stock says {item.on_hand} on hand")
        if item.reserved != item.reserved_for_orders + item.reserved_for_grants:
            found.append(
                f"{item.name}: {item.reserved} reserved, but open orders hold {item.reserved_for_orders} "
                f"and approved grants {item.reserved_for_grants}"
            )
    if balance.held_at_start + balance.held != balance.posted + balance.released + balance.held_at_end:
        found.append(
            f"points: {balance.held_at_start} held at start + {balance.held} held ≠ {balance.posted} posted + "
            f"{balance.released} released + {balance.held_at_end} held at end"
        )
    if balance.posted != balance.goods_out_points:
        found.append(f"points: {balance.posted} posted, but goods handed over are worth {balance.goods_out_points}")
    if balance.refunded != balance.goods_returned_points:
        found.append(
            f"points: {balance.refunded} refunded, but goods returned are worth {balance.goods_returned_points}"
        )
    if end == now and balance.held_at_end != balance.open_orders_points:
        found.append(f"points: {balance.held_at_end} held, but open orders total {balance.open_orders_points}")
    return Reconciliation(
        station_id=station_id, since=since, until=end, items=items, points=balance, discrepancies=tuple(found)
    )


async def count_stock(
    connection: asyncpg.Connection,
    actor: Principal,
    *,
    id: uuid.UUID,
    item_id: uuid.UUID,
    counted: int,
    note: str = "",
) -> tuple[StockCount, bool]:
    """Record a physical count and book the difference; idempotent by ``id``.

    Raises:
        OutOfStock: fewer pieces were found than open orders and grants reserve; close those first.
    """
    if counted < 0:
        raise InvalidInput("a count is zero or more", field="counted")
    existing = await connection.fetchrow(f"SELECT {_COUNT_COLUMNS} FROM rewards_stock_count WHERE id = $1", id)
    if existing is not None:
        stored = StockCount(**dict(existing))
        if (stored.item_id, stored.counted) != (item_id, counted):
            raise Conflict("this count id was used for another count", field="id")
        return stored, False
    locked = await stock.lock(connection, [item_id])
    if item_id not in locked:
        raise NotFound("no such item", field="item_id")
    on_hand, reserved = locked[item_id]
    if counted < reserved:
        raise OutOfStock(
            "fewer pieces found than are reserved: reject or cancel orders and grants first",
            field="counted",
            reserved=reserved,
        )
    row = await connection.fetchrow(
        f"""
        INSERT INTO rewards_stock_count (id, community_id, station_id, item_id, expected, counted, counted_by, note)
        SELECT $1, community_id, station_id, item_id, $3, $4, $5, $6 FROM rewards_stock WHERE item_id = $2
        RETURNING {_COUNT_COLUMNS}
        """,
        id,
        item_id,
        on_hand,
        counted,
        actor.person_id,
        note,
    )
    result = StockCount(**dict(row))
    if result.difference:
        await stock.move(
            connection,
            id=uuid.uuid5(id, "adjust"),
            item_id=item_id,
            kind="count_adjust",
            quantity=result.difference,
            ref_type="stock_count",
            ref_id=id,
            actor_id=actor.person_id,
            note=note,
        )
    await audit.record(
        connection,
        actor,
        community_id=result.community_id,
        action="count",
        entity="rewards_stock",
        entity_id=item_id,
        before={"on_hand": on_hand},
        after={"on_hand": counted, "difference": result.difference, "count_id": str(id), "note": note},
    )
    return result, True
