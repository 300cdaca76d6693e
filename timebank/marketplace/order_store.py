"""Orders as rows: reading them with their claim, listing them, and the one way an order changes status.

Every status change goes through :func:`move`, which locks the order, refuses a move from the wrong status, and
appends the transition (who, when, from, to, at which tier) on the same transaction. The database's trigger refuses
any move outside the state machine, and a closed or cancelled order never changes again.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import asyncpg
import msgspec

from timebank.access.principal import Principal
from timebank.errors import NotFound
from timebank.marketplace.errors import OrderNotInState
from timebank.marketplace.listing import Page, page_clause
from timebank.marketplace.model import OrderStatus, ScoreCredit

__all__ = [
    "Claim",
    "Order",
    "OrderEvent",
    "OrderFilter",
    "encode_score_credits",
    "events_of",
    "get_order",
    "list_orders",
    "lock_order",
    "move",
]

_encode = msgspec.json.Encoder().encode


@dataclass(frozen=True, slots=True, kw_only=True)
class Claim:
    id: uuid.UUID
    order_id: uuid.UUID
    claimant_kind: str
    claimant_id: uuid.UUID
    claimed_by: uuid.UUID
    status: str
    claimed_at: datetime
    ended_at: datetime | None
    end_reason: str | None
    hold_transfer_id: uuid.UUID | None
    participants: tuple[uuid.UUID, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Order:
    id: uuid.UUID
    community_id: uuid.UUID
    need_id: uuid.UUID
    mode: str
    assignee_kind: str | None
    assignee_id: uuid.UUID | None
    project_id: uuid.UUID | None
    status: str
    tier: str
    tier_due_at: datetime
    accept_by: datetime
    policy_version: int
    created_by: uuid.UUID | None
    created_at: datetime
    accepted_at: datetime | None
    done_at: datetime | None
    done_minutes: int | None
    proof_text: str | None
    proof_urls: tuple[str, ...]
    rating: int | None
    rating_comment: str | None
    rated_by: uuid.UUID | None
    closed_at: datetime | None
    cancelled_at: datetime | None
    credit_transfer_ids: tuple[uuid.UUID, ...]
    #: What became of each party member's score bonus at the close (empty for orders closed before the bonus went
    #: through the party assessment, whose chain carries it).
    score_credits: tuple[ScoreCredit, ...]
    #: The live claim, or the one that completed the order; None while nobody holds it.
    claim: Claim | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderEvent:
    id: int
    order_id: uuid.UUID
    action: str
    from_status: str | None
    to_status: str
    tier: str
    actor_id: uuid.UUID | None
    actor_subject: str
    detail: dict[str, Any] | None
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderFilter:
    status: str | None = None
    tier: str | None = None
    assignee_id: uuid.UUID | None = None
    #: Orders this person claimed or works on.
    worker_id: uuid.UUID | None = None
    need_id: uuid.UUID | None = None


ORDER_COLUMNS = """
    id, community_id, need_id, mode, assignee_kind, assignee_id, project_id, status, tier, tier_due_at, accept_by,
    policy_version, created_by, created_at, accepted_at, done_at, done_minutes, proof_text, proof_urls, rating,
    rating_comment, rated_by, closed_at, cancelled_at, credit_transfer_ids, score_credits
"""
_CLAIM_COLUMNS = """
    c.id, c.order_id, c.claimant_kind, c.claimant_id, c.claimed_by, c.status, c.claimed_at, c.ended_at, c.end_reason,
    c.hold_transfer_id,
    ARRAY(SELECT person_id FROM order_participant p WHERE p.claim_id = c.id ORDER BY person_id) AS participants
"""


def order_of(row: asyncpg.Record | Mapping[str, Any]) -> Order:
    values = {key: row[key] for key in Order.__dataclass_fields__ if key != "claim"}
    values["proof_urls"] = tuple(values["proof_urls"])
    values["credit_transfer_ids"] = tuple(values["credit_transfer_ids"])
    values["score_credits"] = tuple(msgspec.json.decode(values["score_credits"], type=list[ScoreCredit]))
    return Order(**values)


def encode_score_credits(credits: Collection[ScoreCredit]) -> str:
    """``credits`` as the order's ``score_credits`` column (jsonb) holds them."""
    return _encode(list(credits)).decode()


def claim_of(row: asyncpg.Record) -> Claim:
    values = dict(row)
    values["participants"] = tuple(values["participants"])
    return Claim(**values)


async def current_claim(connection: asyncpg.Connection, order_id: uuid.UUID) -> Claim | None:
    """The live claim, else the completed one."""
    row = await connection.fetchrow(
        f"""
        SELECT {_CLAIM_COLUMNS} FROM order_claim c
        WHERE c.order_id = $1 AND c.status IN ('live', 'completed')
        ORDER BY c.status = 'live' DESC LIMIT 1
        """,
        order_id,
    )
    return None if row is None else claim_of(row)


async def get_claim(connection: asyncpg.Connection, claim_id: uuid.UUID) -> Claim | None:
    row = await connection.fetchrow(f"SELECT {_CLAIM_COLUMNS} FROM order_claim c WHERE c.id = $1", claim_id)
    return None if row is None else claim_of(row)


async def get_order(connection: asyncpg.Connection, order_id: uuid.UUID) -> Order:
    row = await connection.fetchrow(f"SELECT {ORDER_COLUMNS} FROM service_order WHERE id = $1", order_id)
    if row is None:
        raise NotFound("no such order", order_id=str(order_id))
    return replace(order_of(row), claim=await current_claim(connection, order_id))


async def lock_order(connection: asyncpg.Connection, order_id: uuid.UUID) -> Order:
    """The order, locked for this transaction, with its claim."""
    row = await connection.fetchrow(f"SELECT {ORDER_COLUMNS} FROM service_order WHERE id = $1 FOR UPDATE", order_id)
    if row is None:
        raise NotFound("no such order", order_id=str(order_id))
    return replace(order_of(row), claim=await current_claim(connection, order_id))


async def move(
    connection: asyncpg.Connection,
    actor: Principal | None,
    order_id: uuid.UUID,
    *,
    from_states: Collection[OrderStatus],
    to: OrderStatus,
    action: str,
    sets: Mapping[str, object] | None = None,
    stamp: Collection[str] = (),
    detail: Mapping[str, Any] | None = None,
) -> Order:
    """Move the order from one of ``from_states`` to ``to``, set ``sets`` with it, and record the transition.

    ``stamp`` names timestamp columns set to the transaction's time.

    Raises:
        NotFound: no such order (or not visible).
        OrderNotInState: the order is in another status.
    """
    sets = dict(sets or {})
    assignments = "".join(f", {column} = ${i}" for i, column in enumerate(sets, start=4))
    assignments += "".join(f", {column} = now()" for column in stamp)
    row = await connection.fetchrow(
        f"""
        WITH before AS (SELECT id, status FROM service_order WHERE id = $1 FOR UPDATE)
        UPDATE service_order o SET status = $2{assignments}
        FROM before
        WHERE o.id = before.id AND before.status = ANY ($3::text[])
        RETURNING before.status AS from_status, {", ".join(f"o.{c.strip()}" for c in ORDER_COLUMNS.split(","))}
        """,
        order_id,
        to.value,
        [state.value for state in from_states],
        *sets.values(),
    )
    if row is None:
        current = await connection.fetchval("SELECT status FROM service_order WHERE id = $1", order_id)
        if current is None:
            raise NotFound("no such order", order_id=str(order_id))
        raise OrderNotInState(
            f"the order is {current}; this needs it {' or '.join(sorted(from_states))}",
            status=current,
            order_id=str(order_id),
        )
    order = order_of(row)
    await record_event(
        connection, actor, order, action=action, from_status=row["from_status"], to_status=to.value, detail=detail
    )
    return replace(order, claim=await current_claim(connection, order_id))


async def record_event(
    connection: asyncpg.Connection,
    actor: Principal | None,
    order: Order,
    *,
    action: str,
    from_status: str | None,
    to_status: str,
    detail: Mapping[str, Any] | None = None,
) -> None:
    await connection.execute(
        """
        INSERT INTO order_event (community_id, order_id, action, from_status, to_status, tier, actor_id,
            actor_subject, detail)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)
        """,
        order.community_id,
        order.id,
        action,
        from_status,
        to_status,
        order.tier,
        None if actor is None else actor.person_id,
        "system" if actor is None else actor.subject,
        None if detail is None else _encode(dict(detail)).decode(),
    )


async def events_of(connection: asyncpg.Connection, order_id: uuid.UUID) -> list[OrderEvent]:
    rows = await connection.fetch(
        """
        SELECT id, order_id, action, from_status, to_status, tier, actor_id, actor_subject, detail, at
        FROM order_event WHERE order_id = $1 ORDER BY id
        """,
        order_id,
    )
    events = []
    for row in rows:
        values = dict(row)
        values["detail"] = None if values["detail"] is None else msgspec.json.decode(values["detail"])
        events.append(OrderEvent(**values))
    return events


async def list_orders(
    connection: asyncpg.Connection,
    community_id: uuid.UUID,
    where: OrderFilter,
    *,
    before: uuid.UUID | None = None,
    limit: int = 50,
) -> Page[Order]:
    """Orders of a community, newest first, by status, tier, assignee, worker or need."""
    rows = await connection.fetch(
        f"""
        SELECT {ORDER_COLUMNS} FROM service_order o
        WHERE community_id = $1
          AND ($2::text IS NULL OR status = $2)
          AND ($3::text IS NULL OR tier = $3)
          AND ($4::uuid IS NULL OR assignee_id = $4)
          AND ($5::uuid IS NULL OR EXISTS (
                SELECT 1 FROM order_claim c LEFT JOIN order_participant p ON p.claim_id = c.id
                WHERE c.order_id = o.id AND c.status IN ('live', 'completed') AND $5 IN (c.claimed_by, p.person_id)))
          AND ($6::uuid IS NULL OR need_id = $6)
          AND {page_clause("service_order", "$7", alias="o")}
        ORDER BY created_at DESC, id DESC
        LIMIT $8
        """,
        community_id,
        where.status,
        where.tier,
        where.assignee_id,
        where.worker_id,
        where.need_id,
        before,
        limit,
    )
    orders = [replace(order_of(row), claim=await current_claim(connection, row["id"])) for row in rows]
    return Page.of(orders, limit)
