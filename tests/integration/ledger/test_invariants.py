"""The books balance from SQL, history is append-only even for the owner, and statements replay balances exactly."""

from __future__ import annotations

import uuid
from datetime import timedelta

import asyncpg
import pytest

from tests.integration.ledger.support import (
    NO_OVERDRAFT,
    check_books,
    counters_of,
    open_funded,
    person_account,
    post,
    system_account,
    transfer,
    void,
)
from timebank.db import Database
from timebank.ledger import Asset, Code, LedgerService, Result, TransferFlags

PENDING, LINKED = TransferFlags.pending, TransferFlags.linked


async def mixed_workload(ledger: LedgerService) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """A community that has seen every kind of transfer, refusals and a failed chain; returns it and its accounts."""
    community = uuid.uuid4()
    issuer, pool = system_account(community), system_account(community, role="pool")
    alice, bob = person_account(community), person_account(community, floor=-20)
    coins, carol = system_account(community, Asset.time_coins), person_account(community, Asset.time_coins)
    await ledger.open_accounts([issuer, pool, alice, bob, coins, carol])
    hold_1 = transfer(alice, pool, 30, flags=PENDING)
    hold_2 = transfer(bob, alice, 25, flags=PENDING)
    hold_3 = transfer(alice, bob, 10, flags=PENDING, timeout=3600)
    gift = transfer(alice, bob, 15)
    batches = [
        [transfer(issuer, alice, 100, code=Code.issuance), transfer(issuer, bob, 50, code=Code.issuance)],
        [hold_1, hold_2, hold_3, gift, transfer(coins, carol, 9, code=Code.issuance)],
        [post(hold_1, 20), void(hold_2), transfer(alice, bob, 1000)],  # the last is refused: exceeds_credits
        [transfer(bob, alice, 5, flags=LINKED), transfer(bob, pool, 500)],  # a chain that fails as a whole
        [transfer(bob, alice, 15, code=Code.reversal, reverses_id=gift.id), transfer(carol, coins, 4)],
    ]
    ok, chain_failed, refused = Result.ok, Result.linked_event_failed, Result.exceeds_credits
    expected = [[ok] * 2, [ok] * 5, [ok, ok, refused], [chain_failed, refused], [ok] * 2]
    assert [await ledger.create_transfers(batch) for batch in batches] == expected
    return community, [a.id for a in (issuer, pool, alice, bob, coins, carol)]


async def test_books_of_a_mixed_workload_balance(ledger: LedgerService) -> None:
    community, (issuer, pool, alice, bob, coins, carol) = await mixed_workload(ledger)
    await check_books(ledger.pool, community)
    # And the balances are the ones the workload implies, not just self-consistent ones.
    balances = {a: await ledger.get_account(a) for a in (issuer, pool, alice, bob, coins, carol)}
    assert balances[alice].posted == 100 - 20 - 15 + 15
    assert (balances[alice].debits_pending, balances[alice].credits_pending) == (10, 0)
    assert balances[bob].posted == 50 + 15 - 15
    assert balances[pool].posted == 20
    assert (balances[carol].posted, balances[coins].posted) == (5, -5)


async def test_app_role_cannot_rewrite_history_or_counters(ledger: LedgerService, database: Database) -> None:
    _, member = await open_funded(ledger, 10)
    [entry] = await ledger.statement(member.id)
    app = database.pool
    for statement in (
        "UPDATE ledger_transfer SET amount = amount + 1 WHERE id = $1",
        "DELETE FROM ledger_transfer WHERE id = $1",
        "DELETE FROM ledger_transfer_failure WHERE id = $1",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await app.execute(statement, entry["transfer_id"])
    for column in ("debits_posted", "credits_posted", "debits_pending", "credits_pending", "version"):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await app.execute(f"UPDATE ledger_account SET {column} = 0 WHERE id = $1", member.id)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await app.execute("TRUNCATE ledger_transfer")
    assert (await ledger.get_account(member.id)).posted == 10


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_transfer SET amount = amount + 1 WHERE id = $1",
        "DELETE FROM ledger_transfer WHERE id = $1",
        "TRUNCATE ledger_transfer CASCADE",
        "UPDATE ledger_seal s SET hash = '' FROM ledger_transfer t WHERE t.id = $1 AND s.community_id = t.community_id",
    ],
    ids=["update", "delete", "truncate", "rewrite-seal"],
)
async def test_even_the_owner_cannot_rewrite_history(ledger: LedgerService, database_url: str, statement: str) -> None:
    _, member = await open_funded(ledger, 10)
    [entry] = await ledger.statement(member.id)
    owner = await asyncpg.connect(database_url)  # the superuser that owns the tables
    try:
        assert await owner.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        # Inside a transaction that is always rolled back, so a missing guard cannot wipe other tests' rows.
        guard = owner.transaction()
        await guard.start()
        try:
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
                await owner.execute(statement, *([entry["transfer_id"]] if "$1" in statement else []))
        finally:
            await guard.rollback()
    finally:
        await owner.close()
    assert await ledger.lookup_transfers([entry["transfer_id"]])


# A transfer row written by hand, code 3 (gift), created now.
DIRECT_INSERT = (
    "INSERT INTO ledger_transfer (id, community_id, asset, debit_account_id, credit_account_id, amount, flags, "
    "pending_id, debit_version, debit_posted_after, debit_pending_after, credit_version, credit_posted_after, "
    "credit_pending_after, code, created_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 3, now())"
)


async def insert_directly(database: Database, *values: object) -> None:
    """Insert one row as the application role, bypassing the engine; rolled back even when the database takes it."""
    async with database.pool.acquire() as connection:
        guard = connection.transaction()
        await guard.start()
        try:
            await connection.execute(DIRECT_INSERT, uuid.uuid4(), *values)
        finally:
            await guard.rollback()


async def test_inconsistent_rows_inserted_directly_are_refused(ledger: LedgerService, database: Database) -> None:
    issuer, member = await open_funded(ledger, 10)
    head = (issuer.community_id, int(Asset.points))
    pay_5 = (*head, issuer.id, member.id, 5, 0, None)
    # Versions that skip one, and running balances that are not what the counters become.
    for entries in ((3, -15, 0, 3, 15, 0), (2, -15, 0, 2, 99, 0)):
        with pytest.raises(asyncpg.CheckViolationError):
            await insert_directly(database, *pay_5, *entries)
    # Overdrawing a member who may not overdraw, with otherwise consistent entries.
    with pytest.raises(asyncpg.CheckViolationError):
        await insert_directly(database, *head, member.id, issuer.id, 11, 0, None, 2, -1, 0, 2, 1, 0)
    # The control: the same statement with consistent entries is taken (then rolled back).
    await insert_directly(database, *pay_5, 2, -15, 0, 2, 15, 0)
    assert (await ledger.get_account(member.id)).version == 1


async def test_post_larger_than_its_hold_inserted_directly_is_refused(
    ledger: LedgerService, database: Database
) -> None:
    # BUG (defence in depth): the migration promises the database keeps the books straight "whatever the application
    # does", but the trigger never checks a post against its hold: a post of 1000 against a hold of 10 is accepted
    # (and a void may name a transfer that is no hold, or a hold on other accounts).
    issuer, member = await open_funded(ledger, 0)
    hold = transfer(issuer, member, 10, flags=PENDING)
    assert await ledger.create_transfers([hold]) == [Result.ok]
    post_1000 = (issuer.community_id, int(Asset.points), issuer.id, member.id, 1000, int(TransferFlags.post_pending))
    with pytest.raises(asyncpg.PostgresError):
        await insert_directly(database, *post_1000, hold.id, 2, -1000, 0, 2, 1000, 0)


async def test_closed_account_takes_no_transfers_either_way(ledger: LedgerService) -> None:
    issuer, member = await open_funded(ledger, 50)
    await ledger.close_account(member.id)
    assert (await ledger.close_account(member.id)).closed  # closing twice is a no-op
    before = await counters_of(ledger, issuer, member)
    results = await ledger.create_transfers([transfer(member, issuer, 5), transfer(issuer, member, 5)])
    assert results == [Result.account_closed, Result.account_closed]
    assert await counters_of(ledger, issuer, member) == before
    # Its history is kept.
    assert [entry["posted_after"] for entry in await ledger.statement(member.id)] == [50]


async def test_statement_pages_entries_in_version_order_with_running_balances(ledger: LedgerService) -> None:
    issuer, member = await open_funded(ledger, 0, floor=-100)
    moves = [40, -15, 7, -60, 3, 25, -1]  # what reaches the member in each transfer (negative: it pays)
    for amount in moves:
        debit, credit = (issuer, member) if amount > 0 else (member, issuer)
        assert await ledger.create_transfers([transfer(debit, credit, abs(amount))]) == [Result.ok]

    pages, after = [], 0
    while page := await ledger.statement(member.id, after_version=after, limit=3):
        pages.append(page)
        after = page[-1]["version"]
    assert [len(page) for page in pages] == [3, 3, 1]
    entries = [entry for page in pages for entry in page]
    assert [e["version"] for e in entries] == list(range(1, len(moves) + 1))
    assert [e["side"] for e in entries] == ["credit" if m > 0 else "debit" for m in moves]
    assert [e["amount"] for e in entries] == [abs(m) for m in moves]
    assert [e["counterparty_id"] for e in entries] == [issuer.id] * len(moves)
    running = [sum(moves[: i + 1]) for i in range(len(moves))]
    assert [e["posted_after"] for e in entries] == running
    assert (await ledger.get_account(member.id)).posted == running[-1]


async def test_balance_at_replays_the_balance_as_of_a_moment(ledger: LedgerService) -> None:
    issuer, member = await open_funded(ledger, 0, flags=NO_OVERDRAFT)
    first, second = transfer(issuer, member, 30), transfer(member, issuer, 12, flags=PENDING)
    for t in (first, second):
        assert await ledger.create_transfers([t]) == [Result.ok]
    first_at, second_at = (r.created_at for r in await ledger.lookup_transfers([first.id, second.id]))
    assert first_at < second_at

    before = await ledger.balance_at(member.id, first_at - timedelta(microseconds=1))
    assert (before["version"], before["posted"], before["pending"]) == (0, 0, 0)
    at_first = await ledger.balance_at(member.id, first_at)
    assert (at_first["version"], at_first["posted"], at_first["pending"]) == (1, 30, 0)
    later = await ledger.balance_at(member.id, second_at + timedelta(hours=1))
    assert (later["version"], later["posted"], later["pending"]) == (2, 30, -12)
