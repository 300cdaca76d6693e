"""Staff review of micro-wishes (微心愿): verify the need and the value cap, then publish it to the wish pool.

Verifying publishes the wish and opens its order for claiming (by a member or a unit, alone or as a group) until the
policy's claim window ends. The database refuses a published wish that no one verified.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from timebank.access.principal import Principal
from timebank.community import audit
from timebank.errors import NotFound
from timebank.marketplace import acting
from timebank.marketplace.errors import OrderNotInState, WishOverValueCap
from timebank.marketplace.model import NeedKind, NeedStatus, OrderMode
from timebank.marketplace.needs import NeedView, get_need
from timebank.marketplace.order_store import Order
from timebank.marketplace.orders import NewOrder, place_order
from timebank.marketplace.policy import policy_at

__all__ = ["reject_wish", "verify_wish", "wish_order_id"]

_NAMESPACE = uuid.UUID("9c3f2e71-4d8a-5b06-a1e7-3f5c0d2b8e94")


def wish_order_id(need_id: uuid.UUID) -> uuid.UUID:
    """The id of the order a verified wish opens: derived, so verifying twice opens one order."""
    return uuid.uuid5(_NAMESPACE, f"{need_id}/order")


async def _lock_wish(connection: asyncpg.Connection, actor: Principal, need_id: uuid.UUID) -> asyncpg.Record:
    row = await connection.fetchrow(
        "SELECT community_id, kind, status, value_yuan FROM need WHERE id = $1 FOR UPDATE", need_id
    )
    if row is None or row["kind"] != NeedKind.micro_wish:
        raise NotFound("no such micro-wish", need_id=str(need_id))
    acting.require(acting.can_dispatch(actor, row["community_id"]), "staff and branch secretaries review wishes")
    return row


async def verify_wish(
    connection: asyncpg.Connection,
    actor: Principal,
    need_id: uuid.UUID,
    *,
    note: str = "",
    accept_by: datetime | None = None,
) -> tuple[NeedView, Order]:
    """Verify a wish and publish it, opening its order for claiming; verifying again returns the same.

    Raises:
        WishOverValueCap: the wish is worth more than the policy in force allows.
        OrderNotInState: the wish was rejected or withdrawn.
    """
    wish = await _lock_wish(connection, actor, need_id)
    if wish["status"] == NeedStatus.pending_review:
        now: datetime = await connection.fetchval("SELECT now()")
        policy = await policy_at(connection, wish["community_id"], now)
        if wish["value_yuan"] > policy.wish_value_cap_yuan:
            raise WishOverValueCap(
                f"a micro-wish is worth at most ¥{policy.wish_value_cap_yuan}",
                field="value_yuan",
                cap=policy.wish_value_cap_yuan,
                policy_version=policy.version,
            )
        await connection.execute(
            """
            UPDATE need SET status = 'published', reviewed_by = $2, reviewed_at = now(), review_note = $3
            WHERE id = $1
            """,
            need_id,
            actor.person_id,
            note,
        )
        await audit.record(
            connection, actor, community_id=wish["community_id"], action="verify", entity="need", entity_id=need_id,
            before={"status": wish["status"]}, after={"status": "published", "note": note},
        )  # fmt: skip
    elif wish["status"] in (NeedStatus.rejected, NeedStatus.withdrawn):
        raise OrderNotInState(f"the wish is {wish['status']}", status=wish["status"])
    new = NewOrder(id=wish_order_id(need_id), need_id=need_id, mode=OrderMode.open, accept_by=accept_by)
    order, _ = await place_order(connection, actor, new)
    return await get_need(connection, actor, need_id), order


async def reject_wish(connection: asyncpg.Connection, actor: Principal, need_id: uuid.UUID, *, note: str) -> NeedView:
    """Turn a wish down (not a real need, over the cap, a duplicate); rejecting twice is a no-op."""
    wish = await _lock_wish(connection, actor, need_id)
    if wish["status"] != NeedStatus.rejected:
        if wish["status"] != NeedStatus.pending_review:
            raise OrderNotInState(f"the wish is {wish['status']}; only a wish under review is rejected")
        await connection.execute(
            """
            UPDATE need SET status = 'rejected', reviewed_by = $2, reviewed_at = now(), review_note = $3
            WHERE id = $1
            """,
            need_id,
            actor.person_id,
            note,
        )
        await audit.record(
            connection, actor, community_id=wish["community_id"], action="reject", entity="need", entity_id=need_id,
            before={"status": wish["status"]}, after={"status": "rejected", "note": note},
        )  # fmt: skip
    return await get_need(connection, actor, need_id)
