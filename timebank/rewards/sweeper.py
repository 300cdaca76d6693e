"""The sweeper: orders whose pickup window passed are expired, their goods released and their holds let lapse.

Run by ``timebank rewards sweep`` (from cron or a systemd timer) and safe to run anywhere at once: each batch
locks the orders it takes and skips those another sweeper or the counter holds.
"""

from __future__ import annotations

import asyncpg
import structlog

from timebank.db import EVERY_COMMUNITY, bound
from timebank.rewards.orders import expire_orders, get_order

__all__ = ["sweep_expired_orders"]

_log = structlog.get_logger("timebank.rewards")


async def sweep_expired_orders(pool: asyncpg.Pool, *, batch: int = 200) -> int:
    """Expire every open order past its window, a batch per transaction; returns how many were expired."""
    expired = 0
    while True:
        async with bound(pool, EVERY_COMMUNITY) as connection:
            rows = await connection.fetch(
                """
                SELECT id FROM rewards_order
                WHERE status IN ('placed', 'approved') AND expires_at <= clock_timestamp()
                ORDER BY expires_at, id LIMIT $1 FOR UPDATE SKIP LOCKED
                """,
                batch,
            )
            orders = [await get_order(connection, row["id"]) for row in rows]
            await expire_orders(connection, orders, None)
        expired += len(orders)
        if len(orders) < batch:
            break
    if expired:
        _log.info("rewards_orders_expired", count=expired)
    return expired
