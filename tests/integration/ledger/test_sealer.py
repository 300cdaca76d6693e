"""The hash chain sealed off the write path: every committed transfer lands in exactly one block, whatever races."""

from __future__ import annotations

import asyncio
import random
import uuid

from tests.integration.ledger.support import person_account, system_account, transfer
from timebank.db import Database
from timebank.ledger import Asset, Code, LedgerService, NewAccount, Result
from timebank.ledger.sealer import ChainSealer
from timebank.ledger.store import write_batch
from timebank.ledger.verify import VerifyReport, verify_ledger


async def _community(ledger: LedgerService, members: int = 6) -> tuple[uuid.UUID, NewAccount, list[NewAccount]]:
    community = uuid.uuid4()
    issuer = system_account(community, Asset.points)
    people = [person_account(community, Asset.points) for _ in range(members)]
    await ledger.open_accounts([issuer, *people])
    return community, issuer, people


async def _verify(database: Database, community: uuid.UUID) -> VerifyReport:
    async with database.pool.acquire() as connection:
        return await verify_ledger(connection, community)


async def _earn_in_batches(ledger: LedgerService, issuer: NewAccount, people: list[NewAccount], seed: int) -> int:
    rng = random.Random(seed)
    written = 0
    for _ in range(8):
        batch = [transfer(issuer, rng.choice(people), 1 + rng.randrange(5), code=Code.issuance) for _ in range(3)]
        assert await ledger.create_transfers(batch) == [Result.ok] * 3
        written += 3
    return written


async def test_sealing_while_batches_commit_seals_each_transfer_once(ledger: LedgerService, database: Database) -> None:
    community, issuer, people = await _community(ledger)
    sealer = ChainSealer(ledger.seal_pending, interval=0.005)
    await sealer.start()
    try:
        written = sum(await asyncio.gather(*(_earn_in_batches(ledger, issuer, people, seed) for seed in range(6))))
    finally:
        await sealer.stop()
    report = await _verify(database, community)
    assert report.ok, report.violations
    assert (report.transfers, report.awaiting_seal) == (written, 0)
    assert report.blocks >= 2  # sealed as the batches landed, not all at the end


async def test_racing_sealers_seal_a_queue_once(ledger: LedgerService, database: Database) -> None:
    community, issuer, people = await _community(ledger)
    written = sum(await asyncio.gather(*(_earn_in_batches(ledger, issuer, people, seed) for seed in range(3))))
    sealed = await asyncio.gather(*(ledger.seal_pending() for _ in range(4)))
    report = await _verify(database, community)
    assert report.ok, report.violations
    assert (report.transfers, report.blocks, report.awaiting_seal) == (written, 1, 0)
    assert sum(sealed) >= 1  # the other sealers found this community's queue empty (or sealed other communities')


async def test_stopping_the_sealer_seals_what_is_queued(ledger: LedgerService, database: Database) -> None:
    community, issuer, people = await _community(ledger)
    sealer = ChainSealer(ledger.seal_pending, interval=3600)
    await sealer.start()
    written = await _earn_in_batches(ledger, issuer, people, seed=1)
    assert (await _verify(database, community)).awaiting_seal == written
    await sealer.stop()
    report = await _verify(database, community)
    assert report.ok, report.violations
    assert (report.blocks, report.awaiting_seal) == (1, 0)


async def test_a_rolled_back_batch_leaves_nothing_to_seal(ledger: LedgerService, database: Database) -> None:
    community, issuer, people = await _community(ledger)
    async with database.pool.acquire() as connection:
        guard = connection.transaction()
        await guard.start()
        results = await write_batch(connection, [transfer(issuer, people[0], 5, code=Code.issuance)])
        assert results == [Result.ok]
        await guard.rollback()
    report = await _verify(database, community)
    assert report.ok, report.violations
    assert (report.transfers, report.awaiting_seal) == (0, 0)
    await ledger.seal_pending()
    assert (await _verify(database, community)).blocks == 0
