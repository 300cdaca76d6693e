"""Idempotency: the same id and body answers exists and moves nothing; the same id with another body is refused."""

from __future__ import annotations

import dataclasses
import uuid

from tests.integration.ledger.support import counters_of, open_funded, post, transfer, void
from timebank.ledger import Code, LedgerService, Result, TransferFlags

PENDING, LINKED = TransferFlags.pending, TransferFlags.linked


async def test_replays_of_every_kind_answer_exists_and_move_nothing(ledger: LedgerService) -> None:
    issuer, member = await open_funded(ledger, 100)
    payment = transfer(member, issuer, 10, memo="tea", ref_type="order")
    hold_a, hold_b, hold_c = (transfer(member, issuer, amount, flags=PENDING, timeout=600) for amount in (20, 30, 5))
    full_post, partial_post, full_void = post(hold_a), post(hold_b, 12), void(hold_c)
    originals = [payment, hold_a, hold_b, hold_c, full_post, partial_post, full_void]
    assert await ledger.create_transfers(originals) == [Result.ok] * len(originals)
    reversal = transfer(issuer, member, 10, code=Code.reversal, reverses_id=payment.id)
    assert await ledger.create_transfers([reversal]) == [Result.ok]
    before = await counters_of(ledger, issuer, member)

    replays = [*originals, reversal]
    assert await ledger.create_transfers(replays) == [Result.exists] * len(replays)
    # A post or void that named its accounts is the same request as one that left them to the ledger.
    named = dataclasses.replace(full_post, debit_account_id=member.id, credit_account_id=issuer.id)
    assert await ledger.create_transfers([named]) == [Result.exists]
    assert await counters_of(ledger, issuer, member) == before


async def test_same_id_with_another_body_is_refused_and_moves_nothing(ledger: LedgerService) -> None:
    issuer, member = await open_funded(ledger, 100)
    payment = transfer(member, issuer, 10, memo="tea")
    assert await ledger.create_transfers([payment]) == [Result.ok]
    before = await counters_of(ledger, issuer, member)
    others = [
        dataclasses.replace(payment, amount=11),
        dataclasses.replace(payment, memo="coffee"),
        dataclasses.replace(payment, memo=None),
        dataclasses.replace(payment, code=Code.donation),
        dataclasses.replace(payment, debit_account_id=issuer.id, credit_account_id=member.id),
        dataclasses.replace(payment, flags=PENDING),
        dataclasses.replace(payment, policy_version=2),
    ]
    assert await ledger.create_transfers(others) == [Result.exists_with_different_fields] * len(others)
    assert await counters_of(ledger, issuer, member) == before


async def test_a_whole_linked_chain_sent_again_answers_exists(ledger: LedgerService) -> None:
    issuer, member = await open_funded(ledger, 100)
    chain = [
        transfer(member, issuer, 5, flags=LINKED),
        transfer(member, issuer, 6, flags=LINKED),
        transfer(member, issuer, 7),
    ]
    assert await ledger.create_transfers(chain) == [Result.ok] * 3
    before = await counters_of(ledger, member)
    assert await ledger.create_transfers(chain) == [Result.exists] * 3
    # With one member changed it is no retry: the chain fails at its first member, which already exists.
    changed = [*chain[:2], dataclasses.replace(chain[2], amount=8)]
    assert await ledger.create_transfers(changed) == [
        Result.exists,
        Result.linked_event_failed,
        Result.linked_event_failed,
    ]
    assert await counters_of(ledger, member) == before


async def test_reverse_once_and_replay_the_reversal(ledger: LedgerService) -> None:
    issuer, member = await open_funded(ledger, 100)
    payment = transfer(member, issuer, 40, ref_type="order", policy_version=3)
    assert await ledger.create_transfers([payment]) == [Result.ok]
    reversal_id = uuid.uuid4()
    assert await ledger.reverse(payment.id, reversal_id=reversal_id) == Result.ok
    assert await ledger.reverse(payment.id, reversal_id=reversal_id) == Result.exists
    assert await ledger.reverse(payment.id, reversal_id=uuid.uuid4()) == Result.already_reversed
    [record] = await ledger.lookup_transfers([reversal_id])
    assert (record.debit_account_id, record.credit_account_id, record.amount) == (issuer.id, member.id, 40)
    assert (record.reverses_id, record.ref_type, record.policy_version) == (payment.id, "order", 3)
    assert (await ledger.get_account(member.id)).posted == 100


async def test_exact_replay_of_a_void_that_named_an_amount_answers_exists(ledger: LedgerService) -> None:
    # BUG: a void may carry any amount up to the hold's (it always releases the whole hold), but the transfer is
    # stored with the hold's amount, and _same_request (engine.py) compares amounts exactly except for 0. So the very
    # same void sent again gets exists_with_different_fields: a client retrying after a timeout is told its own
    # request conflicts. Fix: accept only 0 or the hold's amount on a void, or compare a void's amount as given.
    issuer, member = await open_funded(ledger, 100)
    hold = transfer(member, issuer, 50, flags=PENDING)
    release = void(hold, amount=30)
    assert await ledger.create_transfers([hold, release]) == [Result.ok, Result.ok]
    assert await ledger.create_transfers([release]) == [Result.exists]


async def test_replay_with_another_timeout_is_another_body(ledger: LedgerService) -> None:
    # BUG (minor): _same_request only compares whether a timeout was given, not its value, so a hold re-sent with
    # another timeout answers exists though Transfer.request_hash and TigerBeetle (exists_with_different_timeout)
    # count the timeout as part of the body. Fix: store the timeout in seconds (or timeout_at - created_at) and compare.
    issuer, member = await open_funded(ledger, 100)
    hold = transfer(member, issuer, 50, flags=PENDING, timeout=600)
    assert await ledger.create_transfers([hold]) == [Result.ok]
    assert await ledger.create_transfers([dataclasses.replace(hold, timeout=7200)]) == [
        Result.exists_with_different_fields
    ]


async def test_full_post_replayed_against_a_partial_post_is_another_body(ledger: LedgerService) -> None:
    # BUG (minor): amount 0 on a post means "the whole hold" (50), yet with the id of a partial post of 20 it answers
    # exists, because _same_request treats any amount 0 on a post as matching. Fix: compare 0 as the hold's amount.
    issuer, member = await open_funded(ledger, 100)
    hold = transfer(member, issuer, 50, flags=PENDING)
    partial = post(hold, 20)
    assert await ledger.create_transfers([hold, partial]) == [Result.ok, Result.ok]
    whole = dataclasses.replace(partial, amount=0)
    assert await ledger.create_transfers([whole]) == [Result.exists_with_different_fields]
