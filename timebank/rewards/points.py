"""The mall's postings on the ledger, written on the caller's transaction so points and goods commit together.

``LedgerService.create_transfers`` opens a transaction of its own; a hold must commit or fail with the stock it
reserves, so this module hands transfers to the ledger's batch writer on the caller's connection (as
``community.accounts`` opens accounts through the store). Every transfer id is derived from the business record
and its purpose, so a retried request has one effect.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg

from timebank.community.accounts import SystemRole, account_id, system_account_id
from timebank.errors import NotFound
from timebank.ledger import Asset, Code, Result, Transfer, TransferFlags, write_batch
from timebank.rewards.errors import NotEnoughPoints, PickupWindowPassed

__all__ = [
    "REF_DONATION",
    "REF_EXPIRY",
    "REF_ORDER",
    "REF_RETURN",
    "apply",
    "available_points",
    "expiry_void",
    "hold",
    "person_points",
    "post",
    "refund",
    "reward",
    "sink",
    "void",
]

REF_ORDER = "mall_order"
REF_RETURN = "mall_return"
REF_DONATION = "aid_donation"
REF_EXPIRY = "points_expiry"

_NIL = uuid.UUID(int=0)
_DONE = frozenset({Result.ok, Result.exists})


def person_points(community_id: uuid.UUID, person_id: uuid.UUID) -> uuid.UUID:
    return account_id(community_id, "person", person_id, Asset.points)


def sink(community_id: uuid.UUID) -> uuid.UUID:
    """Where spent points go: the community's mall sink."""
    return system_account_id(community_id, SystemRole.mall_sink, Asset.points)


def hold(
    community_id: uuid.UUID, person_id: uuid.UUID, order_id: uuid.UUID, amount: int, *, window: int, policy: int | None
) -> Transfer:
    """Points held for an order until the pickup window (``window`` seconds) ends."""
    return Transfer(
        id=uuid.uuid5(order_id, "hold"),
        debit_account_id=person_points(community_id, person_id),
        credit_account_id=sink(community_id),
        amount=amount,
        code=Code.redemption,
        flags=TransferFlags.pending,
        timeout=window,
        ref_type=REF_ORDER,
        ref_id=order_id,
        policy_version=policy,
    )


def post(order_id: uuid.UUID, hold_id: uuid.UUID, amount: int, *, policy: int | None) -> Transfer:
    """Spend ``amount`` of the hold (all of it or part; the ledger releases the rest)."""
    return Transfer(
        id=uuid.uuid5(order_id, "post"),
        debit_account_id=_NIL,
        credit_account_id=_NIL,
        amount=amount,
        code=Code.redemption,
        flags=TransferFlags.post_pending,
        pending_id=hold_id,
        ref_type=REF_ORDER,
        ref_id=order_id,
        policy_version=policy,
    )


def void(order_id: uuid.UUID, hold_id: uuid.UUID, *, policy: int | None) -> Transfer:
    """Release the whole hold (rejected or cancelled before the window ends)."""
    return Transfer(
        id=uuid.uuid5(order_id, "void"),
        debit_account_id=_NIL,
        credit_account_id=_NIL,
        amount=0,
        code=Code.redemption,
        flags=TransferFlags.void_pending,
        pending_id=hold_id,
        ref_type=REF_ORDER,
        ref_id=order_id,
        policy_version=policy,
    )


def expiry_void(hold_id: uuid.UUID) -> Transfer:
    """Release a hold whose window passed: the very transfer ``LedgerService.void_expired`` writes, so whichever
    sweeper comes second finds it done instead of writing a second void."""
    return Transfer(
        id=uuid.uuid5(hold_id, "expired"),
        debit_account_id=_NIL,
        credit_account_id=_NIL,
        amount=0,
        code=Code.expiry,
        flags=TransferFlags.void_pending,
        pending_id=hold_id,
    )


def refund(
    community_id: uuid.UUID,
    person_id: uuid.UUID,
    return_id: uuid.UUID,
    amount: int,
    *,
    reverses: uuid.UUID | None,
    policy: int | None,
    memo: str,
) -> Transfer:
    """Points back for returned goods: a reversal of the whole posted redemption, or a refund of part of it."""
    return Transfer(
        id=uuid.uuid5(return_id, "refund"),
        debit_account_id=sink(community_id),
        credit_account_id=person_points(community_id, person_id),
        amount=amount,
        code=Code.reversal,
        reverses_id=reverses,
        ref_type=REF_RETURN,
        ref_id=return_id,
        policy_version=policy,
        memo=memo[:500],
    )


def reward(
    community_id: uuid.UUID, person_id: uuid.UUID, donation_id: uuid.UUID, amount: int, *, policy: int | None
) -> Transfer:
    """Points the community issues to a resident for goods donated in kind."""
    return Transfer(
        id=uuid.uuid5(donation_id, "reward"),
        debit_account_id=system_account_id(community_id, SystemRole.issuance, Asset.points),
        credit_account_id=person_points(community_id, person_id),
        amount=amount,
        code=Code.issuance,
        ref_type=REF_DONATION,
        ref_id=donation_id,
        policy_version=policy,
    )


async def available_points(connection: asyncpg.Connection, account: uuid.UUID) -> int | None:
    available: int | None = await connection.fetchval(
        "SELECT credits_posted - debits_posted - debits_pending FROM ledger_account WHERE id = $1", account
    )
    return available


async def apply(
    connection: asyncpg.Connection, transfers: Sequence[Transfer], *, accept: frozenset[Result] = _DONE
) -> list[Result]:
    """Write ``transfers`` on the caller's transaction; a result outside ``accept`` raises the matching error.

    Raises:
        NotEnoughPoints: a hold or debit would exceed what the account has available.
        NotFound: the person has no points account in the community.
        PickupWindowPassed: the hold timed out before it was posted.
    """
    results = await write_batch(connection, transfers)
    for transfer, result in zip(transfers, results, strict=True):
        if result in accept:
            continue
        if result is Result.exceeds_credits:
            raise NotEnoughPoints(
                "not enough points available for this order",
                field="lines",
                needed=transfer.amount,
                available=await available_points(connection, transfer.debit_account_id),
            )
        if result is Result.account_not_found:
            raise NotFound("the person has no points account in this community", field="person_id")
        if result is Result.pending_expired:
            raise PickupWindowPassed("the pickup window has passed; the order expires", field="order_id")
        # Anything else means the mall built a transfer the ledger cannot take: a bug, not a client error.
        raise RuntimeError(f"ledger refused {transfer.id}: {result.name}")
    return results
