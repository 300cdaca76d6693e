"""The escalation sweeper: unclaimed and overdue orders climb compound → community → street → department.

Each tier has a time limit in the policy the order was placed under (e.g. same day, 3, 7, 15 days). An unfinished
order still at its tier when the limit runs out moves one tier up, with a new limit from then; an unclaimed one keeps
its claim deadline at least as long, so the people now answering for it can still dispatch or accept it. Orders
are taken with SKIP LOCKED, so sweepers may run side by side and never block a claimer.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from timebank.marketplace.model import LIVE, UNCLAIMED, OrderStatus, Tier, next_tier
from timebank.marketplace.order_store import order_of, record_event
from timebank.marketplace.policy import MarketplacePolicy, policy_version

__all__ = ["Escalation", "escalate_overdue"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Escalation:
    order_id: uuid.UUID
    community_id: uuid.UUID
    from_tier: Tier
    to_tier: Tier
    tier_due_at: datetime


async def escalate_overdue(
    connection: asyncpg.Connection, *, at: datetime | None = None, limit: int = 500
) -> list[Escalation]:
    """Escalate up to ``limit`` orders overdue at ``at`` (now when omitted) by one tier each, on the caller's
    transaction; returns what moved. Run it until it returns fewer than ``limit``."""
    now: datetime = at or await connection.fetchval("SELECT now()")
    rows = await connection.fetch(
        """
        SELECT * FROM service_order
        WHERE status = ANY ($1::text[]) AND tier <> 'department' AND tier_due_at <= $2
        ORDER BY tier_due_at, id
        LIMIT $3
        FOR UPDATE SKIP LOCKED
        """,
        [status.value for status in LIVE],
        now,
        limit,
    )
    policies: dict[tuple[uuid.UUID, int], MarketplacePolicy] = {}
    moved = []
    for row in rows:
        order = order_of(row)
        key = (order.community_id, order.policy_version)
        if key not in policies:
            policies[key] = await policy_version(connection, *key)
        from_tier = Tier(order.tier)
        to_tier = next_tier(from_tier)
        if to_tier is None:  # the query leaves the last tier out
            continue
        due = now + policies[key].tier_limit(to_tier)
        accept_by = max(order.accept_by, due) if OrderStatus(order.status) in UNCLAIMED else order.accept_by
        await connection.execute(
            "UPDATE service_order SET tier = $2, tier_due_at = $3, accept_by = $4 WHERE id = $1",
            order.id,
            to_tier.value,
            due,
            accept_by,
        )
        escalated = order_of({**dict(row), "tier": to_tier.value, "tier_due_at": due, "accept_by": accept_by})
        await record_event(
            connection,
            None,
            escalated,
            action="escalate",
            from_status=order.status,
            to_status=order.status,
            detail={
                "from_tier": from_tier.value,
                "to_tier": to_tier.value,
                "overdue_since": order.tier_due_at.isoformat(),
            },
        )
        moved.append(
            Escalation(
                order_id=order.id,
                community_id=order.community_id,
                from_tier=from_tier,
                to_tier=to_tier,
                tier_due_at=due,
            )
        )
    return moved
