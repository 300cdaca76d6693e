"""Per-person limits on an item: per day and per month (in the communities' local time) and per person ever."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

import asyncpg

from timebank.rewards.errors import LimitReached

__all__ = ["check_limits"]

_LOCAL_DAY = "date_trunc('{unit}', clock_timestamp() AT TIME ZONE 'Asia/Shanghai') AT TIME ZONE 'Asia/Shanghai'"


async def check_limits(
    connection: asyncpg.Connection, person_id: uuid.UUID, order_id: uuid.UUID, quantities: Mapping[uuid.UUID, int]
) -> None:
    """Per-day, per-month and per-person limits, counted under the stock locks this order holds (so two
    concurrent orders of one person cannot both slip under a limit). Returned pieces do not count."""
    rows = await connection.fetch(
        f"""
        SELECT i.id, i.name, i.limit_per_day, i.limit_per_month, i.limit_per_person,
               coalesce(sum(c.quantity) FILTER (WHERE c.placed_at >= {_LOCAL_DAY.format(unit="day")}), 0) AS today,
               coalesce(sum(c.quantity) FILTER (WHERE c.placed_at >= {_LOCAL_DAY.format(unit="month")}), 0) AS month,
               coalesce(sum(c.quantity), 0) AS ever
        FROM rewards_item i
        LEFT JOIN (
            SELECT l.item_id, o.placed_at,
                   CASE WHEN o.status = 'picked_up' THEN l.picked_quantity - l.returned_quantity
                        ELSE l.quantity END AS quantity
            FROM rewards_order o JOIN rewards_order_line l ON l.order_id = o.id
            WHERE o.person_id = $2 AND o.id <> $3 AND o.status IN ('placed', 'approved', 'picked_up')
        ) c ON c.item_id = i.id
        WHERE i.id = ANY($1::uuid[])
          AND (i.limit_per_day IS NOT NULL OR i.limit_per_month IS NOT NULL OR i.limit_per_person IS NOT NULL)
        GROUP BY i.id
        """,
        list(quantities),
        person_id,
        order_id,
    )
    for row in rows:
        wanted = quantities[row["id"]]
        for period, limit, used in (
            ("day", row["limit_per_day"], row["today"]),
            ("month", row["limit_per_month"], row["month"]),
            ("person", row["limit_per_person"], row["ever"]),
        ):
            if limit is not None and used + wanted > limit:
                raise LimitReached(
                    f"{row['name']}: at most {limit} per {period}",
                    field="lines",
                    item_id=str(row["id"]),
                    period=period,
                    limit=limit,
                    used=used,
                )
