"""Unclaimed and overdue orders escalate compound → community → street → department on the policy's limits."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from click.testing import CliRunner

from tests.integration.marketplace.conftest import Neighbourhood, as_system
from timebank.db import Database
from timebank.marketplace import claims, needs, orders, policy
from timebank.marketplace.escalation import escalate_overdue
from timebank.marketplace.model import NeedKind, OrderMode, Settlement
from timebank.marketplace.order_store import events_of, get_order


async def _order(database: Database, hood: Neighbourhood, *, household: uuid.UUID | None) -> uuid.UUID:
    async with hood.bound(database) as connection:
        need, _ = await needs.raise_need(
            connection,
            hood.staff,
            hood.community,
            needs.NewNeed(
                id=uuid.uuid4(),
                kind=NeedKind.need,
                category="safety_patrol",
                title="楼道堆物有火灾隐患",
                requester_id=hood.requester.person_id,
                household_id=household,
                est_minutes=30,
                settlement=Settlement.public_good,
            ),
        )
        order, _ = await orders.place_order(
            connection, hood.staff, orders.NewOrder(id=uuid.uuid4(), need_id=need.id, mode=OrderMode.open)
        )
    return order.id


async def _sweep(database: Database, at: datetime, order_ids: list[uuid.UUID]) -> list[tuple[uuid.UUID, str, str]]:
    moved = []
    while True:  # other tests' orders are overdue too; sweep them all, as the command does
        async with as_system(database) as connection:
            batch = await escalate_overdue(connection, at=at, limit=200)
        moved.extend(batch)
        if len(batch) < 200:
            break
    return [(e.order_id, e.from_tier, e.to_tier) for e in moved if e.order_id in order_ids]


async def test_an_unclaimed_order_climbs_one_tier_each_time_its_limit_runs_out(
    database: Database, hood: Neighbourhood
) -> None:
    order_id = await _order(database, hood, household=hood.household)
    start = datetime.now(UTC)
    # Default limits: a day at the compound, 3 days at the community, 7 at the street.
    assert await _sweep(database, start + timedelta(hours=23), [order_id]) == []
    assert await _sweep(database, start + timedelta(days=1, minutes=1), [order_id]) == [
        (order_id, "compound", "community")
    ]
    assert await _sweep(database, start + timedelta(days=3), [order_id]) == []
    assert await _sweep(database, start + timedelta(days=4, minutes=2), [order_id]) == [
        (order_id, "community", "street")
    ]
    assert await _sweep(database, start + timedelta(days=11, minutes=3), [order_id]) == [
        (order_id, "street", "department")
    ]
    assert await _sweep(database, start + timedelta(days=100), [order_id]) == []

    async with hood.bound(database) as connection:
        order = await get_order(connection, order_id)
        events = await events_of(connection, order_id)
    assert order.tier == "department"
    # Whoever answers for it now can still accept it: the claim deadline moved with the tier.
    assert order.accept_by >= order.tier_due_at
    escalations = [(e.action, e.tier, e.actor_subject, e.detail and e.detail["from_tier"]) for e in events[1:]]
    assert escalations == [
        ("escalate", "community", "system", "compound"),
        ("escalate", "street", "system", "community"),
        ("escalate", "department", "system", "street"),
    ]


async def test_a_need_without_a_compound_starts_at_the_community(database: Database, hood: Neighbourhood) -> None:
    order_id = await _order(database, hood, household=None)
    async with hood.bound(database) as connection:
        order = await get_order(connection, order_id)
    assert order.tier == "community"


async def test_an_accepted_order_not_done_in_time_escalates_too_but_a_closed_one_never(
    database: Database, hood: Neighbourhood
) -> None:
    slow, finished = (
        await _order(database, hood, household=hood.household),
        await _order(database, hood, household=hood.household),
    )
    async with hood.bound(database) as connection:
        for order_id in (slow, finished):
            await claims.claim_order(connection, hood.helper, order_id, claims.NewClaim(id=uuid.uuid4()))
        await claims.mark_done(connection, hood.helper, finished, minutes=20, proof_text="已清理")
        await claims.rate_order(connection, hood.requester, finished, rating=5)
    moved = await _sweep(database, datetime.now(UTC) + timedelta(days=2), [slow, finished])
    assert moved == [(slow, "compound", "community")]


async def test_the_limits_come_from_the_policy_the_order_was_placed_under(
    database: Database, hood: Neighbourhood
) -> None:
    now = datetime.now(UTC)
    async with hood.bound(database) as connection:
        await policy.policy_at(connection, hood.community, now)  # version 1, the defaults
        await policy.write_policy(
            connection,
            hood.staff,
            hood.community,
            version=2,
            valid_from=now - timedelta(seconds=1),
            rules=policy.OrderRules(compound_limit=timedelta(hours=2)),
        )
    order_id = await _order(database, hood, household=hood.household)
    assert await _sweep(database, now + timedelta(hours=3), [order_id]) == [(order_id, "compound", "community")]


@pytest.fixture(name="overdue_order")
async def fx_overdue_order(database: Database, hood: Neighbourhood) -> uuid.UUID:
    return await _order(database, hood, household=hood.household)


def test_the_escalate_command_runs_the_sweeper(database_url: str, overdue_order: uuid.UUID) -> None:
    from timebank.cli import main

    as_of = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S%z")
    result = CliRunner().invoke(
        main, ["orders", "escalate", "--as-of", as_of], env={"TIMEBANK_DATABASE_URL": database_url}
    )
    assert result.exit_code == 0, result.output
    assert "compound → community" in result.output

    async def tier() -> str:
        connection = await asyncpg.connect(database_url)
        try:
            return str(await connection.fetchval("SELECT tier FROM service_order WHERE id = $1", overdue_order))
        finally:
            await connection.close()

    assert asyncio.run(tier()) == "community"
