"""Claim rate, time to claim, time to close and satisfaction, per community and per unit."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from tests.integration.marketplace.conftest import Neighbourhood
from timebank.db import Database
from timebank.marketplace import claims, needs, orders, wishes
from timebank.marketplace.metrics import cycle_figures
from timebank.marketplace.model import ClaimantKind, NeedKind, OrderMode


async def test_figures_count_the_periods_orders(database: Database, hood: Neighbourhood) -> None:
    started = datetime.now(UTC) - timedelta(seconds=1)
    async with hood.bound(database) as connection:
        order_ids = []
        for value in (100, 150, 200):
            wish, _ = await needs.raise_need(
                connection,
                hood.staff,
                hood.community,
                needs.NewNeed(
                    id=uuid.uuid4(),
                    kind=NeedKind.micro_wish,
                    category="goods",
                    title=f"书包 ¥{value}",
                    requester_id=hood.requester.person_id,
                    value_yuan=value,
                ),
            )
            _, order = await wishes.verify_wish(connection, hood.staff, wish.id)
            order_ids.append(order.id)
        unit_claim = claims.NewClaim(id=uuid.uuid4(), claimant_kind=ClaimantKind.unit, claimant_id=hood.unit)
        await claims.claim_order(connection, hood.unit_admin, order_ids[0], unit_claim)
        await claims.mark_done(connection, hood.unit_admin, order_ids[0], minutes=30, proof_text="已送达")
        await claims.rate_order(connection, hood.requester, order_ids[0], rating=5)
        await claims.claim_order(connection, hood.helper, order_ids[1], claims.NewClaim(id=uuid.uuid4()))
        await claims.mark_done(connection, hood.helper, order_ids[1], minutes=30, proof_text="已送达")
        await claims.rate_order(connection, hood.requester, order_ids[1], rating=3)
        # A cancelled order is not counted at all.
        cancelled, _ = await needs.raise_need(
            connection,
            hood.staff,
            hood.community,
            needs.NewNeed(
                id=uuid.uuid4(),
                kind=NeedKind.need,
                category="repair",
                title="不需要了",
                requester_id=hood.requester.person_id,
            ),
        )
        placed, _ = await orders.place_order(
            connection, hood.staff, orders.NewOrder(id=uuid.uuid4(), need_id=cancelled.id, mode=OrderMode.open)
        )
        await orders.cancel_order(connection, hood.staff, placed.id, reason="居民已自行解决")
        figures = await cycle_figures(connection, [hood.community], started, datetime.now(UTC) + timedelta(seconds=1))
    community, unit = figures
    assert (community.scope, community.name) == ("community", "苏州路社区")
    assert (community.orders, community.claimed, community.closed) == (3, 2, 2)
    assert (community.wishes, community.wishes_claimed) == (3, 2)
    assert community.claim_rate == round(2 / 3, 4)
    assert community.median_hours_to_claim is not None
    assert community.median_hours_to_claim >= 0
    assert (community.rated, community.mean_rating, community.satisfied_share) == (2, 4.0, 0.5)
    assert (unit.scope, unit.id, unit.name) == ("unit", hood.unit, "青岛港湾物业")
    assert (unit.orders, unit.claimed, unit.closed, unit.mean_rating) == (1, 1, 1, 5.0)
