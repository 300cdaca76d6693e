"""Concurrent batches conserve value, never deadlock, and let exactly one of many racing requests take effect."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter

from tests.integration.ledger.support import (
    check_books,
    counters_of,
    open_funded,
    person_account,
    post,
    system_account,
    transfer,
)
from timebank.ledger import Asset, Code, LedgerService, Result, Transfer, TransferFlags

TASKS = 20
TRANSFERS_PER_TASK = 50
BATCH = 5
FUNDING = 200


async def test_concurrent_random_transfers_conserve_value_and_respect_floors(ledger: LedgerService) -> None:
    # Two communities, so batches that span both take two chain-head locks and lock order matters.
    communities = [uuid.uuid4(), uuid.uuid4()]
    issuers = {c: system_account(c, Asset.time_coins) for c in communities}
    members = {c: [person_account(c, Asset.time_coins) for _ in range(5)] for c in communities}
    everyone = [*issuers.values(), *(m for group in members.values() for m in group)]
    await ledger.open_accounts(everyone)
    funding = [transfer(issuers[c], m, FUNDING, code=Code.issuance) for c in communities for m in members[c]]
    assert await ledger.create_transfers(funding) == [Result.ok] * len(funding)

    async def worker(seed: int) -> list[tuple[Transfer, Result]]:
        rng = random.Random(seed)
        outcomes: list[tuple[Transfer, Result]] = []
        for _ in range(TRANSFERS_PER_TASK // BATCH):
            batch = []
            for _ in range(BATCH):
                debit, credit = rng.sample(members[rng.choice(communities)], 2)
                # Amounts large enough that some transfers must be refused for want of funds.
                batch.append(transfer(debit, credit, rng.randint(1, 120), code=Code.help_payment))
            rng.shuffle(batch)
            outcomes += zip(batch, await ledger.create_transfers(batch), strict=True)
        return outcomes

    # Any exception (a deadlock that escaped the retries, a constraint the engine let through) fails the test here.
    results = [pair for outcome in await asyncio.gather(*(worker(s) for s in range(TASKS))) for pair in outcome]

    assert len(results) == TASKS * TRANSFERS_PER_TASK
    assert {r for _, r in results} <= {Result.ok, Result.exceeds_credits}
    assert Counter(r for _, r in results)[Result.ok] > 0
    # Each account moved by exactly the transfers it was told succeeded, and by no refused one.
    expected = {m.id: FUNDING for group in members.values() for m in group}
    for t, result in results:
        if result is Result.ok:
            expected[t.debit_account_id] -= t.amount
            expected[t.credit_account_id] += t.amount
    for community in communities:
        accounts = [await ledger.get_account(a.id) for a in (issuers[community], *members[community])]
        assert sum(a.posted for a in accounts) == 0, "value created or destroyed"
        for account in accounts[1:]:
            assert account.posted == expected[account.id]
            assert account.available >= 0, "below its floor"
        await check_books(ledger.pool, community)


async def test_many_concurrent_posts_of_one_hold_post_it_once(ledger: LedgerService) -> None:
    issuer, member = await open_funded(ledger, 100)
    hold = transfer(member, issuer, 70, code=Code.redemption, flags=TransferFlags.pending)
    assert await ledger.create_transfers([hold]) == [Result.ok]

    posts = [post(hold) for _ in range(100)]  # 100 different ids racing for the same hold
    results = await asyncio.gather(*(ledger.create_transfers([p]) for p in posts))

    tally = Counter(r for [r] in results)
    assert tally == {Result.ok: 1, Result.pending_already_posted: 99}
    account = await ledger.get_account(member.id)
    assert (account.posted, account.debits_pending, account.version) == (30, 0, 3)
    await check_books(ledger.pool, issuer.community_id)


async def test_many_concurrent_copies_of_one_transfer_apply_it_once(ledger: LedgerService) -> None:
    issuer, member = await open_funded(ledger, 100)
    payee = person_account(issuer.community_id)
    await ledger.open_accounts([payee])
    payment = transfer(member, payee, 40, code=Code.help_payment)
    before = await counters_of(ledger, member, payee)

    results = await asyncio.gather(*(ledger.create_transfers([payment]) for _ in range(100)))

    assert Counter(r for [r] in results) == {Result.ok: 1, Result.exists: 99}
    member_after, payee_after = await counters_of(ledger, member, payee)
    assert member_after == (before[0][0] + 40, *before[0][1:4], before[0][4] + 1)
    assert payee_after == (0, 40, 0, 0, 1)
    await check_books(ledger.pool, issuer.community_id)
