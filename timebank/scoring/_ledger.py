"""Where the assessment meets the ledger: period accounts and score transfers, on the caller's transaction.

Score records and their transfers commit together or not at all, so transfers are written with the ledger's
in-transaction batch writer rather than through ``LedgerService`` (which opens a transaction of its own).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg

from timebank.community.accounts import SystemRole, open_accounts, system_account_id
from timebank.ledger import AccountFlags, Asset, NewAccount, Result, Transfer, write_batch
from timebank.scoring.errors import ScoreRefused
from timebank.scoring.ids import period_account_id

__all__ = ["close_period_accounts", "issuance_account", "lock_ledger", "open_period_accounts", "post_transfers"]

#: The owner kind of a member's per-period score account; its label is the period's name.
OWNER_KIND = "person_period"


async def lock_ledger(connection: asyncpg.Connection, community_id: uuid.UUID) -> None:
    """Take the community's ledger lock (its hash-chain head, which every ledger write locks first) for the rest
    of the transaction.

    Every scoring write that may post takes it before any scoring lock, so the order is always ledger, then
    period, then score card: callers that wrote ledger transfers earlier in their transaction hold it already,
    and nobody waits for it while holding a scoring lock.
    """
    locked = await connection.fetchval(
        "SELECT true FROM ledger_chain_head WHERE community_id = $1 FOR UPDATE", community_id
    )
    if not locked:  # the community has no ledger account yet: make its head, then lock it
        await connection.execute(
            "INSERT INTO ledger_chain_head (community_id) VALUES ($1) ON CONFLICT DO NOTHING", community_id
        )
        await connection.execute("SELECT 1 FROM ledger_chain_head WHERE community_id = $1 FOR UPDATE", community_id)


def issuance_account(community_id: uuid.UUID) -> uuid.UUID:
    return system_account_id(community_id, SystemRole.issuance, Asset.party_score)


async def open_period_accounts(
    connection: asyncpg.Connection,
    community_id: uuid.UUID,
    period_id: uuid.UUID,
    label: str,
    people: Sequence[uuid.UUID],
) -> None:
    """Open the community's party_score issuance account (if missing) and each member's account for the period.

    Period accounts have no floor: deductions may take a total below zero, and the rating shows it as it is.
    """
    accounts = [
        NewAccount(
            id=issuance_account(community_id),
            community_id=community_id,
            asset=Asset.party_score,
            system_role=SystemRole.issuance.value,
        ),
        *(
            NewAccount(
                id=period_account_id(community_id, period_id, person),
                community_id=community_id,
                asset=Asset.party_score,
                owner_kind=OWNER_KIND,
                owner_id=person,
                label=label,
                flags=AccountFlags.none,
            )
            for person in people
        ),
    ]
    await open_accounts(connection, accounts)


async def post_transfers(connection: asyncpg.Connection, transfers: Sequence[Transfer]) -> None:
    """Write score transfers; a replay of the same id is fine, any refusal aborts the caller's transaction."""
    if not transfers:
        return
    results = await write_batch(connection, transfers)
    for transfer, result in zip(transfers, results, strict=True):
        if result not in (Result.ok, Result.exists):
            raise ScoreRefused(
                f"the ledger refused score transfer {transfer.id}: {result.name}",
                transfer_id=str(transfer.id),
                result=result.name,
            )


async def close_period_accounts(connection: asyncpg.Connection, account_ids: Sequence[uuid.UUID]) -> None:
    """Close the period's accounts on this transaction: they keep their balances and refuse new transfers.

    ``LedgerService.close_account`` does the same on a transaction of its own; closing here keeps the period's
    status and its accounts in step.
    """
    await connection.execute("UPDATE ledger_account SET closed = true WHERE id = ANY($1::uuid[])", list(account_ids))
