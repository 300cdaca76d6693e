"""At the counter (核销): find an order by its six digits or QR code, and hand the goods over.

Handing over posts the hold (all of it, or the part for the pieces taken, the rest released) and the goods leave
stock, in one transaction. The resident's code is checked again at hand-over, so staff cannot spend a resident's
held points without the resident present.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

import asyncpg

from timebank.access.principal import Principal
from timebank.community import audit
from timebank.errors import InvalidInput, NotFound
from timebank.rewards import points, stock
from timebank.rewards.codes import PickupCodes
from timebank.rewards.errors import PickupWindowPassed, WrongState
from timebank.rewards.model import Order, OrderStatus
from timebank.rewards.orders import get_order

__all__ = ["find_by_code", "hand_over", "pickup_code"]


def pickup_code(codes: PickupCodes, order: Order) -> tuple[str, str]:
    """The six digits and the QR payload the resident shows (only once the order is approved)."""
    return codes.code(order.id, order.code_attempt), codes.qr_payload(order.id, order.code_attempt)


async def find_by_code(
    connection: asyncpg.Connection,
    codes: PickupCodes,
    station_id: uuid.UUID,
    *,
    code: str | None = None,
    qr: str | None = None,
) -> Order:
    """The open order at ``station_id`` that the six digits or the QR payload name.

    Raises:
        InvalidInput: neither or both were given, or the QR payload is forged.
        NotFound: no open order at this station has this code.
    """
    if (code is None) == (qr is None):
        raise InvalidInput("give the six-digit code or the QR payload", field="code")
    if qr is not None:
        order_id, _ = codes.read_qr(qr)
        row = await connection.fetchrow(
            "SELECT id FROM rewards_order WHERE id = $1 AND station_id = $2 AND status IN ('placed', 'approved')",
            order_id,
            station_id,
        )
    else:
        assert code is not None
        row = await connection.fetchrow(
            """
            SELECT id FROM rewards_order
            WHERE station_id = $1 AND pickup_digest = $2 AND status IN ('placed', 'approved')
            """,
            station_id,
            codes.digest(station_id, code),
        )
    if row is None:
        raise NotFound("no open order at this station has this code", field="qr" if qr is not None else "code")
    return await get_order(connection, row["id"])


def _check_code(codes: PickupCodes, order: Order, code: str | None, qr: str | None) -> None:
    if code is not None and codes.matches(order.id, order.code_attempt, code):
        return
    if qr is not None and codes.read_qr(qr) == (order.id, order.code_attempt):
        return
    raise InvalidInput("the pickup code does not belong to this order", field="qr" if code is None else "code")


async def hand_over(
    connection: asyncpg.Connection,
    actor: Principal,
    codes: PickupCodes,
    order_id: uuid.UUID,
    *,
    code: str | None = None,
    qr: str | None = None,
    taken: Mapping[uuid.UUID, int] | None = None,
) -> Order:
    """Give the goods of an approved order; ``taken`` names pieces per item when fewer are taken (None: all).

    Points for the pieces taken are posted, the rest of the hold is released; every reserved piece is released and
    the taken ones leave stock. Repeating the same hand-over returns the order unchanged.

    Raises:
        InvalidInput: the code does not match, or ``taken`` names too many pieces or nothing at all.
        WrongState: the order is not approved (still waiting for staff, or closed).
        PickupWindowPassed: the window ended before the goods were handed over.
    """
    order = await get_order(connection, order_id, lock=True)
    _check_code(codes, order, code, qr)
    ordered = {line.item_id: line.quantity for line in order.lines}
    picked = dict(ordered) if taken is None else {item: taken.get(item, 0) for item in ordered}
    if taken is not None:
        unknown = set(taken) - set(ordered)
        if unknown:
            raise InvalidInput("the order has no such item", field="taken", item_id=str(sorted(unknown)[0]))
    if any(not 0 <= picked[item] <= ordered[item] for item in ordered):
        raise InvalidInput("more pieces taken than ordered", field="taken")
    amount = sum(picked[line.item_id] * line.unit_points for line in order.lines)
    if order.status is OrderStatus.picked_up:
        if {line.item_id: line.picked_quantity for line in order.lines} != picked:
            raise WrongState("the order was handed over already, with other quantities", field="order_id")
        return order
    if order.status is not OrderStatus.approved:
        raise WrongState(f"the order is {order.status}, not approved", field="order_id", status=str(order.status))
    if amount == 0:
        raise InvalidInput("nothing taken: cancel or reject the order instead", field="taken")
    if await connection.fetchval("SELECT $1::timestamptz <= clock_timestamp()", order.expires_at):
        raise PickupWindowPassed("the pickup window has passed; the order expires", field="order_id")
    await stock.release(connection, ordered)
    for item in sorted(picked):
        if picked[item]:
            await stock.move(
                connection,
                id=uuid.uuid5(order.id, f"out/{item}"),
                item_id=item,
                kind="redeem_out",
                quantity=-picked[item],
                ref_type=points.REF_ORDER,
                ref_id=order.id,
                actor_id=actor.person_id,
            )
    await connection.executemany(
        "UPDATE rewards_order_line SET picked_quantity = $3 WHERE order_id = $1 AND item_id = $2",
        [(order.id, item, quantity) for item, quantity in sorted(picked.items())],
    )
    await connection.execute(
        """
        UPDATE rewards_order SET status = 'picked_up', posted_points = $2, closed_at = clock_timestamp(), closed_by = $3
        WHERE id = $1
        """,
        order.id,
        amount,
        actor.person_id,
    )
    done = await get_order(connection, order.id)
    await audit.record(
        connection,
        actor,
        community_id=order.community_id,
        action="hand_over",
        entity="rewards_order",
        entity_id=order.id,
        before={"status": str(order.status)},
        after={"status": str(done.status), "posted_points": amount, "taken": {str(k): v for k, v in picked.items()}},
    )
    # The posting comes last: the ledger's lock on the community's chain then lasts only until commit.
    await points.apply(connection, [points.post(order.id, order.hold_transfer_id, amount, policy=order.policy_version)])
    return done
