"""The micro-batcher against the real ledger: acks mean committed, grouping never changes an outcome."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import pytest

from timebank.db import Database
from timebank.errors import InvalidInput
from timebank.ledger import AccountFlags, Asset, Code, LedgerService, NewAccount, Result, Transfer, TransferFlags
from timebank.ledger.batcher import TransferBatcher

_FUNDS = 1_000


@dataclass
class Community:
    """A fresh tenant: an issuance account without floor and users funded with ``_FUNDS`` points each."""

    issuance: uuid.UUID
    users: list[uuid.UUID]


class CountingWrite:
    """``LedgerService.create_transfers`` that records the size of every batch it was given."""

    def __init__(self, ledger: LedgerService) -> None:
        self.ledger = ledger
        self.batch_sizes: list[int] = []

    async def __call__(self, transfers: list[Transfer]) -> list[Result]:
        self.batch_sizes.append(len(transfers))
        return await self.ledger.create_transfers(transfers)


@pytest.fixture(name="ledger")
def fx_ledger(database: Database) -> LedgerService:
    return LedgerService(database.pool)


@pytest.fixture(name="community")
async def fx_community(ledger: LedgerService) -> Community:
    community_id = uuid.uuid4()
    issuance = NewAccount(
        id=uuid.uuid4(), community_id=community_id, asset=Asset.points, system_role="issuance", label="points"
    )
    users = [
        NewAccount(
            id=uuid.uuid4(),
            community_id=community_id,
            asset=Asset.points,
            owner_kind="person",
            owner_id=uuid.uuid4(),
            flags=AccountFlags.debits_must_not_exceed_credits,
        )
        for _ in range(20)
    ]
    await ledger.open_accounts([issuance, *users])
    funding = [_transfer(issuance.id, user.id, _FUNDS) for user in users]
    assert await ledger.create_transfers(funding) == [Result.ok] * len(users)
    return Community(issuance=issuance.id, users=[user.id for user in users])


@pytest.fixture(name="write")
def fx_write(ledger: LedgerService) -> CountingWrite:
    return CountingWrite(ledger)


@pytest.fixture(name="batcher")
async def fx_batcher(write: CountingWrite) -> AsyncIterator[TransferBatcher]:
    batcher = TransferBatcher(write)
    await batcher.start()
    try:
        yield batcher
    finally:
        await batcher.stop()


def _transfer(
    debit: uuid.UUID, credit: uuid.UUID, amount: int, *, flags: TransferFlags = TransferFlags.none
) -> Transfer:
    return Transfer(
        id=uuid.uuid4(), debit_account_id=debit, credit_account_id=credit, amount=amount, code=Code.gift, flags=flags
    )


async def _posted(ledger: LedgerService, account_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    return {account_id: (await ledger.get_account(account_id)).posted for account_id in account_ids}


async def test_concurrent_submits_are_all_acknowledged_and_balances_are_exact(
    batcher: TransferBatcher, write: CountingWrite, ledger: LedgerService, community: Community
) -> None:
    rng = random.Random(7)
    transfers = []
    for _ in range(500):
        debit, credit = rng.sample([community.issuance, *community.users], 2)
        transfers.append(_transfer(debit, credit, rng.randint(1, 3)))
    expected = await _posted(ledger, [community.issuance, *community.users])
    for t in transfers:
        expected[t.debit_account_id] -= t.amount
        expected[t.credit_account_id] += t.amount

    results = await asyncio.gather(*(batcher.submit(t) for t in transfers))

    assert results == [Result.ok] * 500
    assert await _posted(ledger, list(expected)) == expected
    assert sum(write.batch_sizes) == 500
    assert len(write.batch_sizes) < 50, "concurrent submits should share batches"
    assert {record.id for record in await ledger.lookup_transfers([t.id for t in transfers])} == {
        t.id for t in transfers
    }


@pytest.mark.parametrize("max_batch", [1, 1000], ids=["separate-batches", "same-batch"])
async def test_duplicate_id_submitted_concurrently_takes_effect_once(
    max_batch: int, ledger: LedgerService, community: Community
) -> None:
    payer, payee = community.users[:2]
    before = await _posted(ledger, [payer, payee])
    transfer = _transfer(payer, payee, 5)
    batcher = TransferBatcher(ledger.create_transfers, max_batch=max_batch)
    await batcher.start()
    try:
        results = await asyncio.gather(batcher.submit(transfer), batcher.submit(transfer))
    finally:
        await batcher.stop()

    assert Counter(results) == Counter({Result.ok: 1, Result.exists: 1})
    assert await _posted(ledger, [payer, payee]) == {payer: before[payer] - 5, payee: before[payee] + 5}


async def test_stop_answers_everything_submitted_before_it_returns(
    write: CountingWrite, ledger: LedgerService, community: Community
) -> None:
    release = asyncio.Event()

    async def slow_write(transfers: list[Transfer]) -> list[Result]:
        await release.wait()  # holds the first batches back so that work is still queued when stop() is called
        return await write(transfers)

    batcher = TransferBatcher(slow_write, max_batch=10)
    await batcher.start()
    transfers = [_transfer(community.issuance, user, 1) for user in community.users * 5]
    submissions = [asyncio.create_task(batcher.submit(t)) for t in transfers]
    await asyncio.sleep(0.01)  # every submission is now queued or in a held batch
    stopping = asyncio.create_task(batcher.stop())
    await asyncio.sleep(0.01)
    assert not stopping.done()
    with pytest.raises(RuntimeError, match="not running"):
        await batcher.submit(_transfer(community.issuance, community.users[0], 1))
    release.set()
    await stopping

    assert all(task.done() for task in submissions)
    assert [task.result() for task in submissions] == [Result.ok] * len(transfers)
    assert sum(write.batch_sizes) == len(transfers)
    assert max(write.batch_sizes) <= 10
    stored = await ledger.lookup_transfers([t.id for t in transfers])
    assert len(stored) == len(transfers)


async def test_submit_refuses_a_linked_transfer(batcher: TransferBatcher, community: Community) -> None:
    payer, payee = community.users[:2]
    with pytest.raises(InvalidInput) as refused:
        await batcher.submit(_transfer(payer, payee, 1, flags=TransferFlags.linked))
    assert refused.value.fields["field"] == "flags"


@pytest.mark.parametrize(
    "flags",
    [
        [TransferFlags.linked, TransferFlags.linked],  # open: would swallow the next caller's transfer
        [TransferFlags.none, TransferFlags.none],  # not a chain at all
        [TransferFlags.none, TransferFlags.linked, TransferFlags.none],  # broken in the middle
    ],
    ids=["open", "unlinked", "broken"],
)
async def test_submit_chain_refuses_anything_but_one_closed_chain(
    flags: list[TransferFlags], batcher: TransferBatcher, community: Community
) -> None:
    payer, payee = community.users[:2]
    with pytest.raises(InvalidInput) as refused:
        await batcher.submit_chain([_transfer(payer, payee, 1, flags=f) for f in flags])
    assert refused.value.fields["field"] == "flags"


async def test_submit_chain_is_all_or_nothing_and_stays_whole_among_strangers(
    write: CountingWrite, ledger: LedgerService, community: Community
) -> None:
    spender, receiver, *others = community.users
    accounts = [community.issuance, *community.users]
    before = await _posted(ledger, accounts)
    # The last leg overdraws the spender, so the whole chain must leave no trace.
    failing = [
        _transfer(spender, receiver, 600, flags=TransferFlags.linked),
        _transfer(community.issuance, spender, 10, flags=TransferFlags.linked),
        _transfer(spender, receiver, 500),
    ]
    succeeding = [
        _transfer(community.issuance, receiver, 7, flags=TransferFlags.linked),
        _transfer(receiver, spender, 7),
    ]
    strangers = [_transfer(community.issuance, user, 1) for user in others]
    # A small max_batch forces splits: a chain must move to the next batch whole rather than be cut.
    batcher = TransferBatcher(write, max_batch=4)
    await batcher.start()
    try:
        results = await asyncio.gather(
            *(batcher.submit(t) for t in strangers[:5]),
            batcher.submit_chain(failing),
            *(batcher.submit(t) for t in strangers[5:]),
            batcher.submit_chain(succeeding),
        )
    finally:
        await batcher.stop()

    assert results[5] == [Result.linked_event_failed, Result.linked_event_failed, Result.exceeds_credits]
    assert results[-1] == [Result.ok, Result.ok]
    assert [r for r in results if not isinstance(r, list)] == [Result.ok] * len(strangers)
    assert max(write.batch_sizes) <= 4
    expected = dict(before)
    for t in [*succeeding, *strangers]:
        expected[t.debit_account_id] -= t.amount
        expected[t.credit_account_id] += t.amount
    assert await _posted(ledger, accounts) == expected
    assert await ledger.lookup_transfers([t.id for t in failing]) == []


async def test_a_failed_write_fails_every_caller_of_that_batch(community: Community) -> None:
    calls = 0

    async def broken_write(transfers: list[Transfer]) -> list[Result]:
        nonlocal calls
        calls += 1
        raise ConnectionError("database went away")

    batcher = TransferBatcher(broken_write, writers=1)
    await batcher.start()
    try:
        outcomes = await asyncio.gather(
            *(batcher.submit(_transfer(community.issuance, user, 1)) for user in community.users),
            return_exceptions=True,
        )
    finally:
        await batcher.stop()

    assert all(isinstance(outcome, ConnectionError) for outcome in outcomes)
    assert calls == 1, "the 20 concurrent submissions should have formed one batch"


async def test_while_a_batch_is_written_trickling_transfers_wait_to_form_one_batch(community: Community) -> None:
    """Requests arriving one at a time (as over HTTP) are not sent on in batches of one while another batch is in
    the database: they wait until 32 have gathered, a writer comes back, or the oldest has waited 10 ms."""
    first_batch_may_finish = asyncio.Event()
    first_batch_is_written = asyncio.Event()
    sizes: list[int] = []

    async def gated_write(transfers: list[Transfer]) -> list[Result]:
        sizes.append(len(transfers))
        if len(sizes) == 1:
            first_batch_is_written.set()
            await first_batch_may_finish.wait()
        return [Result.ok] * len(transfers)

    batcher = TransferBatcher(gated_write, writers=2)
    await batcher.start()
    try:
        first = asyncio.ensure_future(batcher.submit(_transfer(community.issuance, community.users[0], 1)))
        await first_batch_is_written.wait()
        trickled = []
        for _ in range(40):  # one arrival every few event-loop turns: the free writer could take each one alone
            trickled.append(asyncio.ensure_future(batcher.submit(_transfer(community.issuance, community.users[1], 1))))
            for _ in range(3):
                await asyncio.sleep(0)
        assert sizes[0] == 1
        assert sizes[1:] == [32], "the free writer waits for 32 while the first batch is written, then takes them"
        assert sum(task.done() for task in trickled) == 32
        # The first batch is still held up: the 8 left over do not wait for it beyond their 10 ms.
        assert await asyncio.wait_for(asyncio.gather(*trickled), 1) == [Result.ok] * 40
        assert not first.done()
        first_batch_may_finish.set()
        assert await first == Result.ok
    finally:
        first_batch_may_finish.set()
        await batcher.stop()
    assert sizes == [1, 32, 8]


async def test_a_lone_transfer_is_written_at_once_when_no_batch_is_in_flight(community: Community) -> None:
    sizes: list[int] = []

    async def write(transfers: list[Transfer]) -> list[Result]:
        sizes.append(len(transfers))
        return [Result.ok] * len(transfers)

    batcher = TransferBatcher(write)
    await batcher.start()
    try:
        for user in community.users[:3]:
            assert await asyncio.wait_for(batcher.submit(_transfer(community.issuance, user, 1)), 1) == Result.ok
    finally:
        await batcher.stop()
    assert sizes == [1, 1, 1]
