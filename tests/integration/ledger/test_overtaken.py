"""A batch decided on an unlocked read and overtaken before its write: moved on exactly, or decided again."""

from __future__ import annotations

from collections.abc import Callable

import asyncpg
import pytest

from tests.integration.ledger.support import check_books, counters_of, open_funded, person_account, transfer
from timebank.ledger import Code, LedgerService, Result, Transfer
from timebank.ledger import store as ledger_store
from timebank.ledger.account_cache import AccountCache
from timebank.ledger.engine import Decision, Snapshot


def overtake_after_deciding(
    monkeypatch: pytest.MonkeyPatch, ledger: LedgerService, cutting_in: list[Transfer]
) -> Callable[[list[Transfer]], int]:
    """Make the next batch be overtaken: ``cutting_in`` commits between its unlocked read and its write.

    Returns how often a batch was decided since (2: it was decided again). The ledger forgets the accounts it saw,
    so the batch is decided on a read (test_account_cache.py overtakes batches decided on remembered accounts).
    """
    ledger.accounts_seen = AccountCache()
    read, decide = ledger_store._snapshot, ledger_store.decide
    other = LedgerService(ledger.pool)
    decided: list[list[Transfer]] = []

    async def read_then_cut_in(connection: asyncpg.Connection, transfers: list[Transfer], *, lock: bool) -> Snapshot:
        snapshot = await read(connection, transfers, lock=lock)
        if not lock and not decided:
            monkeypatch.setattr(ledger_store, "_snapshot", read)  # only once: the other writer reads unhindered
            assert await other.create_transfers(cutting_in) == [Result.ok] * len(cutting_in)
        return snapshot

    def deciding(transfers: list[Transfer], snapshot: Snapshot) -> Decision:
        decided.append(transfers)
        return decide(transfers, snapshot)

    monkeypatch.setattr(ledger_store, "_snapshot", read_then_cut_in)
    monkeypatch.setattr(ledger_store, "decide", deciding)
    return lambda batch: sum(transfers == batch for transfers in decided)


async def test_a_payment_overtaken_by_a_spend_is_decided_again(
    ledger: LedgerService, monkeypatch: pytest.MonkeyPatch
) -> None:
    issuer, member = await open_funded(ledger, 100)
    decisions = overtake_after_deciding(monkeypatch, ledger, [transfer(member, issuer, 50)])

    # On the read 80 of 100 fits; once 50 are spent it no longer does, and the answer says so.
    batch = [transfer(member, issuer, 80)]
    assert await ledger.create_transfers(batch) == [Result.exceeds_credits]
    assert decisions(batch) == 2
    assert (await ledger.get_account(member.id)).posted == 50
    await check_books(ledger.pool, issuer.community_id)


async def test_a_refusal_overtaken_by_funding_is_decided_again(
    ledger: LedgerService, monkeypatch: pytest.MonkeyPatch
) -> None:
    issuer, member = await open_funded(ledger, 10)
    decisions = overtake_after_deciding(monkeypatch, ledger, [transfer(issuer, member, 100, code=Code.issuance)])

    # Refused on the read, but the refusal rested on a balance that changed before the write: decided again, it fits.
    batch = [transfer(member, issuer, 50)]
    assert await ledger.create_transfers(batch) == [Result.ok]
    assert decisions(batch) == 2
    assert (await ledger.get_account(member.id)).posted == 60


async def test_entries_move_on_when_the_accounts_moved_harmlessly(
    ledger: LedgerService, monkeypatch: pytest.MonkeyPatch
) -> None:
    issuer, member = await open_funded(ledger, 100)
    other = person_account(issuer.community_id)
    await ledger.open_accounts([other])
    decisions = overtake_after_deciding(
        monkeypatch, ledger, [transfer(issuer, member, 5, code=Code.issuance), transfer(issuer, other, 7)]
    )
    before = await counters_of(ledger, issuer, member)

    # Room enough either way: written as decided, its entries numbered after the two that cut in.
    batch = [transfer(member, issuer, 30), transfer(issuer, member, 1, code=Code.issuance)]
    assert await ledger.create_transfers(batch) == [Result.ok, Result.ok]
    assert decisions(batch) == 1
    issuer_after, member_after = await counters_of(ledger, issuer, member)
    assert member_after[4] == before[1][4] + 3
    assert issuer_after[4] == before[0][4] + 4
    records = await ledger.lookup_transfers([t.id for t in batch])
    assert [(r.debit_version, r.credit_version) for r in records] == [
        (before[1][4] + 2, before[0][4] + 3),
        (before[0][4] + 4, before[1][4] + 3),
    ]
    assert [r.debit_posted_after for r in records] == [100 + 5 - 30, -(100 + 5 + 7) + 30 - 1]
    await check_books(ledger.pool, issuer.community_id)
