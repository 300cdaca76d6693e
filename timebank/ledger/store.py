"""Hand-written SQL for the ledger's write path: lock, read a snapshot, decide, append. One transaction per batch.

Locks are always taken in one global order (accounts by id, then, in the trigger, community chain heads by id), so
concurrent batches queue but never deadlock. An optimistic batch costs two round trips: ``ledger_read_batch`` (an
unlocked read; none when the accounts are remembered, see account_cache.py) and ``ledger_write_batch`` (locks, checks
what the decisions rested on, inserts; the trigger applies and seals), each its own statement. A batch written inside
the caller's transaction reads under locks instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg

from timebank.ledger.account_cache import AccountCache
from timebank.ledger.engine import Decision, Snapshot, StoredTransfer, decide
from timebank.ledger.model import Account, AccountFlags, Asset, NewAccount, Result, Transfer, TransferFlags

__all__ = ["ACCOUNT_COLUMNS", "account_from_row", "insert_accounts", "write_batch"]

ACCOUNT_COLUMNS = (
    "id, community_id, asset, owner_kind, owner_id, system_role, label, flags, floor, cap, debits_posted, "
    "credits_posted, debits_pending, credits_pending, version, closed, created_at"
)
_NIL = uuid.UUID(int=0)
_RESOLVING = int(TransferFlags.post_pending | TransferFlags.void_pending)


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


async def insert_accounts(connection: asyncpg.Connection, accounts: Sequence[NewAccount]) -> list[uuid.UUID]:
    """Open accounts (a trigger starts their communities' chain heads); returns the ids that were new."""
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


_READ_BATCH = "SELECT * FROM ledger_read_batch($1::uuid[], $2::uuid[], $3::uuid[], $4::boolean)"
_WRITE_BATCH = "SELECT ledger_write_batch($1, $2, $3, $4, $5, $6, $7, $8)"
_ASSETS = {int(asset): asset for asset in Asset}
_ACCOUNT_FLAGS = {value: AccountFlags(value) for value in range(4)}
_TRANSFER_FLAGS = {value: TransferFlags(value) for value in range(16)}
_RESULTS = {int(result): result for result in Result}
_CLOCK, _ACCOUNT, _TRANSFER, _FAILURE, _RESOLUTION, _REVERSAL = range(6)


async def _snapshot(connection: asyncpg.Connection, transfers: Sequence[Transfer], *, lock: bool) -> Snapshot:
    """Read what deciding the batch needs, in one round trip (``ledger_read_batch``), locking the accounts if asked."""
    ids, account_ids, targets = [], set(), set()
    for t in transfers:
        ids.append(t.id)
        account_ids.add(t.debit_account_id)
        account_ids.add(t.credit_account_id)
        if t.pending_id is not None:
            targets.add(t.pending_id)
        if t.reverses_id is not None:
            targets.add(t.reverses_id)
    account_ids.discard(_NIL)
    rows = await connection.fetch(_READ_BATCH, ids, list(account_ids), list(targets), lock)
    now = None
    accounts: dict[uuid.UUID, Account] = {}
    stored: dict[uuid.UUID, StoredTransfer] = {}
    resolved: dict[uuid.UUID, TransferFlags] = {}
    reversed_ids: set[uuid.UUID] = set()
    failures: dict[uuid.UUID, Result] = {}
    for row in rows:
        kind = row[0]
        if kind == _ACCOUNT:
            accounts[row[1]] = Account(
                id=row[1], community_id=row[2], asset=_ASSETS[row[3]], owner_kind=None, owner_id=None,
                system_role=None, label="", flags=_ACCOUNT_FLAGS[row[4]], floor=row[5], cap=row[6],
                debits_posted=row[7], credits_posted=row[8], debits_pending=row[9], credits_pending=row[10],
                version=row[11], closed=row[12],
            )  # fmt: skip
        elif kind == _TRANSFER:
            stored[row[1]] = StoredTransfer(
                id=row[1], debit_account_id=row[13], credit_account_id=row[14], amount=row[15], code=row[16],
                flags=_TRANSFER_FLAGS[row[4]], pending_id=row[17], timeout_at=row[18], reverses_id=row[19],
                ref_type=row[20], ref_id=row[21], policy_version=row[22], memo=row[23], created_at=row[24],
            )  # fmt: skip
        elif kind == _FAILURE:
            failures[row[1]] = _RESULTS[row[25]]
        elif kind == _RESOLUTION:
            resolved[row[1]] = _TRANSFER_FLAGS[row[4] & _RESOLVING]
        elif kind == _REVERSAL:
            reversed_ids.add(row[1])
        else:
            now = row[24]
    assert now is not None, "ledger_read_batch returns the clock last"
    return Snapshot(
        now=now, accounts=accounts, transfers=stored, resolved=resolved, reversed=reversed_ids, failures=failures
    )


async def write_batch(
    connection: asyncpg.Connection,
    transfers: Sequence[Transfer],
    *,
    lock: bool = True,
    cache: AccountCache | None = None,
) -> list[Result]:
    """Decide one batch and append it; returns one result per transfer, in order.

    With ``lock`` (the default) the accounts are locked as they are read: call it inside a transaction (yours, to
    write other rows atomically with the transfers), and nothing can overtake the batch. Without, call it outside
    any transaction: the batch is decided on what last committed, and the write (one statement, its own
    transaction) locks the accounts and raises :class:`asyncpg.SerializationError` when one moved in a way that
    could change an answer; then decide again, with ``lock``, which cannot be overtaken.

    A ``cache`` (only without ``lock``) decides a batch of plain transfers on the accounts it remembers, skipping the
    read, and learns what each write committed (see :mod:`timebank.ledger.account_cache`).
    """
    if cache is not None and lock:
        raise ValueError("a cache only serves batches written in their own transaction (lock=False)")
    snapshot = cache.snapshot(transfers) if cache is not None else None
    if snapshot is None:
        snapshot = await _snapshot(connection, transfers, lock=lock)
    read = {
        account_id: (a.version, a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending)
        for account_id, a in snapshot.accounts.items()
    }
    decision: Decision = decide(list(transfers), snapshot)
    if decision.planned or decision.failures:
        slots = _slots(decision, read)
        locked = await connection.fetchval(_WRITE_BATCH, snapshot.now, *_write_arguments(decision, read, slots))
        if cache is not None and locked:
            for account_id, found in zip(slots, locked, strict=True):
                cache.committed(snapshot.accounts[account_id], read=read[account_id], found=found)
    return decision.results


def _slots(decision: Decision, read: dict[uuid.UUID, tuple[int, int, int, int, int]]) -> dict[uuid.UUID, int]:
    """The accounts the write locks and checks, numbered from 1: those the rows move, then those a refusal rested on."""
    slots: dict[uuid.UUID, int] = {}
    for row in decision.planned:
        slots.setdefault(row.debit_account_id, len(slots) + 1)
        slots.setdefault(row.credit_account_id, len(slots) + 1)
    for account_id in decision.exact:
        if account_id in read:
            slots.setdefault(account_id, len(slots) + 1)
    return slots


def _write_arguments(
    decision: Decision, read: dict[uuid.UUID, tuple[int, int, int, int, int]], slots: dict[uuid.UUID, int]
) -> list[object]:
    """The arguments of ``ledger_write_batch`` after ``read_at``: accounts as read, rows, their slots, failures.

    Rows and accounts go as arrays of composites (tuples): asyncpg then checks one element per row, not per field.
    """
    exact, floor_room, cap_room = decision.exact, decision.floor_room, decision.cap_room
    accounts = [
        (a, *read[a], a in exact, floor_room.get(a), cap_room.get(a))
        for a in slots
    ]  # fmt: skip
    failed = decision.failures
    return [
        accounts,
        decision.planned,
        [slots[row.debit_account_id] for row in decision.planned],
        [slots[row.credit_account_id] for row in decision.planned],
        [t.id for t, _ in failed],
        [int(result) for _, result in failed],
        [t.request_hash() for t, _ in failed],
    ]
