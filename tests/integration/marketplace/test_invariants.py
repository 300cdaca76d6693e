"""What the database itself refuses, whatever the service does: illegal moves, changed history, a second live claim."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from tests.integration.marketplace.conftest import Neighbourhood
from timebank.db import Database
from timebank.marketplace import claims, needs, orders
from timebank.marketplace.model import NeedKind, OrderMode, Settlement


async def _closed_order(database: Database, hood: Neighbourhood) -> uuid.UUID:
    async with hood.bound(database) as connection:
        need, _ = await needs.raise_need(
            connection,
            hood.requester,
            hood.community,
            needs.NewNeed(
                id=uuid.uuid4(),
                kind=NeedKind.need,
                category="errands",
                title="代买菜",
                est_minutes=30,
                settlement=Settlement.public_good,
            ),
        )
        order, _ = await orders.place_order(
            connection, hood.staff, orders.NewOrder(id=uuid.uuid4(), need_id=need.id, mode=OrderMode.open)
        )
        await claims.claim_order(connection, hood.helper, order.id, claims.NewClaim(id=uuid.uuid4()))
        await claims.mark_done(connection, hood.helper, order.id, minutes=30, proof_text="买好了")
        await claims.rate_order(connection, hood.requester, order.id, rating=5)
    return order.id


async def test_a_closed_order_never_changes(database: Database, hood: Neighbourhood) -> None:
    order_id = await _closed_order(database, hood)
    for change in ("status = 'open'", "rating = 1", "tier = 'street'"):
        async with hood.bound(database) as connection:
            with pytest.raises(asyncpg.ObjectNotInPrerequisiteStateError):
                await connection.execute(f"UPDATE service_order SET {change} WHERE id = $1", order_id)


async def test_history_is_append_only_for_the_service(database: Database, hood: Neighbourhood) -> None:
    order_id = await _closed_order(database, hood)
    for statement in ("UPDATE order_event SET actor_subject = 'x' WHERE order_id = $1",
                      "DELETE FROM order_event WHERE order_id = $1",
                      "DELETE FROM service_order WHERE id = $1"):  # fmt: skip
        async with hood.bound(database) as connection:
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await connection.execute(statement, order_id)


async def test_an_order_cannot_skip_a_step(database: Database, hood: Neighbourhood) -> None:
    async with hood.bound(database) as connection:
        need, _ = await needs.raise_need(
            connection,
            hood.requester,
            hood.community,
            needs.NewNeed(id=uuid.uuid4(), kind=NeedKind.need, category="errands", title="取药", est_minutes=20),
        )
        order, _ = await orders.place_order(
            connection, hood.staff, orders.NewOrder(id=uuid.uuid4(), need_id=need.id, mode=OrderMode.open)
        )
        with pytest.raises(asyncpg.ObjectNotInPrerequisiteStateError):
            await connection.execute(
                "UPDATE service_order SET status = 'done', done_at = now(), done_minutes = 5 WHERE id = $1", order.id
            )


async def test_the_database_allows_one_live_claim_per_order(database: Database, hood: Neighbourhood) -> None:
    async with hood.bound(database) as connection:
        need, _ = await needs.raise_need(
            connection,
            hood.requester,
            hood.community,
            needs.NewNeed(id=uuid.uuid4(), kind=NeedKind.need, category="errands", title="取快递", est_minutes=20),
        )
        order, _ = await orders.place_order(
            connection, hood.staff, orders.NewOrder(id=uuid.uuid4(), need_id=need.id, mode=OrderMode.open)
        )
        await claims.claim_order(connection, hood.helper, order.id, claims.NewClaim(id=uuid.uuid4()))
        with pytest.raises(asyncpg.UniqueViolationError):
            await connection.execute(
                """
                INSERT INTO order_claim (id, community_id, order_id, claimant_kind, claimant_id, claimed_by, status)
                VALUES ($1, $2, $3, 'person', $4, $4, 'live')
                """,
                uuid.uuid4(),
                hood.community,
                order.id,
                hood.neighbour.person_id,
            )
