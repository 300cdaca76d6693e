"""Placing orders (派单 or open for claiming), sending them elsewhere, and cancelling them.

A published need becomes one order. Staff (or a branch secretary) dispatch it to a person, a team or a partner unit,
or open it for anyone to claim before a deadline. The order starts at the compound tier when the need has a compound,
else at the community tier, and escalates when the tier's time limit (from the policy in force) runs out.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from timebank.access.principal import Principal
from timebank.community import audit
from timebank.community.accounts import account_id
from timebank.errors import Conflict, InvalidInput, NotFound, RuleViolation
from timebank.ledger import Asset
from timebank.marketplace import acting, crediting
from timebank.marketplace.errors import CoinsDoNotCover
from timebank.marketplace.model import (
    LIVE,
    ClaimantKind,
    NeedKind,
    NeedStatus,
    OrderMode,
    OrderStatus,
    Settlement,
    Tier,
)
from timebank.marketplace.order_store import Order, get_order, lock_order, move, record_event
from timebank.marketplace.policy import policy_at
from timebank.marketplace.time_bank import check_may_spend

__all__ = ["NewOrder", "cancel_order", "place_order", "redirect_order"]


@dataclass(frozen=True, slots=True, kw_only=True)
class NewOrder:
    """An order for a need; ``id`` is the client's, so a retry places it once."""

    id: uuid.UUID
    need_id: uuid.UUID
    mode: OrderMode
    assignee_kind: ClaimantKind | None = None
    assignee_id: uuid.UUID | None = None
    project_id: uuid.UUID | None = None
    accept_by: datetime | None = None


async def _check_assignee(
    connection: asyncpg.Connection,
    community_id: uuid.UUID,
    mode: OrderMode,
    kind: ClaimantKind | None,
    assignee_id: uuid.UUID | None,
) -> None:
    if (mode is OrderMode.directed) != (kind is not None and assignee_id is not None):
        raise InvalidInput("a dispatched order names its assignee; an open one does not", field="assignee_id")
    if kind is None or assignee_id is None:
        return
    found = {
        ClaimantKind.person: await acting.is_member(connection, assignee_id, community_id),
        ClaimantKind.team: kind is ClaimantKind.team
        and await connection.fetchval(
            "SELECT EXISTS (SELECT 1 FROM volunteer_team WHERE id = $1 AND community_id = $2)",
            assignee_id,
            community_id,
        ),
        ClaimantKind.unit: kind is ClaimantKind.unit
        and await connection.fetchval(
            "SELECT EXISTS (SELECT 1 FROM partner_unit WHERE id = $1 AND community_id = $2)", assignee_id, community_id
        ),
    }[kind]
    if not found:
        raise NotFound(f"the {kind.value} is not in this community", field="assignee_id")


async def _check_project(connection: asyncpg.Connection, community_id: uuid.UUID, new: NewOrder) -> None:
    if new.project_id is None:
        return
    project = await connection.fetchrow(
        """
        SELECT unit_id, status, slots, (SELECT count(*) FROM service_order o
            WHERE o.project_id = p.id AND o.status IN ('dispatched', 'open', 'accepted', 'done')) AS taken
        FROM project p WHERE id = $1 AND community_id = $2 FOR UPDATE
        """,
        new.project_id,
        community_id,
    )
    if project is None:
        raise NotFound("no such project in this community", field="project_id")
    if project["status"] != "active":
        raise RuleViolation(f"the project is {project['status']}, not active", field="project_id")
    if project["taken"] >= project["slots"]:
        raise RuleViolation("every slot of the project is taken", field="project_id", slots=project["slots"])
    if new.assignee_kind is ClaimantKind.unit and new.assignee_id != project["unit_id"]:
        raise InvalidInput("a project's orders go to its own unit", field="assignee_id")


async def place_order(connection: asyncpg.Connection, actor: Principal, new: NewOrder) -> tuple[Order, bool]:
    """Turn a published need into an order; returns it and whether it is new.

    Raises:
        Forbidden: the caller may not dispatch in this community.
        NotFound: the need, assignee or project is not in the caller's communities.
        Conflict: the need has an order already, or is not published, or the id was used for another order.
        CoinsDoNotCover: time-bank help the requester cannot pay for.
    """
    replayed = await connection.fetchrow(
        "SELECT need_id, mode, assignee_id, project_id FROM service_order WHERE id = $1", new.id
    )
    if replayed is not None:
        if tuple(replayed.values()) != (new.need_id, new.mode.value, new.assignee_id, new.project_id):
            raise Conflict("this order id was used for a different order", field="id", id=str(new.id))
        return await get_order(connection, new.id), False
    need = await connection.fetchrow(
        """
        SELECT community_id, kind, status, compound_id, settlement, requester_id, est_minutes
        FROM need WHERE id = $1 FOR UPDATE
        """,
        new.need_id,
    )
    if need is None:
        raise NotFound("no such need", field="need_id", need_id=str(new.need_id))
    community_id = need["community_id"]
    acting.require(acting.can_dispatch(actor, community_id), "staff and branch secretaries dispatch orders")
    if need["status"] != NeedStatus.published:
        raise Conflict(f"the need is {need['status']}; only a published need becomes an order", field="need_id")
    await _check_assignee(connection, community_id, new.mode, new.assignee_kind, new.assignee_id)
    await _check_project(connection, community_id, new)
    now: datetime = await connection.fetchval("SELECT now()")
    policy = await policy_at(connection, community_id, now)
    tier = Tier.compound if need["compound_id"] is not None else Tier.community
    tier_due_at = now + policy.tier_limit(tier)
    default_accept_by = now + policy.wish_claim_window if need["kind"] == NeedKind.micro_wish else tier_due_at
    accept_by = new.accept_by or default_accept_by
    if accept_by <= now:
        raise InvalidInput("the claim deadline has passed already", field="accept_by")
    if need["settlement"] == Settlement.time_bank:
        await check_may_spend(connection, community_id, need["requester_id"])
        await _check_coins(
            connection, community_id, need["requester_id"], need["est_minutes"] * policy.coins_per_minute
        )
    status = OrderStatus.dispatched if new.mode is OrderMode.directed else OrderStatus.open
    row = await connection.fetchrow(
        """
        INSERT INTO service_order (id, community_id, need_id, mode, assignee_kind, assignee_id, project_id, status,
            tier, tier_due_at, accept_by, policy_version, created_by, created_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
        RETURNING id
        """,
        new.id,
        community_id,
        new.need_id,
        new.mode.value,
        None if new.assignee_kind is None else new.assignee_kind.value,
        new.assignee_id,
        new.project_id,
        status.value,
        tier.value,
        tier_due_at,
        accept_by,
        policy.version,
        actor.person_id,
        now,
    )
    await connection.execute("UPDATE need SET status = 'ordered' WHERE id = $1", new.need_id)
    order = await get_order(connection, row["id"])
    action = "dispatch" if new.mode is OrderMode.directed else "open"
    detail = _assignment(new.mode, new.assignee_kind, new.assignee_id, accept_by)
    await record_event(connection, actor, order, action=action, from_status=None, to_status=status, detail=detail)
    await audit.record(
        connection, actor, community_id=community_id, action=action, entity="service_order", entity_id=order.id,
        after={"need_id": str(new.need_id), **detail},
    )  # fmt: skip
    return order, True


async def _check_coins(
    connection: asyncpg.Connection, community_id: uuid.UUID, requester_id: uuid.UUID, amount: int
) -> None:
    available = await connection.fetchval(
        "SELECT credits_posted - debits_posted - debits_pending FROM ledger_account WHERE id = $1",
        account_id(community_id, "person", requester_id, Asset.time_coins),
    )
    if (available or 0) < amount:
        raise CoinsDoNotCover(
            "the requester's available time coins do not cover this help",
            field="need_id",
            available=available or 0,
            needed=amount,
        )


def _assignment(
    mode: OrderMode, kind: ClaimantKind | None, assignee_id: uuid.UUID | None, accept_by: datetime
) -> dict[str, object]:
    return {
        "mode": mode.value,
        "assignee_kind": None if kind is None else kind.value,
        "assignee_id": None if assignee_id is None else str(assignee_id),
        "accept_by": accept_by.isoformat(),
    }


async def redirect_order(
    connection: asyncpg.Connection,
    actor: Principal,
    order_id: uuid.UUID,
    *,
    mode: OrderMode,
    assignee_kind: ClaimantKind | None = None,
    assignee_id: uuid.UUID | None = None,
    accept_by: datetime | None = None,
) -> Order:
    """Dispatch an unclaimed order to someone else, or open it for claiming (and move its deadline).

    Raises:
        Forbidden: the caller may not dispatch here.
        OrderNotInState: somebody holds the order already, or it is finished.
    """
    order = await lock_order(connection, order_id)
    acting.require(acting.can_dispatch(actor, order.community_id), "staff and branch secretaries dispatch orders")
    await _check_assignee(connection, order.community_id, mode, assignee_kind, assignee_id)
    now: datetime = await connection.fetchval("SELECT now()")
    deadline = accept_by or max(order.accept_by, order.tier_due_at)
    if deadline <= now:
        raise InvalidInput("the claim deadline has passed already; give a later accept_by", field="accept_by")
    status = OrderStatus.dispatched if mode is OrderMode.directed else OrderStatus.open
    detail = _assignment(mode, assignee_kind, assignee_id, deadline)
    moved = await move(
        connection,
        actor,
        order_id,
        from_states=(OrderStatus.dispatched, OrderStatus.open),
        to=status,
        action="redispatch" if mode is OrderMode.directed else "open",
        sets={
            "mode": mode.value,
            "assignee_kind": detail["assignee_kind"],
            "assignee_id": assignee_id,
            "accept_by": deadline,
        },
        detail=detail,
    )
    await audit.record(
        connection, actor, community_id=order.community_id, action="redispatch", entity="service_order",
        entity_id=order_id, before=_assignment(OrderMode(order.mode), _kind(order), order.assignee_id, order.accept_by),
        after=detail,
    )  # fmt: skip
    return moved


def _kind(order: Order) -> ClaimantKind | None:
    return None if order.assignee_kind is None else ClaimantKind(order.assignee_kind)


async def cancel_order(connection: asyncpg.Connection, actor: Principal, order_id: uuid.UUID, *, reason: str) -> Order:
    """Cancel an unfinished order; a live claim is revoked and its coin hold released.

    Staff cancel any unfinished order and the need goes back on the list; the requester (or their proxy) may cancel
    while nobody has claimed it, which withdraws the need. Cancelling twice is a no-op.
    """
    order = await lock_order(connection, order_id)
    if order.status == OrderStatus.cancelled:
        return order
    need = await connection.fetchrow("SELECT requester_id FROM need WHERE id = $1", order.need_id)
    staff = acting.can_dispatch(actor, order.community_id)
    requester = not staff and await acting.speaks_for_requester(
        connection, actor, order.community_id, need["requester_id"]
    )
    acting.require(staff or requester, "staff, or the requester before anyone claims it, cancel an order")
    allowed = (OrderStatus.dispatched, OrderStatus.open) if requester else LIVE
    # The revoked claim, the released hold and the cancel commit together.
    async with connection.transaction():
        claim = order.claim
        if claim is not None and claim.status == "live":
            await end_claim(connection, order, claim.id, status="revoked", reason=reason)
        moved = await move(
            connection,
            actor,
            order_id,
            from_states=allowed,
            to=OrderStatus.cancelled,
            action="cancel",
            stamp=("cancelled_at",),
            detail={"reason": reason},
        )
        need_status = NeedStatus.withdrawn if requester else NeedStatus.published
        await connection.execute("UPDATE need SET status = $2 WHERE id = $1", order.need_id, need_status.value)
        await audit.record(
            connection, actor, community_id=order.community_id, action="cancel", entity="service_order",
            entity_id=order_id, before={"status": order.status}, after={"status": "cancelled", "reason": reason},
        )  # fmt: skip
    return moved


async def end_claim(
    connection: asyncpg.Connection, order: Order, claim_id: uuid.UUID, *, status: str, reason: str | None
) -> None:
    """End a live claim (withdrawn by its claimer, revoked by staff) and release its coin hold."""
    hold_id = await connection.fetchval(
        """
        UPDATE order_claim SET status = $2, ended_at = now(), end_reason = $3
        WHERE id = $1 AND status = 'live' RETURNING hold_transfer_id
        """,
        claim_id,
        status,
        reason,
    )
    if hold_id is not None:
        release = crediting.release_hold(
            claim_id=claim_id, hold_id=hold_id, order_id=order.id, policy_version=order.policy_version
        )
        await crediting.write(connection, [release], what="the release of the coin hold")
