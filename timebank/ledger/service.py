"""The ledger's use cases: open and close accounts, create transfers (batched or grouped), read balances and history.

Every write runs in one transaction on the shared pool. Transient conflicts (a duplicate id racing in from another
batch, a batch overtaken between its read and its write) are retried here, so no caller ever sees one.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import datetime

import asyncpg
import structlog

from timebank.errors import InvalidInput, NotFound
from timebank.ledger.account_cache import AccountCache
from timebank.ledger.model import (
    MAX_BATCH,
    Account,
    Code,
    NewAccount,
    Result,
    Transfer,
    TransferFlags,
    TransferRecord,
)
from timebank.ledger.queries import balance_at, get_transfers, statement
from timebank.ledger.store import ACCOUNT_COLUMNS, account_from_row, insert_accounts, write_batch

__all__ = ["LedgerService"]

_log = structlog.get_logger("timebank.ledger")
_RETRIES = 8
_TRANSIENT = (
    asyncpg.UniqueViolationError,
    asyncpg.DeadlockDetectedError,
    asyncpg.SerializationError,
)
#: Connections being given back to the pool (tasks are kept referenced until done).
_RELEASING: set[asyncio.Task[None]] = set()
#: What the database refuses when a batch decided on an unlocked read was overtaken in a way the write cannot tell.
_OVERTAKEN = (asyncpg.CheckViolationError, asyncpg.NumericValueOutOfRangeError)


class LedgerService:
    """The only writer of balances. Give it the pool that acts as the application role."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        # What this service's own optimistic writes committed; lets a plain batch skip its read (account_cache.py).
        self.accounts_seen = AccountCache()

    # -- accounts ---------------------------------------------------------------------------------------------
    async def open_accounts(self, accounts: Sequence[NewAccount]) -> list[Account]:
        """Open accounts; reopening an existing id returns it unchanged (idempotent)."""
        if not accounts:
            return []
        async with self.pool.acquire() as connection, connection.transaction():
            await insert_accounts(connection, accounts)
            rows = await connection.fetch(
                f"SELECT {ACCOUNT_COLUMNS} FROM ledger_account WHERE id = ANY($1::uuid[])", [a.id for a in accounts]
            )
        by_id = {row["id"]: account_from_row(row) for row in rows}
        return [by_id[a.id] for a in accounts]

    async def open_accounts_in(self, connection: asyncpg.Connection, accounts: Sequence[NewAccount]) -> None:
        """Open accounts inside the caller's transaction (e.g. a person joining a community)."""
        await insert_accounts(connection, accounts)

    async def get_account(self, account_id: uuid.UUID, *, community_id: uuid.UUID | None = None) -> Account:
        row = await self.pool.fetchrow(
            f"SELECT {ACCOUNT_COLUMNS} FROM ledger_account WHERE id = $1 AND ($2::uuid IS NULL OR community_id = $2)",
            account_id,
            community_id,
        )
        if row is None:
            raise NotFound("no such account", account_id=str(account_id))
        return account_from_row(row)

    async def accounts_of_owner(self, community_id: uuid.UUID, owner_kind: str, owner_id: uuid.UUID) -> list[Account]:
        rows = await self.pool.fetch(
            f"SELECT {ACCOUNT_COLUMNS} FROM ledger_account "
            "WHERE community_id = $1 AND owner_kind = $2 AND owner_id = $3 ORDER BY asset, label",
            community_id,
            owner_kind,
            owner_id,
        )
        return [account_from_row(row) for row in rows]

    async def close_account(self, account_id: uuid.UUID) -> Account:
        """Close an account; it keeps its history but takes no new transfers. Closing twice is a no-op."""
        row = await self.pool.fetchrow(
            f"UPDATE ledger_account SET closed = true WHERE id = $1 RETURNING {ACCOUNT_COLUMNS}", account_id
        )
        if row is None:
            raise NotFound("no such account", account_id=str(account_id))
        self.accounts_seen.forget((account_id,))
        return account_from_row(row)

    # -- transfers --------------------------------------------------------------------------------------------
    async def create_transfers(self, transfers: Sequence[Transfer]) -> list[Result]:
        """Apply a batch atomically per transfer (and per linked chain); one result per transfer, in order."""
        if len(transfers) > MAX_BATCH:
            raise InvalidInput(f"a batch holds at most {MAX_BATCH} transfers", field="transfers", size=len(transfers))
        if not transfers:
            return []
        for attempt in range(1, _RETRIES + 1):
            # First decided on an unlocked read and written in one statement, which holds the account locks only
            # while it runs; if anything it rested on moved meanwhile, decided again under locks taken as it reads.
            optimistic = attempt == 1
            connection = await self.pool.acquire()
            try:
                if optimistic:
                    return await write_batch(connection, transfers, lock=False, cache=self.accounts_seen)
                async with connection.transaction():
                    return await write_batch(connection, transfers, lock=True)
            except _TRANSIENT as exc:
                if attempt == _RETRIES:
                    raise
                if optimistic:
                    self._forget_accounts(transfers)
                _log.info("ledger_batch_retried", attempt=attempt, reason=type(exc).__name__)
            except _OVERTAKEN as exc:
                # An account closed, or pushed to its bigint limit, since the unlocked read: decide under locks.
                if not optimistic:
                    raise
                self._forget_accounts(transfers)
                _log.info("ledger_batch_retried", attempt=attempt, reason=type(exc).__name__)
            finally:
                self._release(connection)
        raise AssertionError("unreachable")

    def _forget_accounts(self, transfers: Sequence[Transfer]) -> None:
        """An optimistic batch was refused: what it was decided on may be far off, so the next batch reads afresh."""
        self.accounts_seen.forget(a for t in transfers for a in (t.debit_account_id, t.credit_account_id))

    def _release(self, connection: asyncpg.Connection) -> None:
        """Give the connection back to the pool in the background.

        The batch has committed (or failed) by now; its callers need not also wait for the pool's reset round trip.
        """
        releasing = asyncio.get_running_loop().create_task(self.pool.release(connection))
        _RELEASING.add(releasing)
        releasing.add_done_callback(_RELEASING.discard)

    async def lookup_transfers(self, ids: Sequence[uuid.UUID]) -> list[TransferRecord]:
        return await get_transfers(self.pool, ids)

    async def reverse(
        self, transfer_id: uuid.UUID, *, reversal_id: uuid.UUID, memo: str | None = None, code: int = Code.reversal
    ) -> Result:
        """Reverse a posted transfer with a new transfer that names it; the original stays as it was."""
        originals = await get_transfers(self.pool, [transfer_id])
        if not originals:
            raise NotFound("no such transfer", transfer_id=str(transfer_id))
        original = originals[0]
        reversal = Transfer(
            id=reversal_id,
            debit_account_id=original.credit_account_id,
            credit_account_id=original.debit_account_id,
            amount=original.amount,
            code=code,
            reverses_id=original.id,
            ref_type=original.ref_type,
            ref_id=original.ref_id,
            policy_version=original.policy_version,
            memo=memo,
        )
        [result] = await self.create_transfers([reversal])
        return result

    async def void_expired(self, *, limit: int = 1000) -> int:
        """Void pending transfers whose timeout passed; returns how many were voided. Safe to run concurrently."""
        rows = await self.pool.fetch(
            """
            SELECT p.id FROM ledger_transfer p
            WHERE p.timeout_at IS NOT NULL AND p.timeout_at <= clock_timestamp()
              AND NOT EXISTS (SELECT 1 FROM ledger_transfer r WHERE r.pending_id = p.id)
            ORDER BY p.timeout_at, p.id LIMIT $1
            """,
            limit,
        )
        if not rows:
            return 0
        voids = [
            Transfer(
                # A deterministic id: two sweepers voiding the same hold produce one void, not two.
                id=uuid.uuid5(row["id"], "expired"),
                debit_account_id=uuid.UUID(int=0),
                credit_account_id=uuid.UUID(int=0),
                amount=0,
                code=Code.expiry,
                flags=TransferFlags.void_pending,
                pending_id=row["id"],
            )
            for row in rows
        ]
        results = await self.create_transfers(voids)
        return sum(result is Result.ok for result in results)

    # -- history ----------------------------------------------------------------------------------------------
    async def statement(
        self,
        account_id: uuid.UUID,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        after_version: int = 0,
        limit: int = 100,
    ) -> list[dict[str, object]]:
        await self.get_account(account_id)
        return await statement(
            self.pool, account_id, since=since, until=until, after_version=after_version, limit=limit
        )

    async def balance_at(self, account_id: uuid.UUID, at: datetime) -> dict[str, object]:
        await self.get_account(account_id)
        return await balance_at(self.pool, account_id, at)
