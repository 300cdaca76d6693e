"""Model check: random programs of batches must get exactly the results and counters a plain-Python ledger predicts."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import uuid
from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.ledger.support import (
    NIL,
    NO_OVERDRAFT,
    check_books,
    counters,
    person_account,
    system_account,
)
from timebank.db import Database
from timebank.ledger import AccountFlags, Asset, Code, LedgerService, NewAccount, Result, Transfer, TransferFlags
from timebank.ledger.model import MAX_AMOUNT

# The model's own statement of the rules (TigerBeetle's semantics); it shares no code with the engine.
REGISTERED_CODES = frozenset(range(1, 16))
MAX_MEMO = 500
REMEMBERED = frozenset({
    Result.account_not_found, Result.account_closed, Result.exceeds_credits, Result.exceeds_debits, Result.exceeds_cap,
    Result.pending_not_found, Result.pending_already_posted, Result.pending_already_voided, Result.pending_expired,
    Result.reversal_not_found, Result.already_reversed,
})  # fmt: skip
LINKED, PENDING, POST, VOID = (TransferFlags.linked, TransferFlags.pending, TransferFlags.post_pending,
                               TransferFlags.void_pending)  # fmt: skip
HOLD_SECONDS = 3600  # holds in the model never expire during a run; expiry has its own tests


@dataclass
class ModelAccount:
    id: uuid.UUID
    community: uuid.UUID
    asset: Asset
    flags: AccountFlags
    floor: int | None
    cap: int | None
    dp: int = 0
    cp: int = 0
    dq: int = 0
    cq: int = 0
    version: int = 0
    closed: bool = False

    @classmethod
    def opened(cls, a: NewAccount) -> ModelAccount:
        return cls(id=a.id, community=a.community_id, asset=a.asset, flags=a.flags, floor=a.floor, cap=a.cap)

    def state(self) -> tuple[int, int, int, int, int, bool]:
        return (self.dp, self.cp, self.dq, self.cq, self.version, self.closed)

    def breach(self) -> Result | None:
        """Which limit the account's counters break, if any (holds count as if they will post)."""
        floor = self.floor or 0
        if self.flags == AccountFlags.debits_must_not_exceed_credits and self.cp - self.dp - self.dq < floor:
            return Result.exceeds_credits
        if self.flags == AccountFlags.credits_must_not_exceed_debits and self.dp - self.cp - self.cq < floor:
            return Result.exceeds_debits
        if self.cap is not None:
            over = (
                self.dp + self.dq - self.cp
                if self.flags == AccountFlags.credits_must_not_exceed_debits
                else self.cp + self.cq - self.dp
            )
            if over > self.cap:
                return Result.exceeds_cap
        return None


@dataclass(frozen=True)
class Stored:
    request: Transfer
    debit: uuid.UUID
    credit: uuid.UUID
    amount: int


@dataclass
class LedgerModel:
    accounts: dict[uuid.UUID, ModelAccount]
    stored: dict[uuid.UUID, Stored] = field(default_factory=dict)
    resolution: dict[uuid.UUID, Result] = field(default_factory=dict)  # pending id -> already_posted/_voided
    reversed: set[uuid.UUID] = field(default_factory=set)
    failed: dict[uuid.UUID, Result] = field(default_factory=dict)

    def submit(self, batch: list[Transfer]) -> list[Result]:
        results: list[Result] = []
        chain: list[Transfer] = []
        for t in batch:
            chain.append(t)
            if not t.flags & LINKED:
                results += self._chain(chain, chain_open=False)
                chain = []
        if chain:
            results += self._chain(chain, chain_open=True)
        return results

    def _chain(self, chain: list[Transfer], *, chain_open: bool) -> list[Result]:
        # A linked chain sent again whole, after it succeeded, is a retry: every member reports exists.
        if len(chain) > 1 and all(t.id in self.stored and self.stored[t.id].request == t for t in chain):
            return [Result.exists] * len(chain)
        saved = copy.deepcopy((self.accounts, self.stored, self.resolution, self.reversed))
        results: list[Result] = []
        for index, t in enumerate(chain):
            result = self._one(t)
            if result is Result.ok and chain_open and index == len(chain) - 1:
                result = Result.linked_event_chain_open
            results.append(result)
            if result is not Result.ok:
                if result in REMEMBERED:
                    self.failed[t.id] = result
                break
        if results[-1] is not Result.ok and (len(chain) > 1 or chain_open):
            self.accounts, self.stored, self.resolution, self.reversed = saved
            # Every member fails with the chain; the one that broke it says why.
            failed_at, failure = len(results) - 1, results[-1]
            results = [Result.linked_event_failed] * len(chain)
            results[failed_at] = failure
        return results

    def _one(self, t: Transfer) -> Result:
        if (problem := static_problem(t)) is not None:
            return problem
        if t.id in self.stored:
            return Result.exists if self.stored[t.id].request == t else Result.exists_with_different_fields
        if t.id in self.failed:
            return self.failed[t.id]
        debit, credit, amount = t.debit_account_id, t.credit_account_id, t.amount
        posted, pending = (0, t.amount) if t.flags & PENDING else (t.amount, 0)
        target: Stored | None = None
        if t.flags & (POST | VOID):
            target = self.stored.get(t.pending_id) if t.pending_id else None
            if target is None:
                return Result.pending_not_found
            if not target.request.flags & PENDING:
                return Result.pending_transfer_not_pending
            if target.request.id in self.resolution:
                return self.resolution[target.request.id]
            if (debit, credit) not in ((NIL, NIL), (target.debit, target.credit)):
                return Result.pending_accounts_differ
            if t.amount > target.amount:
                return Result.post_exceeds_pending
            debit, credit = target.debit, target.credit
            amount = t.amount or target.amount  # a void releases the whole hold whatever amount it names
            posted, pending = (amount if t.flags & POST else 0), -target.amount
        elif t.reverses_id is not None:
            original = self.stored.get(t.reverses_id)
            if original is None:
                return Result.reversal_not_found
            if original.request.flags & (PENDING | VOID):
                return Result.reversal_of_unposted
            if original.request.id in self.reversed:
                return Result.already_reversed
            if (debit, credit) != (original.credit, original.debit):
                return Result.reversal_accounts_differ
            if amount != original.amount:
                return Result.reversal_amount_differs
        if debit == credit:
            return Result.accounts_must_be_different
        d, c = self.accounts.get(debit), self.accounts.get(credit)
        if d is None or c is None:
            return Result.account_not_found
        if (d.closed or c.closed) and not t.flags & VOID:  # holds on a closed account can still be voided
            return Result.account_closed
        if d.asset != c.asset:
            return Result.asset_mismatch
        if d.community != c.community:
            return Result.community_mismatch
        after_d = dataclasses.replace(d, dp=d.dp + posted, dq=d.dq + pending, version=d.version + 1)
        after_c = dataclasses.replace(c, cp=c.cp + posted, cq=c.cq + pending, version=c.version + 1)
        if (problem := after_d.breach() or after_c.breach()) is not None:
            return problem
        self.accounts[debit], self.accounts[credit] = after_d, after_c
        self.stored[t.id] = Stored(request=t, debit=debit, credit=credit, amount=amount)
        if target is not None:
            self.resolution[target.request.id] = (
                Result.pending_already_posted if t.flags & POST else Result.pending_already_voided
            )
        if t.reverses_id is not None:
            self.reversed.add(t.reverses_id)
        return Result.ok


def static_problem(t: Transfer) -> Result | None:
    """What is wrong with a transfer on its face, before looking at the ledger."""
    phases = [flag for flag in (PENDING, POST, VOID) if t.flags & flag]
    if t.id == NIL:
        return Result.id_must_not_be_nil
    if len(phases) > 1 or (t.reverses_id is not None and phases):
        return Result.flags_are_mutually_exclusive
    if t.timeout and not t.flags & PENDING:
        return Result.timeout_reserved_for_pending
    if t.timeout < 0:
        return Result.timeout_must_not_be_negative
    if t.memo is not None and len(t.memo) > MAX_MEMO:
        return Result.memo_too_long
    if t.code not in REGISTERED_CODES:
        return Result.code_not_registered
    if t.amount < 0 or (t.amount == 0 and not t.flags & (POST | VOID)):
        return Result.amount_must_be_positive
    if t.amount > MAX_AMOUNT:
        return Result.amount_too_large
    return None


# -- programs -----------------------------------------------------------------------------------------------------
# Three groups: two assets of one community, and a second community, so mismatches happen. Users 0-2 share group 0.
USER_GROUP = (0, 0, 0, 1, 2)
USER_KINDS = {
    "plain": {"flags": NO_OVERDRAFT},
    "overdraft": {"flags": NO_OVERDRAFT, "floor": -60},
    "capped": {"flags": NO_OVERDRAFT, "cap": 250},
    "credit_limited": {"flags": AccountFlags.credits_must_not_exceed_debits, "cap": 200},
    "capped_open": {"flags": AccountFlags.none, "cap": 150},
}
OP_KINDS = ("fund", "fund", "transfer", "transfer", "transfer", "pending", "pending", "post", "post", "void",
            "reverse", "replay", "replay", "bad")  # fmt: skip
# (kind, pick a, pick b, amount, linked): a linked transfer succeeds or fails with the next one in the batch.
OPERATION = st.tuples(
    st.sampled_from(OP_KINDS),
    st.integers(0, 999),
    st.integers(0, 999),
    st.integers(1, 120),
    st.sampled_from((False, False, False, True)),
)
# (close, operations): close 15 closes a member's account (picked by the first operation) before the batch.
STEP = st.tuples(st.integers(0, 15), st.lists(OPERATION, min_size=1, max_size=8))
PROGRAM = st.tuples(
    st.lists(st.sampled_from(sorted(USER_KINDS)), min_size=5, max_size=5), st.lists(STEP, min_size=1, max_size=10)
)


class Builder:
    """Turns abstract operations into transfers, aiming at accounts and at transfers sent earlier."""

    def __init__(self, model: LedgerModel, systems: list[NewAccount], users: list[NewAccount]) -> None:
        self.model = model
        self.systems = systems
        self.users = users
        self.ghost = uuid.uuid4()  # never opened
        self.sent: list[Transfer] = []
        self.pendings: list[Transfer] = []

    def pick(self, n: int) -> uuid.UUID:
        everyone = [a.id for a in (*self.systems, *self.users)]
        return [*everyone, self.ghost][n % (len(everyone) + 1)]

    def peer(self, account_id: uuid.UUID, n: int) -> uuid.UUID:
        """Another account of the same community and asset, so the transfer can go through."""
        if account_id == self.ghost:
            return self.pick(n)
        mine = self.model.accounts[account_id]
        peers = [
            a.id
            for a in self.model.accounts.values()
            if (a.community, a.asset) == (mine.community, mine.asset) and a.id != account_id
        ]
        return peers[n % len(peers)]

    def build(self, op: tuple[str, int, int, int, bool]) -> Transfer:
        kind, a, b, amount, link = op
        linked = LINKED if link else TransferFlags.none
        transfer = self._build(kind, a, b, amount, linked)
        self.sent.append(transfer)
        return transfer

    def _build(self, kind: str, a: int, b: int, amount: int, linked: TransferFlags) -> Transfer:
        new = uuid.uuid4()
        if kind == "fund":
            user = self.users[a % len(self.users)]
            issuer = self.systems[USER_GROUP[a % len(self.users)]]
            return Transfer(id=new, debit_account_id=issuer.id, credit_account_id=user.id, amount=2 * amount,
                            code=Code.issuance, flags=linked)  # fmt: skip
        if kind in ("transfer", "pending"):
            debit = self.pick(a)
            credit = self.pick(b) if b % 6 == 0 else self.peer(debit, b)
            phase, timeout = (PENDING, HOLD_SECONDS if b % 2 else 0) if kind == "pending" else (TransferFlags.none, 0)
            t = Transfer(id=new, debit_account_id=debit, credit_account_id=credit, amount=amount,
                         code=Code.help_payment, flags=linked | phase, timeout=timeout)  # fmt: skip
            if kind == "pending":
                self.pendings.append(t)
            return t
        if kind in ("post", "void"):
            # Now and then aim at a transfer that was never a hold.
            p = self._target(self.sent if b % 7 == 6 or not self.pendings else self.pendings, a)
            if p is None:  # nothing to resolve yet: a dangling reference
                return Transfer(id=new, debit_account_id=NIL, credit_account_id=NIL, amount=0, code=Code.help_payment,
                                flags=linked | (POST if kind == "post" else VOID), pending_id=uuid.uuid4())  # fmt: skip
            accounts = (p.debit_account_id, p.credit_account_id) if amount % 2 else (NIL, NIL)
            if kind == "post":
                mode = b % 5
                amount = (0, max(1, p.amount // 2), p.amount, p.amount + 1, 0)[mode]
                if mode == 4:
                    accounts = (p.credit_account_id, p.debit_account_id)
            else:
                amount = 0 if b % 2 else p.amount  # a void always releases the whole hold
            return Transfer(id=new, debit_account_id=accounts[0], credit_account_id=accounts[1], amount=amount,
                            code=Code.help_payment, flags=linked | (POST if kind == "post" else VOID),
                            pending_id=p.id)  # fmt: skip
        if kind == "reverse":
            original = self._target(self.sent, a)
            if original is None:
                return Transfer(id=new, debit_account_id=self.pick(a), credit_account_id=self.pick(a + 1), amount=1,
                                code=Code.reversal, flags=linked, reverses_id=uuid.uuid4())  # fmt: skip
            known = self.model.stored.get(original.id)
            debit, credit, amount = (
                (known.debit, known.credit, known.amount)
                if known
                else (original.debit_account_id, original.credit_account_id, original.amount)
            )
            mode = b % 4
            return Transfer(id=new, debit_account_id=debit if mode == 3 else credit,
                            credit_account_id=credit if mode == 3 else debit, amount=amount + (mode == 2),
                            code=Code.reversal, flags=linked, reverses_id=original.id)  # fmt: skip
        if kind == "replay" and self.sent:
            original = self.sent[a % len(self.sent)]
            return original if b % 3 else dataclasses.replace(original, memo=(original.memo or "") + "·")
        return self._bad(new, b, linked)

    def _target(self, requests: list[Transfer], n: int) -> Transfer | None:
        """Mostly a transfer the model stored (or one sent just before, in this batch); now and then any."""
        if not requests:
            return None
        stored = [t for t in requests if t.id in self.model.stored]
        if n % 5 == 4 or not stored:
            return requests[-1 - n % min(len(requests), 3)]
        return stored[n % len(stored)]

    def _bad(self, new: uuid.UUID, variant: int, linked: TransferFlags) -> Transfer:
        issuer, user = self.systems[0].id, self.users[0].id
        good = Transfer(id=new, debit_account_id=issuer, credit_account_id=user, amount=5, code=Code.gift, flags=linked)
        variants = (
            {"amount": 0},
            {"amount": -5},
            {"amount": MAX_AMOUNT + 1},
            {"id": NIL},
            {"flags": linked | PENDING | POST},
            {"timeout": 60},
            {"memo": "x" * (MAX_MEMO + 1)},
            {"code": 99},
            {"credit_account_id": issuer},
            {"flags": linked | PENDING, "timeout": -1},
            {"flags": linked | PENDING, "reverses_id": new},
            {"debit_account_id": self.ghost},
        )
        return dataclasses.replace(good, **variants[variant % len(variants)])  # type: ignore[arg-type]


async def assert_ledger_matches(ledger: LedgerService, model: LedgerModel, batch: list[Transfer], where: str) -> None:
    accounts = await asyncio.gather(*(ledger.get_account(account_id) for account_id in model.accounts))
    for account in accounts:
        assert (*counters(account), account.closed) == model.accounts[account.id].state(), f"{where}: {account.id}"
    # Every transfer the model stored is in the ledger with the accounts and amount it resolved to, and no other.
    records = await ledger.lookup_transfers([t.id for t in batch])
    found = {r.id: (r.debit_account_id, r.credit_account_id, r.amount) for r in records}
    expected = {t.id: (s.debit, s.credit, s.amount) for t in batch if (s := model.stored.get(t.id)) is not None}
    assert found == expected, where


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=PROGRAM)
async def test_ledger_agrees_with_model(database: Database, program: tuple[list[str], list]) -> None:
    # Two services, as two processes of the app: each decides plain batches on the accounts its own writes committed,
    # which the other's writes (and closes) leave stale half of the time.
    services = (LedgerService(database.pool), LedgerService(database.pool))
    ledger = services[0]
    user_kinds, steps = program
    first, second = uuid.uuid4(), uuid.uuid4()
    groups = [(first, Asset.service_minutes), (first, Asset.time_coins), (second, Asset.service_minutes)]
    systems = [system_account(community, asset) for community, asset in groups]
    users = [
        person_account(*groups[USER_GROUP[index]], **USER_KINDS[kind])  # type: ignore[arg-type]
        for index, kind in enumerate(user_kinds)
    ]
    await ledger.open_accounts([*systems, *users])
    model = LedgerModel({a.id: ModelAccount.opened(a) for a in (*systems, *users)})
    builder = Builder(model, systems, users)
    for step, (close, operations) in enumerate(steps):
        ledger, other = services[step % 2], services[(step + 1) % 2]
        if close == 15:
            account_id = users[operations[0][1] % len(users)].id
            await other.close_account(account_id)
            model.accounts[account_id].closed = True
        batch = [builder.build(op) for op in operations]
        expected = model.submit(batch)
        actual = await ledger.create_transfers(batch)
        where = f"step {step} (ledger on the left, model on the right)"
        assert [r.name for r in actual] == [r.name for r in expected], where
        await assert_ledger_matches(ledger, model, batch, where)
    for community_id in (first, second):
        await check_books(database.pool, community_id)
