"""The engine's decisions on hand-built snapshots: batch order, chain rollback, limits, expiry on an exact clock."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from timebank.ledger.engine import Snapshot, StoredTransfer, decide
from timebank.ledger.model import Account, AccountFlags, Asset, Code, Result, Transfer, TransferFlags

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
NIL = uuid.UUID(int=0)
COMMUNITY = uuid.uuid4()
PENDING, POST, VOID, LINKED = (TransferFlags.pending, TransferFlags.post_pending, TransferFlags.void_pending,
                               TransferFlags.linked)  # fmt: skip


def account(
    *, flags: AccountFlags = AccountFlags.debits_must_not_exceed_credits, held: int = 0, **fields: object
) -> Account:
    """An account of the community, credited ``held`` by one earlier transfer."""
    values: dict[str, object] = {
        "id": uuid.uuid4(), "community_id": COMMUNITY, "asset": Asset.points, "owner_kind": "person",
        "owner_id": uuid.uuid4(), "system_role": None, "label": "", "flags": flags, "floor": None, "cap": None,
        "credits_posted": held, "version": 1 if held else 0,
    }  # fmt: skip
    values.update(fields)
    return Account(**values)  # type: ignore[arg-type]


def issuer() -> Account:
    return account(flags=AccountFlags.none, owner_kind=None, owner_id=None, system_role="issuer")


def pay(debit: Account, credit: Account, amount: int, *, code: int = Code.gift, **fields: object) -> Transfer:
    return Transfer(id=uuid.uuid4(), debit_account_id=debit.id, credit_account_id=credit.id, amount=amount, code=code,
                    **fields)  # type: ignore[arg-type]  # fmt: skip


def stored(t: Transfer, *, timeout_at: datetime | None = None, created_at: datetime | None = None) -> StoredTransfer:
    return StoredTransfer(id=t.id, debit_account_id=t.debit_account_id, credit_account_id=t.credit_account_id,
                          amount=t.amount, code=t.code, flags=t.flags, pending_id=t.pending_id, timeout_at=timeout_at,
                          reverses_id=t.reverses_id, ref_type=t.ref_type, ref_id=t.ref_id,
                          policy_version=t.policy_version, memo=t.memo, created_at=created_at)  # fmt: skip


def snapshot(*accounts: Account, transfers: tuple[StoredTransfer, ...] = (), **fields: object) -> Snapshot:
    values: dict[str, object] = {"resolved": {}, "reversed": set(), "failures": {}}
    values.update(fields)
    by_id = {a.id: a for a in accounts}
    return Snapshot(now=NOW, accounts=by_id, transfers={t.id: t for t in transfers}, **values)  # type: ignore[arg-type]


def settle(hold: Transfer, flags: TransferFlags, amount: int = 0, code: int = Code.gift) -> Transfer:
    return Transfer(id=uuid.uuid4(), debit_account_id=NIL, credit_account_id=NIL, amount=amount, code=code, flags=flags,
                    pending_id=hold.id)  # fmt: skip


def test_each_transfer_sees_the_ones_before_it_in_the_batch() -> None:
    bank, member = issuer(), account()
    decision = decide([pay(bank, member, 50), pay(member, bank, 50), pay(member, bank, 1)], snapshot(bank, member))
    assert decision.results == [Result.ok, Result.ok, Result.exceeds_credits]
    entries = [
        (p.debit_version, p.debit_posted_after, p.credit_version, p.credit_posted_after) for p in decision.planned
    ]
    assert entries == [(1, -50, 1, 50), (2, 0, 2, 0)]


def test_a_failed_chain_is_undone_before_the_next_transfer() -> None:
    member, shop = account(held=10), account()
    chain = [pay(member, shop, 10, flags=LINKED), pay(shop, member, 999)]
    after = pay(member, shop, 10)
    decision = decide([*chain, after], snapshot(member, shop))
    assert decision.results == [Result.linked_event_failed, Result.exceeds_credits, Result.ok]
    [planned] = decision.planned
    assert (planned.id, planned.debit_version, planned.debit_posted_after) == (after.id, 2, 0)


def test_a_chain_left_open_at_the_end_of_the_batch_fails() -> None:
    bank, member = issuer(), account()
    decision = decide([pay(bank, member, 5), pay(bank, member, 5, flags=LINKED)], snapshot(bank, member))
    assert decision.results == [Result.ok, Result.linked_event_chain_open]
    assert len(decision.planned) == 1


def test_a_hold_and_its_partial_post_in_one_batch() -> None:
    member, shop = account(held=100), account()
    hold = pay(member, shop, 30, flags=PENDING)
    decision = decide([hold, settle(hold, POST, 20)], snapshot(member, shop))
    assert decision.results == [Result.ok, Result.ok]
    posted = decision.planned[1]
    assert (posted.debit_account_id, posted.credit_account_id, posted.amount) == (member.id, shop.id, 20)
    assert (member.debits_posted, member.debits_pending, shop.credits_posted, shop.credits_pending) == (20, 0, 20, 0)
    assert (posted.debit_posted_after, posted.debit_pending_after, posted.credit_pending_after) == (80, 0, 0)


@pytest.mark.parametrize(
    ("timeout_at", "flags", "code", "expected"),
    [
        (NOW, POST, Code.gift, Result.pending_expired),
        (NOW, VOID, Code.gift, Result.pending_expired),
        (NOW, VOID, Code.expiry, Result.ok),  # only the expiry sweep may release an expired hold
        (NOW + timedelta(microseconds=1), POST, Code.gift, Result.ok),
        (None, POST, Code.gift, Result.ok),
    ],
)
def test_expiry_is_judged_by_the_snapshot_clock(
    timeout_at: datetime | None, flags: TransferFlags, code: int, expected: Result
) -> None:
    member, shop = account(held=100, debits_pending=30, version=2), account(credits_pending=30, version=1)
    hold = pay(member, shop, 30, flags=PENDING, timeout=60 if timeout_at else 0)
    decision = decide(
        [settle(hold, flags, code=code)], snapshot(member, shop, transfers=(stored(hold, timeout_at=timeout_at),))
    )
    assert decision.results == [expected]


def test_resolved_and_reversed_targets_in_the_snapshot_are_final() -> None:
    member, shop = account(held=100), account()
    hold, payment = pay(member, shop, 30, flags=PENDING), pay(member, shop, 10)
    state = snapshot(member, shop, transfers=(stored(hold), stored(payment)), resolved={hold.id: POST},
                     reversed={payment.id})  # fmt: skip
    reversal = pay(shop, member, 10, code=Code.reversal, reverses_id=payment.id)
    decision = decide([settle(hold, POST), settle(hold, VOID), reversal], state)
    assert decision.results == [Result.pending_already_posted, Result.pending_already_posted, Result.already_reversed]
    assert not decision.planned


def test_a_remembered_failure_answers_before_the_state_is_looked_at() -> None:
    member, bank = account(held=100), issuer()
    retry = pay(member, bank, 50)  # would fit now
    decision = decide([retry], snapshot(member, bank, failures={retry.id: Result.exceeds_credits}))
    assert decision.results == [Result.exceeds_credits]
    # And a failure remembered earlier in the same batch sticks, though a transfer in between funds the account.
    poor = account()
    big = pay(poor, bank, 50)
    decision = decide([big, pay(bank, poor, 100), big], snapshot(poor, bank))
    assert decision.results == [Result.exceeds_credits, Result.ok, Result.exceeds_credits]
    assert [(t.id, r) for t, r in decision.failures] == [(big.id, Result.exceeds_credits)] * 2


@pytest.mark.parametrize(
    ("debit", "credit", "amount", "flags", "expected"),
    [
        # A floor below zero allows that much overdraft, and not a unit more; holds count as spent.
        ({"floor": -50}, {}, 150, TransferFlags.none, Result.ok),
        ({"floor": -50}, {}, 151, TransferFlags.none, Result.exceeds_credits),
        ({"floor": -50, "debits_pending": 1}, {}, 150, TransferFlags.none, Result.exceeds_credits),
        ({}, {"cap": 40}, 40, TransferFlags.none, Result.ok),
        ({}, {"cap": 40}, 41, PENDING, Result.exceeds_cap),  # a hold counts toward the cap
        ({}, {"cap": 40, "credits_pending": 1}, 40, TransferFlags.none, Result.exceeds_cap),
        ({}, {"cap": 40}, 200, TransferFlags.none, Result.exceeds_credits),  # the debit side is judged first
        ({}, {"flags": AccountFlags.credits_must_not_exceed_debits}, 1, TransferFlags.none, Result.exceeds_debits),
        (
            {"flags": AccountFlags.credits_must_not_exceed_debits, "cap": 30, "credits_posted": 0},
            {},
            31,
            TransferFlags.none,
            Result.exceeds_cap,
        ),
        ({"flags": AccountFlags.none}, {}, 10_000, TransferFlags.none, Result.ok),
    ],
)
def test_limits(debit: dict, credit: dict, amount: int, flags: TransferFlags, expected: Result) -> None:
    payer, payee = account(held=100, **debit), account(**credit)
    assert decide([pay(payer, payee, amount, flags=flags)], snapshot(payer, payee)).results == [expected]


def test_precedence_of_refusals() -> None:
    bank, member = issuer(), account()
    other_asset = account(asset=Asset.time_coins)
    closed = account(closed=True, asset=Asset.time_coins)
    state = snapshot(bank, member, other_asset, closed)
    cases = [
        # Malformed beats everything about accounts; a closed account beats a mismatch.
        (pay(bank, closed, 0, code=99), Result.code_not_registered),
        (pay(bank, closed, 0), Result.amount_must_be_positive),
        (pay(bank, closed, 5), Result.account_closed),
        (pay(bank, other_asset, 5), Result.asset_mismatch),
        (pay(bank, bank, 5, memo="x" * 501), Result.memo_too_long),
        (pay(bank, bank, 5), Result.accounts_must_be_different),
        (pay(bank, account(), 5), Result.account_not_found),
    ]
    assert decide([t for t, _ in cases], state).results == [expected for _, expected in cases]


def test_a_hold_on_a_closed_account_can_be_voided_but_not_posted() -> None:
    member, shop = account(held=100, debits_pending=30, version=2), account(credits_pending=30, version=1)
    hold = pay(member, shop, 30, flags=PENDING)
    shop.closed = True
    state = snapshot(member, shop, transfers=(stored(hold),))
    decision = decide([settle(hold, POST), settle(hold, VOID)], state)
    assert decision.results == [Result.account_closed, Result.ok]
    assert (member.debits_pending, shop.credits_pending) == (0, 0)


def test_counters_never_overflow_a_bigint() -> None:
    bank, rich, other = issuer(), account(flags=AccountFlags.none), account(flags=AccountFlags.none)
    rich.credits_posted = 2**62
    bank.debits_posted = 2**62
    # The largest amount fits once more on each side; twice overflows the credits of one and the debits of the other.
    decision = decide([pay(other, rich, 2**62 - 1), pay(other, rich, 1), pay(bank, other, 2**62)],
                      snapshot(bank, rich, other))  # fmt: skip
    assert decision.results == [Result.ok, Result.overflows_credits, Result.overflows_debits]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"flags": TransferFlags(16)}, Result.reserved_flag),
        ({"flags": PENDING, "timeout": -1}, Result.timeout_must_not_be_negative),
        ({"flags": PENDING, "timeout": 2**32}, Result.overflows_timeout),
        ({"memo": "a\x00b"}, Result.invalid_text),
        ({"memo": "\ud800"}, Result.invalid_text),
        ({"ref_type": "order\x00"}, Result.invalid_text),
        ({"policy_version": 2**31}, Result.policy_version_out_of_range),
        ({"policy_version": -1}, Result.policy_version_out_of_range),
    ],
)
def test_input_the_database_could_not_store_gets_its_own_result(fields: dict, expected: Result) -> None:
    bank, member = issuer(), account()
    assert decide([pay(bank, member, 5, **fields)], snapshot(bank, member)).results == [expected]


def test_replays_compare_what_the_request_said() -> None:
    member, shop = account(held=100), account()
    hold = pay(member, shop, 50, flags=PENDING, timeout=600)
    void_30, post_20 = settle(hold, VOID, 30), settle(hold, POST, 20)
    for resolution in (void_30, post_20):
        decision = decide([hold, resolution], snapshot(account(held=100, id=member.id), account(id=shop.id)))
        assert decision.results == [Result.ok, Result.ok]
        again = decide([hold, resolution, replace(resolution, amount=0), replace(hold, timeout=60)], snapshot(
            account(held=100, id=member.id), account(id=shop.id),
            transfers=tuple(stored(t, timeout_at=NOW + timedelta(seconds=t.timeout) if t.timeout else None,
                                   created_at=NOW) for t in (hold, resolution))))  # fmt: skip
        assert again.results == [Result.exists, Result.exists] + [Result.exists_with_different_fields] * 2
