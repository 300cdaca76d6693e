"""Hand-written SQL for the ledger's write path: lock, read a snapshot, decide, append. One transaction per batch.

Locks are always taken in one global order (community chain heads by id, then accounts by id), so concurrent
batches queue but never deadlock.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg

from timebank.ledger.engine import Decision, Snapshot, StoredTransfer, decide
from timebank.ledger.model import Account, AccountFlags, Asset, NewAccount, Result, Transfer, TransferFlags

__all__ = ["ACCOUNT_COLUMNS", "account_from_row", "insert_accounts", "write_batch"]

ACCOUNT_COLUMNS = (
    "id, community_id, asset, owner_kind, owner_id, system_role, label, flags, floor, cap, debits_posted, "
    "credits_posted, debits_pending, credits_pending, version, closed, created_at"
)
_STORED_COLUMNS = (
    "id, debit_account_id, credit_account_id, amount, code, flags, pending_id, timeout_at, reverses_id, "
    "ref_type, ref_id, policy_version, memo, created_at"
)
_TRANSFER_COLUMNS = (
    "id",
    "community_id",
    "asset",
    "debit_account_id",
    "credit_account_id",
    "amount",
    "code",
    "flags",
    "pending_id",
    "timeout_at",
    "reverses_id",
    "ref_type",
    "ref_id",
    "policy_version",
    "memo",
    "debit_version",
    "debit_posted_after",
    "debit_pending_after",
    "credit_version",
    "credit_posted_after",
    "credit_pending_after",
    "created_at",
)
_NIL = uuid.UUID(int=0)


def account_from_row(row: asyncpg.Record) -> Account:
    return Account(
        id=row["id"],
        community_id=row["community_id"],
        asset=Asset(row["asset"]),
        owner_kind=row["owner_kind"],
        owner_id=row["owner_id"],
        system_role=row["system_role"],
        label=row["label"],
        flags=AccountFlags(row["flags"]),
        floor=row["floor"],
        cap=row["cap"],
        debits_posted=row["debits_posted"],
        credits_posted=row["credits_posted"],
        debits_pending=row["debits_pending"],
        credits_pending=row["credits_pending"],
        version=row["version"],
        closed=row["closed"],
        created_at=row["created_at"],
    )


def _stored_from_row(row: asyncpg.Record) -> StoredTransfer:
    return StoredTransfer(
        id=row["id"],
        debit_account_id=row["debit_account_id"],
        credit_account_id=row["credit_account_id"],
        amount=row["amount"],
        code=row["code"],
        flags=TransferFlags(row["flags"]),
        pending_id=row["pending_id"],
        timeout_at=row["timeout_at"],
        reverses_id=row["reverses_id"],
        ref_type=row["ref_type"],
        ref_id=row["ref_id"],
        policy_version=row["policy_version"],
        memo=row["memo"],
        created_at=row["created_at"],
    )


async def insert_accounts(connection: asyncpg.Connection, accounts: Sequence[NewAccount]) -> list[uuid.UUID]:
    """Open accounts (and their communities' chain heads); returns the ids that were new."""
    await connection.execute(
        "INSERT INTO ledger_chain_head (community_id) SELECT DISTINCT unnest($1::uuid[]) ON CONFLICT DO NOTHING",
        [a.community_id for a in accounts],
    )
    rows = await connection.fetch(
        """
        INSERT INTO ledger_account
            (id, community_id, asset, owner_kind, owner_id, system_role, label, flags, floor, cap)
        SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::smallint[], $4::text[], $5::uuid[], $6::text[], $7::text[],
                             $8::smallint[], $9::bigint[], $10::bigint[])
        ON CONFLICT (id) DO NOTHING
        RETURNING id
        """,
        [a.id for a in accounts],
        [a.community_id for a in accounts],
        [int(a.asset) for a in accounts],
        [a.owner_kind for a in accounts],
        [a.owner_id for a in accounts],
        [a.system_role for a in accounts],
        [a.label for a in accounts],
        [int(a.flags) for a in accounts],
        [a.floor for a in accounts],
        [a.cap for a in accounts],
    )
    return [row["id"] for row in rows]


async def _snapshot(connection: asyncpg.Connection, transfers: Sequence[Transfer]) -> Snapshot:
    ids = [t.id for t in transfers]
    targets = list({ref for t in transfers for ref in (t.pending_id, t.reverses_id) if ref is not None})
    target_rows = (
        await connection.fetch(f"SELECT {_STORED_COLUMNS} FROM ledger_transfer WHERE id = ANY($1::uuid[])", targets)
        if targets
        else []
    )
    account_ids = {a for t in transfers for a in (t.debit_account_id, t.credit_account_id) if a != _NIL}
    account_ids.update(a for row in target_rows for a in (row["debit_account_id"], row["credit_account_id"]))
    account_list = sorted(account_ids)
    await connection.execute(
        """
        SELECT 1 FROM ledger_chain_head
        WHERE community_id IN (SELECT community_id FROM ledger_account WHERE id = ANY($1::uuid[]))
        ORDER BY community_id FOR UPDATE
        """,
        account_list,
    )
    account_rows = await connection.fetch(
        f"SELECT {ACCOUNT_COLUMNS} FROM ledger_account WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE",
        account_list,
    )
    # Read after the locks: whatever committed before them (a resolution, a retry of the same id) is visible.
    stored_rows = await connection.fetch(
        f"SELECT {_STORED_COLUMNS} FROM ledger_transfer WHERE id = ANY($1::uuid[])", ids
    )
    failure_rows = await connection.fetch(
        "SELECT id, result FROM ledger_transfer_failure WHERE id = ANY($1::uuid[])", ids
    )
    resolution_rows = (
        await connection.fetch(
            """
            SELECT pending_id AS target, flags FROM ledger_transfer WHERE pending_id = ANY($1::uuid[])
            UNION ALL
            SELECT reverses_id, -1 FROM ledger_transfer WHERE reverses_id = ANY($1::uuid[])
            """,
            targets,
        )
        if targets
        else []
    )
    now = await connection.fetchval("SELECT clock_timestamp()")
    stored = {row["id"]: _stored_from_row(row) for row in (*target_rows, *stored_rows)}
    return Snapshot(
        now=now,
        accounts={row["id"]: account_from_row(row) for row in account_rows},
        transfers=stored,
        resolved={
            row["target"]: TransferFlags(row["flags"]) & (TransferFlags.post_pending | TransferFlags.void_pending)
            for row in resolution_rows
            if row["flags"] >= 0
        },
        reversed={row["target"] for row in resolution_rows if row["flags"] < 0},
        failures={row["id"]: Result(row["result"]) for row in failure_rows},
    )


async def write_batch(connection: asyncpg.Connection, transfers: Sequence[Transfer]) -> list[Result]:
    """Decide and append one batch inside the caller's transaction; returns one result per transfer, in order."""
    snapshot = await _snapshot(connection, transfers)
    decision: Decision = decide(list(transfers), snapshot)
    if decision.planned:
        now = snapshot.now
        await connection.copy_records_to_table(
            "ledger_transfer",
            columns=_TRANSFER_COLUMNS,
            records=[
                (
                    p.transfer.id, p.community_id, p.asset, p.debit_account_id, p.credit_account_id, p.amount,
                    p.transfer.code, int(p.transfer.flags), p.transfer.pending_id, p.timeout_at,
                    p.transfer.reverses_id, p.transfer.ref_type, p.transfer.ref_id, p.transfer.policy_version,
                    p.transfer.memo, p.debit_version, p.debit_posted_after, p.debit_pending_after, p.credit_version,
                    p.credit_posted_after, p.credit_pending_after, now,
                )
                for p in decision.planned
            ],
        )  # fmt: skip
    if decision.failures:
        await connection.executemany(
            "INSERT INTO ledger_transfer_failure (id, result, request_hash) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            [(t.id, int(result), t.request_hash()) for t, result in decision.failures],
        )
    return decision.results
