"""Goods brought back after pickup (退货): points back, goods back into stock, and the reason on record.

Returning everything an order posted at once reverses the redemption transfer itself (``reverses_id``); returning
part of it refunds the part with a transfer of its own. Either way the original posting stays as it was.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict

import asyncpg

from timebank.access.principal import Principal
from timebank.community import audit
from timebank.errors import Conflict, InvalidInput, NotFound
from timebank.rewards import points, stock
from timebank.rewards.errors import WrongState
from timebank.rewards.model import OrderStatus, Return
from timebank.rewards.orders import get_order

__all__ = ["list_returns", "return_goods"]

_COLUMNS = "id, community_id, order_id, item_id, quantity, points, reason, refund_transfer_id, actor_id, at"


async def return_goods(
    connection: asyncpg.Connection,
    actor: Principal,
    *,
    id: uuid.UUID,
    order_id: uuid.UUID,
    item_id: uuid.UUID,
    quantity: int,
    reason: str,
) -> tuple[Return, bool]:
    """Take back ``quantity`` pieces of one item of a picked-up order; idempotent by ``id``.

    Raises:
        WrongState: the order was not handed over.
        InvalidInput: more pieces than were taken and not yet returned, or no reason.
        Conflict: the return id was used for another return.
    """
    if quantity <= 0:
        raise InvalidInput("the quantity must be positive", field="quantity")
    if not reason.strip():
        raise InvalidInput("a return needs a reason", field="reason")
    order = await get_order(connection, order_id, lock=True)
    existing = await connection.fetchrow(f"SELECT {_COLUMNS} FROM rewards_return WHERE id = $1", id)
    if existing is not None:
        stored = Return(**dict(existing))
        if (stored.order_id, stored.item_id, stored.quantity, stored.reason) != (order_id, item_id, quantity, reason):
            raise Conflict("this return id was used for another return", field="id")
        return stored, False
    if order.status is not OrderStatus.picked_up:
        raise WrongState(f"only goods handed over can be returned; the order is {order.status}", field="order_id")
    line = next((line for line in order.lines if line.item_id == item_id), None)
    if line is None:
        raise NotFound("the order has no such item", field="item_id")
    if quantity > line.picked_quantity - line.returned_quantity:
        raise InvalidInput(
            "more pieces than were taken and not yet returned",
            field="quantity",
            returnable=line.picked_quantity - line.returned_quantity,
        )
    amount = quantity * line.unit_points
    nothing_returned_yet = all(other.returned_quantity == 0 for other in order.lines)
    whole = nothing_returned_yet and amount == order.posted_points
    refund = points.refund(
        order.community_id,
        order.person_id,
        id,
        amount,
        reverses=uuid.uuid5(order.id, "post") if whole else None,
        policy=order.policy_version,
        memo=reason,
    )
    await stock.move(
        connection,
        id=uuid.uuid5(id, "in"),
        item_id=item_id,
        kind="return_in",
        quantity=quantity,
        ref_type=points.REF_RETURN,
        ref_id=id,
        actor_id=actor.person_id,
        note=reason[:500],
    )
    await connection.execute(
        "UPDATE rewards_order_line SET returned_quantity = returned_quantity + $3 WHERE order_id = $1 AND item_id = $2",
        order_id,
        item_id,
        quantity,
    )
    row = await connection.fetchrow(
        f"""
        INSERT INTO rewards_return
            (id, community_id, order_id, item_id, quantity, points, reason, refund_transfer_id, actor_id)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {_COLUMNS}
        """,
        id,
        order.community_id,
        order_id,
        item_id,
        quantity,
        amount,
        reason,
        refund.id,
        actor.person_id,
    )
    done = Return(**dict(row))
    await audit.record(
        connection,
        actor,
        community_id=order.community_id,
        action="return",
        entity="rewards_order",
        entity_id=order_id,
        after={key: str(value) if isinstance(value, uuid.UUID) else value for key, value in asdict(done).items()}
        | {"at": done.at.isoformat()},
    )
    await points.apply(connection, [refund])  # last: the ledger holds the community's chain until commit
    return done, True


async def list_returns(connection: asyncpg.Connection, order_id: uuid.UUID) -> list[Return]:
    rows = await connection.fetch(f"SELECT {_COLUMNS} FROM rewards_return WHERE order_id = $1 ORDER BY at", order_id)
    return [Return(**dict(row)) for row in rows]
