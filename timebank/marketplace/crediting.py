"""What the order cycle writes to the ledger: the requester's coins held at claiming, and the close's linked chain
(the party score bonus goes through the party assessment instead: ``timebank.marketplace.party_score``).

Transfers are written on the caller's transaction, so an order changes status and pays in one commit or not at all
(and a refused transfer leaves no remembered failure behind). Transfer ids are derived from the order or claim and
the purpose, so even a replayed step can only ever have one effect.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace

import asyncpg

from timebank.community.accounts import SystemRole, account_id, system_account_id
from timebank.errors import RuleViolation
from timebank.ledger import Asset, Code, Result, Transfer, TransferFlags, write_batch
from timebank.marketplace.errors import CoinsDoNotCover
from timebank.marketplace.model import Credit

__all__ = ["REF_TYPE", "close_chain", "hold_coins", "release_hold", "transfer_id", "write"]

#: How ledger transfers name the business record behind them.
REF_TYPE = "service_order"

_NAMESPACE = uuid.UUID("2b0d6c59-7a3e-5f19-8e4c-5d1a9f0b3c72")
_ACCEPTED = (Result.ok, Result.exists)


def transfer_id(record_id: uuid.UUID, purpose: str, person_id: uuid.UUID | None = None) -> uuid.UUID:
    """The transfer id of one purpose of one order or claim (and person): the same step always has the same id."""
    return uuid.uuid5(_NAMESPACE, f"{record_id}/{purpose}/{person_id or ''}")


async def write(connection: asyncpg.Connection, transfers: Sequence[Transfer], *, what: str) -> None:
    """Append ``transfers`` on the caller's transaction; any refusal raises, so the caller's step rolls back."""
    if not transfers:
        return
    results = await write_batch(connection, transfers)
    refused = [(t, r) for t, r in zip(transfers, results, strict=True) if r not in _ACCEPTED]
    if not refused:
        return
    # A linked chain reports the transfer that failed and linked_event_failed for the rest; name the cause.
    transfer, result = next(((t, r) for t, r in refused if r is not Result.linked_event_failed), refused[0])
    if result is Result.exceeds_credits and transfer.code == Code.help_payment:
        raise CoinsDoNotCover(
            "the requester's available time coins do not cover this help", field="est_minutes", result=result.name
        )
    raise RuleViolation(f"the ledger refused {what}: {result.name}", result=result.name, transfer_id=str(transfer.id))


def hold_coins(
    *,
    community_id: uuid.UUID,
    claim_id: uuid.UUID,
    order_id: uuid.UUID,
    requester_id: uuid.UUID,
    helper_id: uuid.UUID,
    amount: int,
    policy_version: int,
) -> Transfer:
    """A hold on the requester's coins for the helper, made when a time-bank order is claimed (no timeout)."""
    return Transfer(
        id=transfer_id(claim_id, "hold"),
        debit_account_id=account_id(community_id, "person", requester_id, Asset.time_coins),
        credit_account_id=account_id(community_id, "person", helper_id, Asset.time_coins),
        amount=amount,
        code=Code.help_payment,
        flags=TransferFlags.pending,
        ref_type=REF_TYPE,
        ref_id=order_id,
        policy_version=policy_version,
    )


def release_hold(*, claim_id: uuid.UUID, hold_id: uuid.UUID, order_id: uuid.UUID, policy_version: int) -> Transfer:
    """Void a claim's hold when the claim ends without the order closing."""
    nil = uuid.UUID(int=0)
    return Transfer(
        id=transfer_id(claim_id, "release"),
        debit_account_id=nil,
        credit_account_id=nil,
        amount=0,
        code=Code.help_payment,
        flags=TransferFlags.void_pending,
        pending_id=hold_id,
        ref_type=REF_TYPE,
        ref_id=order_id,
        policy_version=policy_version,
    )


def close_chain(
    *,
    community_id: uuid.UUID,
    order_id: uuid.UUID,
    credits: Sequence[Credit],
    policy_version: int,
    hold_id: uuid.UUID | None,
    points_payer_unit: uuid.UUID | None,
) -> list[Transfer]:
    """The linked chain a closing order writes: the coin hold posted (or voided when nothing is owed), and points
    from the community's issuance (from the unit's budget when the order serves its project).

    The party score bonus is no leg of it: it counts per assessment period, by the catalogue's points and caps, so
    the party assessment scores it on the same transaction (see ``timebank.marketplace.party_score``).
    """
    transfers: list[Transfer] = []
    coins = [credit for credit in credits if credit.purpose == "coins"]
    if hold_id is not None:
        posting = coins[0].amount if coins else 0
        transfers.append(
            Transfer(
                id=transfer_id(order_id, "coins"),
                debit_account_id=uuid.UUID(int=0),
                credit_account_id=uuid.UUID(int=0),
                # A partial post releases the rest of the hold; nothing owed voids it.
                amount=posting,
                code=Code.help_payment,
                flags=TransferFlags.post_pending if posting else TransferFlags.void_pending,
                pending_id=hold_id,
                ref_type=REF_TYPE,
                ref_id=order_id,
                policy_version=policy_version,
            )
        )
    for credit in credits:
        if credit.purpose == "coins":
            continue
        if credit.asset is Asset.points and points_payer_unit is not None:
            payer = account_id(community_id, "unit", points_payer_unit, Asset.points)
        else:
            payer = system_account_id(community_id, SystemRole.issuance, credit.asset)
        transfers.append(
            Transfer(
                id=transfer_id(order_id, credit.purpose, credit.person_id),
                debit_account_id=payer,
                credit_account_id=account_id(community_id, "person", credit.person_id, credit.asset),
                amount=credit.amount,
                code=Code.order_reward,
                ref_type=REF_TYPE,
                ref_id=order_id,
                policy_version=policy_version,
            )
        )
    # All or nothing: every transfer but the last is linked to the next.
    return [
        replace(t, flags=t.flags | TransferFlags.linked) if i < len(transfers) - 1 else t
        for i, t in enumerate(transfers)
    ]
