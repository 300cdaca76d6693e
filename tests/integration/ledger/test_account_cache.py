"""Plain batches decided on the accounts a service remembers, without a read, answer as a fresh read would.

``other`` plays a second process of the app: its writes move accounts behind the back of ``ledger``'s memory.
"""

from __future__ import annotations

import uuid

import pytest

from tests.integration.ledger.support import (
    check_books,
    counters_of,
    open_funded,
    person_account,
    post,
    transfer,
)
from timebank.ledger import Code, LedgerService, Result, Transfer, TransferFlags
from timebank.ledger import store as ledger_store
from timebank.ledger.account_cache import AccountCache
from timebank.ledger.engine import Decision, Snapshot


class Spy:
    """Counts the reads and the decisions of the ledger's write path."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.reads = 0
        self.decided: list[list[Transfer]] = []
        read, decide = ledger_store._snapshot, ledger_store.decide

        async def reading(*args: object, **kwargs: object) -> Snapshot:
            self.reads += 1
            return await read(*args, **kwargs)  # type: ignore[arg-type]

        def deciding(transfers: list[Transfer], snapshot: Snapshot) -> Decision:
            self.decided.append(transfers)
            return decide(transfers, snapshot)

        monkeypatch.setattr(ledger_store, "_snapshot", reading)
        monkeypatch.setattr(ledger_store, "decide", deciding)


@pytest.fixture(name="fresh")
def fx_fresh(ledger: LedgerService) -> LedgerService:
    """A service with a memory of its own (the session's ledger fixture is shared by every test)."""
    return LedgerService(ledger.pool)


@pytest.fixture(name="spy")
def fx_spy(monkeypatch: pytest.MonkeyPatch) -> Spy:
    return Spy(monkeypatch)


async def test_a_second_batch_on_the_same_accounts_is_decided_without_a_read(fresh: LedgerService, spy: Spy) -> None:
    issuer, member = await open_funded(fresh, 100)
    assert spy.reads == 1  # the funding: the accounts were not known yet
    assert await fresh.create_transfers([transfer(member, issuer, 30), transfer(member, issuer, 80)]) == [
        Result.ok,
        Result.exceeds_credits,
    ]
    assert spy.reads == 1
    assert await counters_of(fresh, member) == [(30, 100, 0, 0, 2)]
    await check_books(fresh.pool, issuer.community_id)


async def test_posts_voids_and_reversals_are_still_decided_on_a_read(fresh: LedgerService, spy: Spy) -> None:
    issuer, member = await open_funded(fresh, 100)
    hold = transfer(member, issuer, 40, flags=TransferFlags.pending)
    assert await fresh.create_transfers([hold]) == [Result.ok]
    reads = spy.reads
    assert await fresh.create_transfers([post(hold, 25)]) == [Result.ok]
    assert spy.reads == reads + 1
    assert await counters_of(fresh, member) == [(25, 100, 0, 0, 3)]


async def test_a_spend_elsewhere_makes_a_remembered_balance_too_high(fresh: LedgerService, spy: Spy) -> None:
    issuer, member = await open_funded(fresh, 100)
    other = LedgerService(fresh.pool)
    assert await other.create_transfers([transfer(member, issuer, 50)]) == [Result.ok]

    # Remembered: 100, so 80 fits; committed: 50, so it does not. The write refuses, and decided again it is refused.
    batch = [transfer(member, issuer, 80)]
    assert await fresh.create_transfers(batch) == [Result.exceeds_credits]
    assert sum(decided == batch for decided in spy.decided) == 2
    assert (await fresh.get_account(member.id)).posted == 50
    await check_books(fresh.pool, issuer.community_id)


async def test_funding_elsewhere_makes_a_remembered_refusal_wrong(fresh: LedgerService, spy: Spy) -> None:
    issuer, member = await open_funded(fresh, 10)
    other = LedgerService(fresh.pool)
    assert await other.create_transfers([transfer(issuer, member, 100, code=Code.issuance)]) == [Result.ok]

    batch = [transfer(member, issuer, 50)]
    assert await fresh.create_transfers(batch) == [Result.ok]
    assert sum(decided == batch for decided in spy.decided) == 2
    assert (await fresh.get_account(member.id)).posted == 60
    await check_books(fresh.pool, issuer.community_id)


async def test_moves_elsewhere_that_change_no_answer_carry_the_entries_on(fresh: LedgerService, spy: Spy) -> None:
    issuer, member = await open_funded(fresh, 100)
    other = LedgerService(fresh.pool)
    for _ in range(3):
        assert await other.create_transfers([transfer(issuer, member, 5, code=Code.issuance)]) == [Result.ok]

    # Remembered at version 1 and 100; the write finds version 4 and 115, and numbers the entries from there.
    batch = [transfer(member, issuer, 20), transfer(issuer, member, 1, code=Code.issuance)]
    reads = spy.reads
    assert await fresh.create_transfers(batch) == [Result.ok, Result.ok]
    assert spy.reads == reads
    assert sum(decided == batch for decided in spy.decided) == 1
    assert await counters_of(fresh, member) == [(20, 116, 0, 0, 6)]
    await check_books(fresh.pool, issuer.community_id)

    # What the write found is remembered: the next batch is exact from the start, without a read.
    assert await fresh.create_transfers([transfer(member, issuer, 96), transfer(member, issuer, 1)]) == [
        Result.ok,
        Result.exceeds_credits,
    ]
    assert spy.reads == reads
    assert (await fresh.get_account(member.id)).posted == 0


async def test_an_account_closed_elsewhere_refuses(fresh: LedgerService) -> None:
    issuer, member = await open_funded(fresh, 100)
    await LedgerService(fresh.pool).close_account(member.id)

    # Remembered open, the payment would be inserted; the write finds the account closed and it is decided again.
    assert await fresh.create_transfers([transfer(issuer, member, 1, code=Code.issuance)]) == [Result.account_closed]
    assert (await fresh.get_account(member.id)).posted == 100


async def test_a_limit_refusal_on_an_account_closed_elsewhere_says_it_is_closed(fresh: LedgerService) -> None:
    issuer, member = await open_funded(fresh, 100)
    await LedgerService(fresh.pool).close_account(member.id)

    # Remembered open with 100, 500 is refused for the limit; a fresh read would say closed, and so does the answer.
    assert await fresh.create_transfers([transfer(member, issuer, 500)]) == [Result.account_closed]


async def test_an_id_stored_elsewhere_is_answered_exists(fresh: LedgerService) -> None:
    issuer, member = await open_funded(fresh, 100)
    other = LedgerService(fresh.pool)
    stored = transfer(member, issuer, 10)
    assert await other.create_transfers([stored]) == [Result.ok]

    assert await fresh.create_transfers([stored, transfer(member, issuer, 1)]) == [Result.exists, Result.ok]
    assert await fresh.create_transfers([transfer(member, issuer, 11, id=stored.id)]) == [
        Result.exists_with_different_fields
    ]
    assert (await fresh.get_account(member.id)).posted == 89


async def test_a_refused_id_keeps_its_first_reason(fresh: LedgerService) -> None:
    issuer, member = await open_funded(fresh, 100)
    capped = person_account(issuer.community_id, cap=20)
    await fresh.open_accounts([capped])
    assert await fresh.create_transfers([transfer(issuer, capped, 20, code=Code.issuance)]) == [Result.ok]
    payment = transfer(member, capped, 10)
    assert await fresh.create_transfers([payment]) == [Result.exceeds_cap]

    # Now the capped account has room and the payer has not: decided on what the service remembers, the payment
    # would be refused for exceeding credits. It was refused for the cap, and a retry is told so.
    assert await fresh.create_transfers([transfer(capped, issuer, 20), transfer(member, issuer, 95)]) == [
        Result.ok,
        Result.ok,
    ]
    assert await fresh.create_transfers([payment]) == [Result.exceeds_cap]
    assert await fresh.create_transfers([transfer(member, capped, 10)]) == [Result.exceeds_credits]


async def test_a_full_cache_starts_over_and_reads_again(ledger: LedgerService) -> None:
    cache = AccountCache(max_accounts=2)
    community = uuid.uuid4()
    accounts = [person_account(community) for _ in range(3)]
    opened = await ledger.open_accounts(accounts)
    for account in opened[:2]:
        cache.committed(account, read=(0, 0, 0, 0, 0), found=(1, 0, 5, 0, 0))
    assert len(cache) == 2
    cache.committed(opened[2], read=(0, 0, 0, 0, 0), found=(1, 0, 5, 0, 0))
    assert len(cache) == 1
    assert cache.snapshot([transfer(accounts[0], accounts[2], 1)]) is None
    snapshot = cache.snapshot([transfer(accounts[2], accounts[2], 1)])
    assert snapshot is not None
    assert snapshot.accounts[accounts[2].id].credits_posted == 5
    # An older state never replaces a newer one.
    cache.committed(opened[2], read=(0, 0, 0, 0, 0), found=(0, 0, 0, 0, 0))
    assert cache.snapshot([transfer(accounts[2], accounts[2], 1)]).accounts[accounts[2].id].version == 1  # type: ignore[union-attr]
