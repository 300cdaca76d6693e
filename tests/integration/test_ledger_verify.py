"""`timebank ledger verify` passes on a sound ledger and names the first broken link after tampering."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from tests.conftest import _with_database
from timebank.db import Database
from timebank.ledger import AccountFlags, Asset, Code, LedgerService, NewAccount, Result, Transfer, TransferFlags
from timebank.ledger.verify import verify_ledger


@pytest.fixture(name="scratch")
async def fx_scratch(server_url: str) -> AsyncIterator[tuple[str, LedgerService, uuid.UUID]]:
    """A database of its own, since this test edits history on purpose."""
    name = f"timebank_tamper_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = _with_database(server_url, name)
    database = Database(url)
    await database.migrate_forwards()
    await database.open()
    community = uuid.uuid4()
    try:
        yield url, LedgerService(database.pool), community
    finally:
        await database.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def _workload(ledger: LedgerService, community: uuid.UUID) -> list[Transfer]:
    issuance, alice, bob = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await ledger.open_accounts(
        [
            NewAccount(id=issuance, community_id=community, asset=Asset.points, system_role="issuance"),
            *(
                NewAccount(
                    id=account, community_id=community, asset=Asset.points, owner_kind="person",
                    owner_id=uuid.uuid4(), flags=AccountFlags.debits_must_not_exceed_credits,
                )
                for account in (alice, bob)
            ),
        ]
    )  # fmt: skip
    earn = Transfer(id=uuid.uuid4(), debit_account_id=issuance, credit_account_id=alice, amount=500, code=Code.grant)
    hold = Transfer(
        id=uuid.uuid4(), debit_account_id=alice, credit_account_id=bob, amount=200, code=Code.redemption,
        flags=TransferFlags.pending, timeout=3600,
    )  # fmt: skip
    post = Transfer(
        id=uuid.uuid4(), debit_account_id=alice, credit_account_id=bob, amount=150, code=Code.redemption,
        flags=TransferFlags.post_pending, pending_id=hold.id,
    )  # fmt: skip
    gift = Transfer(id=uuid.uuid4(), debit_account_id=alice, credit_account_id=bob, amount=50, code=Code.gift)
    assert await ledger.create_transfers([earn, hold]) == [Result.ok, Result.ok]
    assert await ledger.create_transfers([post]) == [Result.ok]
    assert await ledger.create_transfers([gift]) == [Result.ok]
    return [earn, hold, post, gift]


def _cli_verify(url: str, community: uuid.UUID) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TIMEBANK_DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "timebank", "ledger", "verify", "--community", str(community)],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


async def test_sound_ledger_verifies(scratch: tuple[str, LedgerService, uuid.UUID]) -> None:
    url, ledger, community = scratch
    await _workload(ledger, community)
    connection = await asyncpg.connect(url)
    try:
        report = await verify_ledger(connection, community)
    finally:
        await connection.close()
    assert report.ok, report.violations
    assert (report.accounts, report.transfers, report.blocks) == (3, 4, 3)
    completed = _cli_verify(url, community)
    assert completed.returncode == 0, completed.stderr
    assert "4 transfers" in completed.stdout


async def test_altered_transfer_is_named(scratch: tuple[str, LedgerService, uuid.UUID]) -> None:
    url, ledger, community = scratch
    transfers = await _workload(ledger, community)
    owner = await asyncpg.connect(url)
    try:
        # Only an owner who first disables the append-only trigger can do this; verify must still notice.
        await owner.execute("ALTER TABLE ledger_transfer DISABLE TRIGGER ledger_transfer_append_only")
        await owner.execute("UPDATE ledger_transfer SET memo = 'edited' WHERE id = $1", transfers[2].id)
        await owner.execute("ALTER TABLE ledger_transfer ENABLE TRIGGER ledger_transfer_append_only")
        seq = await owner.fetchval("SELECT seq FROM ledger_transfer WHERE id = $1", transfers[2].id)
        report = await verify_ledger(owner, community)
    finally:
        await owner.close()
    assert not report.ok
    assert report.violations[0].startswith(f"hash chain broken at community {community} block 2 (seq {seq}..{seq})")
    completed = _cli_verify(url, community)
    assert completed.returncode == 1
    assert "hash chain broken" in completed.stderr


async def test_deleted_transfer_and_forged_balance_are_found(scratch: tuple[str, LedgerService, uuid.UUID]) -> None:
    url, ledger, community = scratch
    transfers = await _workload(ledger, community)
    owner = await asyncpg.connect(url)
    try:
        await owner.execute("ALTER TABLE ledger_transfer DISABLE TRIGGER ledger_transfer_append_only")
        await owner.execute("DELETE FROM ledger_transfer WHERE id = $1", transfers[3].id)
        await owner.execute("ALTER TABLE ledger_transfer ENABLE TRIGGER ledger_transfer_append_only")
        report = await verify_ledger(owner, community)
    finally:
        await owner.close()
    assert any("disagree with its transfers" in violation for violation in report.violations)
    assert any("block 3" in violation and "holds 0 transfers" in violation for violation in report.violations)
