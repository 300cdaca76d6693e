"""Read-side SQL: transfers by id, account statements with running balances, and balances as of a time.

Each transfer row carries both of its entries (account version and balances after it), so history reads are index
scans on ``(account, version)`` and never recompute a balance.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from timebank.ledger.model import Asset, TransferFlags, TransferRecord

__all__ = ["balance_at", "get_transfers", "statement"]

_RECORD_COLUMNS = (
    "id, seq, community_id, asset, debit_account_id, credit_account_id, amount, code, flags, pending_id, "
    "timeout_at, reverses_id, ref_type, ref_id, policy_version, memo, debit_version, debit_posted_after, "
    "debit_pending_after, credit_version, credit_posted_after, credit_pending_after, created_at"
)


def _record(row: asyncpg.Record) -> TransferRecord:
    values = dict(row)
    values["asset"] = Asset(values["asset"])
    values["flags"] = TransferFlags(values["flags"])
    return TransferRecord(**values)


async def get_transfers(pool: asyncpg.Pool, ids: Sequence[uuid.UUID]) -> list[TransferRecord]:
    """Stored transfers among ``ids``, in the order asked; unknown ids are left out."""
    rows = await pool.fetch(f"SELECT {_RECORD_COLUMNS} FROM ledger_transfer WHERE id = ANY($1::uuid[])", list(ids))
    by_id = {row["id"]: _record(row) for row in rows}
    return [by_id[i] for i in ids if i in by_id]


_STATEMENT = """
SELECT * FROM (
    SELECT id AS transfer_id, debit_version AS version, 'debit' AS side, amount, code, flags,
           credit_account_id AS counterparty_id, debit_posted_after AS posted_after,
           debit_pending_after AS pending_after, ref_type, ref_id, memo, created_at
    FROM ledger_transfer WHERE debit_account_id = $1 AND debit_version > $2
    UNION ALL
    SELECT id, credit_version, 'credit', amount, code, flags, debit_account_id, credit_posted_after,
           credit_pending_after, ref_type, ref_id, memo, created_at
    FROM ledger_transfer WHERE credit_account_id = $1 AND credit_version > $2
) AS entry
WHERE ($3::timestamptz IS NULL OR created_at >= $3) AND ($4::timestamptz IS NULL OR created_at < $4)
ORDER BY version
LIMIT $5
"""


async def statement(
    pool: asyncpg.Pool,
    account_id: uuid.UUID,
    *,
    since: datetime | None,
    until: datetime | None,
    after_version: int,
    limit: int,
) -> list[dict[str, Any]]:
    """Entries of one account in version order with the running balance; page by passing the last version."""
    rows = await pool.fetch(_STATEMENT, account_id, after_version, since, until, limit)
    return [dict(row) for row in rows]


_BALANCE_AT = """
SELECT version, posted_after, pending_after FROM (
    (SELECT debit_version AS version, debit_posted_after AS posted_after, debit_pending_after AS pending_after
     FROM ledger_transfer WHERE debit_account_id = $1 AND created_at <= $2
     ORDER BY debit_version DESC LIMIT 1)
    UNION ALL
    (SELECT credit_version, credit_posted_after, credit_pending_after
     FROM ledger_transfer WHERE credit_account_id = $1 AND created_at <= $2
     ORDER BY credit_version DESC LIMIT 1)
) AS latest
ORDER BY version DESC LIMIT 1
"""


async def balance_at(pool: asyncpg.Pool, account_id: uuid.UUID, at: datetime) -> dict[str, Any]:
    """Balances of an account as of ``at`` (inclusive): version 0 and zeros before its first transfer."""
    row = await pool.fetchrow(_BALANCE_AT, account_id, at)
    if row is None:
        return {"version": 0, "posted": 0, "pending": 0, "at": at}
    return {"version": row["version"], "posted": row["posted_after"], "pending": row["pending_after"], "at": at}
