"""Goods on hand and reserved. Reservations change ``reserved``; everything else appends a movement.

Stock rows are always locked in item-id order, and before the ledger's locks, so two requests touching the same
goods queue instead of deadlocking. The database's CHECKs are the last word: on hand never below zero, reserved
never above on hand.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping

import asyncpg

from timebank.rewards.errors import OutOfStock

__all__ = ["lock", "move", "release", "reserve"]


async def reserve(connection: asyncpg.Connection, quantities: Mapping[uuid.UUID, int]) -> None:
    """Reserve pieces of each item, all or nothing.

    Raises:
        OutOfStock: an item has fewer pieces on hand and unreserved than asked for.
    """
    for item_id in sorted(quantities):
        wanted = quantities[item_id]
        reserved = await connection.fetchval(
            """
            UPDATE rewards_stock SET reserved = reserved + $2
            WHERE item_id = $1 AND on_hand - reserved >= $2 RETURNING reserved
            """,
            item_id,
            wanted,
        )
        if reserved is None:
            available = await connection.fetchval(
                "SELECT on_hand - reserved FROM rewards_stock WHERE item_id = $1", item_id
            )
            raise OutOfStock(
                "not enough of this item in stock",
                field="lines",
                item_id=str(item_id),
                requested=wanted,
                available=available or 0,
            )


async def release(connection: asyncpg.Connection, quantities: Mapping[uuid.UUID, int]) -> None:
    """Give reserved pieces back (an order or grant closed without them leaving)."""
    for item_id in sorted(quantities):
        await connection.execute(
            "UPDATE rewards_stock SET reserved = reserved - $2 WHERE item_id = $1", item_id, quantities[item_id]
        )


async def lock(connection: asyncpg.Connection, item_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, tuple[int, int]]:
    """Lock stock rows in order; returns (on hand, reserved) per item."""
    rows = await connection.fetch(
        "SELECT item_id, on_hand, reserved FROM rewards_stock WHERE item_id = ANY($1::uuid[]) ORDER BY item_id "
        "FOR UPDATE",
        sorted(set(item_ids)),
    )
    return {row["item_id"]: (row["on_hand"], row["reserved"]) for row in rows}


async def move(
    connection: asyncpg.Connection,
    *,
    id: uuid.UUID,
    item_id: uuid.UUID,
    kind: str,
    quantity: int,
    ref_type: str | None = None,
    ref_id: uuid.UUID | None = None,
    actor_id: uuid.UUID | None = None,
    note: str = "",
) -> bool:
    """Append a movement (the database applies it to on hand); False when ``id`` was applied already.

    Raises:
        OutOfStock: the movement would take on hand below zero or below what is reserved.
    """
    try:
        async with connection.transaction():
            inserted = await connection.fetchval(
                """
                INSERT INTO rewards_stock_movement
                    (id, community_id, station_id, item_id, kind, quantity, ref_type, ref_id, actor_id, note)
                SELECT $1, s.community_id, s.station_id, s.item_id, $3, $4, $5, $6, $7, $8
                FROM rewards_stock s WHERE s.item_id = $2
                ON CONFLICT (id) DO NOTHING
                RETURNING true
                """,
                id,
                item_id,
                kind,
                quantity,
                ref_type,
                ref_id,
                actor_id,
                note,
            )
    except asyncpg.CheckViolationError:
        on_hand, reserved = (await lock(connection, [item_id]))[item_id]
        raise OutOfStock(
            "this would leave fewer pieces on hand than are reserved",
            field="quantity",
            item_id=str(item_id),
            on_hand=on_hand,
            reserved=reserved,
        ) from None
    return bool(inserted)
