"""Planned transfers and posting them to the ledger as one linked chain (all or nothing).

Volunteering writes what it means to post (the plan) in its own transaction, then posts it, then records the
outcome. Transfer ids derive from the business record, so posting a plan again (a retry, a crash between the
steps) finds the transfers already there (``exists``) instead of crediting twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from timebank.ledger import Asset, LedgerService, Result, Transfer, TransferFlags

__all__ = ["Planned", "as_chain", "post_chain"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Planned:
    transfer_id: uuid.UUID
    asset: Asset
    debit_account_id: uuid.UUID
    credit_account_id: uuid.UUID
    amount: int
    code: int
    policy_version: int | None
    ref_type: str
    ref_id: uuid.UUID
    memo: str
    reverses_id: uuid.UUID | None = None


def as_chain(planned: Sequence[Planned]) -> list[Transfer]:
    """Ledger transfers, each linked to the next but the last, so the ledger applies all of them or none."""
    last = len(planned) - 1
    return [
        Transfer(
            id=item.transfer_id,
            debit_account_id=item.debit_account_id,
            credit_account_id=item.credit_account_id,
            amount=item.amount,
            code=item.code,
            flags=TransferFlags.linked if index < last else TransferFlags.none,
            reverses_id=item.reverses_id,
            ref_type=item.ref_type,
            ref_id=item.ref_id,
            policy_version=item.policy_version,
            memo=item.memo,
        )
        for index, item in enumerate(planned)
    ]


async def post_chain(ledger: LedgerService, planned: Sequence[Planned]) -> Result | None:
    """Post the plan; None when every transfer is in the ledger (now or before), else the result that failed it."""
    if not planned:
        return None
    results = await ledger.create_transfers(as_chain(planned))
    failures = [result for result in results if result not in (Result.ok, Result.exists)]
    if not failures:
        return None
    # In a failed chain every other transfer reports linked_event_failed; the cause is the one that does not.
    causes = [result for result in failures if result is not Result.linked_event_failed]
    return causes[0] if causes else failures[0]
