"""Decides a batch: each transfer in order against the locked accounts, exactly as if applied one by one.

Pure computation over a :class:`Snapshot` the store read under lock; it returns what to write. Linked transfers
succeed or fail together. The database re-checks the outcome (counters, floors, caps, versions) when the rows land.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import NamedTuple

from timebank.ledger.model import (
    MAX_AMOUNT,
    MAX_COUNTER,
    MAX_POLICY_VERSION,
    MAX_TIMEOUT,
    Account,
    Code,
    Result,
    Transfer,
    TransferFlags,
)

__all__ = ["Decision", "Known", "Planned", "Snapshot", "StoredTransfer", "decide"]

_NIL = uuid.UUID(int=0)
_CODES = frozenset(int(code) for code in Code)
_MAX_MEMO = 500
# Flags as plain ints: IntFlag arithmetic builds a new enum member per operation, too slow for the hot loop.
_LINKED, _PENDING, _POST, _VOID = 1, 2, 4, 8
_PHASES = _PENDING | _POST | _VOID
_RESOLVING = _POST | _VOID
_DEFINED = _LINKED | _PHASES
_NO_OVERDRAFT, _NO_OVERCREDIT = 1, 2  # AccountFlags.debits_must_not_exceed_credits, credits_must_not_exceed_debits
_EXPIRY = int(Code.expiry)


@dataclass(frozen=True, slots=True)
class StoredTransfer:
    """What the engine needs of a transfer already in the ledger (a retry target, pending, or reversal target)."""

    id: uuid.UUID
    debit_account_id: uuid.UUID
    credit_account_id: uuid.UUID
    amount: int
    code: int
    flags: TransferFlags
    pending_id: uuid.UUID | None
    timeout_at: datetime | None
    reverses_id: uuid.UUID | None
    ref_type: str | None
    ref_id: uuid.UUID | None
    policy_version: int | None
    memo: str | None
    created_at: datetime | None = None  # with timeout_at, gives back the timeout a hold was asked for


@dataclass(slots=True)
class Snapshot:
    """The ledger as seen under lock: accounts, referenced transfers, resolutions, remembered failures, the clock."""

    now: datetime
    accounts: dict[uuid.UUID, Account]
    transfers: dict[uuid.UUID, StoredTransfer]
    resolved: dict[uuid.UUID, TransferFlags]  # pending id -> post_pending or void_pending
    reversed: set[uuid.UUID]
    failures: dict[uuid.UUID, Result]


class Planned(NamedTuple):
    """A transfer to insert: one ``ledger_transfer`` row (the ``ledger_planned`` type), with both of its entries."""

    id: uuid.UUID
    community_id: uuid.UUID
    asset: int
    debit_account_id: uuid.UUID
    credit_account_id: uuid.UUID
    amount: int
    code: int
    flags: int
    pending_id: uuid.UUID | None
    timeout_at: datetime | None
    reverses_id: uuid.UUID | None
    ref_type: str | None
    ref_id: uuid.UUID | None
    policy_version: int | None
    memo: str | None
    debit_version: int
    debit_posted_after: int
    debit_pending_after: int
    credit_version: int
    credit_posted_after: int
    credit_pending_after: int
    created_at: datetime


_new_planned = tuple.__new__  # skips NamedTuple's Python-level __new__ in the hot loop

#: A transfer the batch can refer to: one already in the ledger, or one planned earlier in the batch.
Known = StoredTransfer | Planned


@dataclass(slots=True)
class Decision:
    """Results in batch order, the rows to insert, the failures to remember, and what the decisions rested on.

    ``floor_room`` and ``cap_room`` hold, per limited account the rows move, the least room the batch left above its
    floor and below its cap after any of its transfers; ``exact`` the accounts a refusal for a limit rested on. A
    write made after the accounts moved stays exact as long as no room went negative and no such account moved.
    """

    results: list[Result]
    planned: list[Planned] = field(default_factory=list)
    failures: list[tuple[Transfer, Result]] = field(default_factory=list)
    floor_room: dict[uuid.UUID, int] = field(default_factory=dict)
    cap_room: dict[uuid.UUID, int] = field(default_factory=dict)
    exact: set[uuid.UUID] = field(default_factory=set)


@dataclass(slots=True)
class _Undo:
    """Enough to roll a linked chain back: account counters before, and what the chain added."""

    accounts: dict[uuid.UUID, Account] = field(default_factory=dict)
    planned: int = 0
    ids: list[uuid.UUID] = field(default_factory=list)
    resolved: list[uuid.UUID] = field(default_factory=list)
    reversed: list[uuid.UUID] = field(default_factory=list)


def _storable(text: str) -> bool:
    """PostgreSQL text holds no NUL character, and the wire carries UTF-8 (lone surrogates cannot be encoded)."""
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _static(t: Transfer) -> Result | None:
    """What is wrong with a transfer on its face, before looking at the ledger (never remembered)."""
    flags = int(t.flags)
    phases = flags & _PHASES
    if t.id == _NIL:
        return Result.id_must_not_be_nil
    if flags & ~_DEFINED:
        return Result.reserved_flag
    if phases not in (0, _PENDING, _POST, _VOID) or (t.reverses_id is not None and phases):
        return Result.flags_are_mutually_exclusive
    if t.timeout:
        if not flags & _PENDING:
            return Result.timeout_reserved_for_pending
        if t.timeout < 0:
            return Result.timeout_must_not_be_negative
        if t.timeout > MAX_TIMEOUT:
            return Result.overflows_timeout
    if t.memo is not None:
        if len(t.memo) > _MAX_MEMO:
            return Result.memo_too_long
        if not _storable(t.memo):
            return Result.invalid_text
    if t.ref_type is not None and not _storable(t.ref_type):
        return Result.invalid_text
    if t.policy_version is not None and not 0 <= t.policy_version <= MAX_POLICY_VERSION:
        return Result.policy_version_out_of_range
    if t.code not in _CODES:
        return Result.code_not_registered
    if t.amount < 0 or (t.amount == 0 and not phases & _RESOLVING):
        return Result.amount_must_be_positive
    if t.amount > MAX_AMOUNT:
        return Result.amount_too_large
    return None


class _Batch:
    def __init__(self, snapshot: Snapshot) -> None:
        self.s = snapshot
        self.accounts = snapshot.accounts
        self.decision = Decision(results=[])
        # Every id the batch may meet, in one map: stored and planned transfers, and remembered failures.
        self.known: dict[uuid.UUID, Known | Result] = {**snapshot.failures, **snapshot.transfers}

    # -- validation -------------------------------------------------------------------------------------------
    def _find(self, transfer_id: uuid.UUID | None) -> Known | None:
        if transfer_id is None:
            return None
        found = self.known.get(transfer_id)
        return None if found is None or isinstance(found, Result) else found

    def _same_request(self, t: Transfer, stored: Known) -> bool:
        """Whether ``t`` is a retry of ``stored``: the very same request, not another one reusing its id."""
        flags = int(t.flags)
        if (
            flags != int(stored.flags)
            or t.code != stored.code
            or t.pending_id != stored.pending_id
            or t.reverses_id != stored.reverses_id
            or t.ref_type != stored.ref_type
            or t.ref_id != stored.ref_id
            or t.policy_version != stored.policy_version
            or t.memo != stored.memo
        ):
            return False
        if flags & _RESOLVING:
            # The accounts may be left to the ledger, and amount 0 stands for the hold's amount.
            given = (t.debit_account_id, t.credit_account_id)
            if given != (_NIL, _NIL) and given != (stored.debit_account_id, stored.credit_account_id):
                return False
            amount = t.amount
            if amount == 0:
                hold = self._find(stored.pending_id)
                amount = hold.amount if hold is not None else 0
            return amount == stored.amount
        if (t.debit_account_id, t.credit_account_id, t.amount) != (
            stored.debit_account_id,
            stored.credit_account_id,
            stored.amount,
        ):
            return False
        if not t.timeout:
            return stored.timeout_at is None
        return (
            stored.timeout_at is not None
            and stored.created_at is not None
            and stored.timeout_at - stored.created_at == timedelta(seconds=t.timeout)
        )

    def _resolve_accounts(self, t: Transfer, flags: int) -> tuple[Result | None, Transfer, Known | None]:
        """Fill in the accounts and amount of a post or void from the hold; check a reversal against its original."""
        if flags & _RESOLVING:
            pending = self._find(t.pending_id)
            if pending is None:
                return Result.pending_not_found, t, None
            if not int(pending.flags) & _PENDING:
                return Result.pending_transfer_not_pending, t, None
            resolution = self.s.resolved.get(pending.id)
            if resolution is not None:
                already = int(resolution) & _POST
                return (Result.pending_already_posted if already else Result.pending_already_voided), t, None
            given = (t.debit_account_id, t.credit_account_id)
            if given != (_NIL, _NIL) and given != (pending.debit_account_id, pending.credit_account_id):
                return Result.pending_accounts_differ, t, None
            expired = pending.timeout_at is not None and pending.timeout_at <= self.s.now
            if expired and not (flags & _VOID and t.code == _EXPIRY):
                return Result.pending_expired, t, None
            if t.amount > pending.amount:
                return Result.post_exceeds_pending, t, None
            filled = replace(
                t,
                debit_account_id=pending.debit_account_id,
                credit_account_id=pending.credit_account_id,
                amount=t.amount or pending.amount,
            )
            return None, filled, pending
        if t.reverses_id is not None:
            original = self._find(t.reverses_id)
            if original is None:
                return Result.reversal_not_found, t, None
            if int(original.flags) & (_PENDING | _VOID):
                return Result.reversal_of_unposted, t, None
            if original.id in self.s.reversed:
                return Result.already_reversed, t, None
            if (t.debit_account_id, t.credit_account_id) != (original.credit_account_id, original.debit_account_id):
                return Result.reversal_accounts_differ, t, None
            if t.amount != original.amount:
                return Result.reversal_amount_differs, t, None
        return None, t, None

    # -- effects ----------------------------------------------------------------------------------------------
    @staticmethod
    def _breach(debit: Account, credit: Account, posted: int, pending: int) -> Result | None:
        """The overflow or limit the transfer would cause, judging the state after it; holds count as posted."""
        d_posted, d_pending = debit.debits_posted + posted, debit.debits_pending + pending
        c_posted, c_pending = credit.credits_posted + posted, credit.credits_pending + pending
        if d_posted + d_pending > MAX_COUNTER:
            return Result.overflows_debits
        if c_posted + c_pending > MAX_COUNTER:
            return Result.overflows_credits
        debit_flags, credit_flags = int(debit.flags), int(credit.flags)
        if debit_flags & _NO_OVERDRAFT:
            if debit.credits_posted - d_posted - d_pending < (debit.floor or 0):
                return Result.exceeds_credits
        elif (
            debit_flags & _NO_OVERCREDIT
            and debit.cap is not None
            and d_posted + d_pending - debit.credits_posted > debit.cap
        ):
            return Result.exceeds_cap
        if credit_flags & _NO_OVERCREDIT:
            if credit.debits_posted - c_posted - c_pending < (credit.floor or 0):
                return Result.exceeds_debits
        elif credit.cap is not None and c_posted + c_pending - credit.debits_posted > credit.cap:
            return Result.exceeds_cap
        return None

    def _apply(
        self,
        t: Transfer,
        flags: int,
        pending: Known | None,
        debit: Account,
        credit: Account,
        posted: int,
        held: int,
        undo: _Undo | None,
    ) -> None:
        if undo is not None:
            for account in (debit, credit):
                if account.id not in undo.accounts:
                    undo.accounts[account.id] = replace(account)
            undo.planned += 1
            undo.ids.append(t.id)
        debit.debits_posted += posted
        debit.debits_pending += held
        debit.version += 1
        credit.credits_posted += posted
        credit.credits_pending += held
        credit.version += 1
        now = self.s.now
        row: Planned = _new_planned(
            Planned,
            (
                t.id, debit.community_id, debit.asset, debit.id, credit.id, t.amount, t.code, flags, t.pending_id,
                now + timedelta(seconds=t.timeout) if t.timeout else None, t.reverses_id, t.ref_type, t.ref_id,
                t.policy_version, t.memo, debit.version, debit.credits_posted - debit.debits_posted,
                debit.credits_pending - debit.debits_pending, credit.version,
                credit.credits_posted - credit.debits_posted, credit.credits_pending - credit.debits_pending, now,
            ),
        )  # fmt: skip
        self.decision.planned.append(row)
        self.known[t.id] = row
        if debit.flags or debit.cap is not None:
            self._room(debit)
        if credit.flags or credit.cap is not None:
            self._room(credit)
        if pending is not None:
            self.s.resolved[pending.id] = TransferFlags(flags & _RESOLVING)
            if undo is not None:
                undo.resolved.append(pending.id)
        if t.reverses_id is not None:
            self.s.reversed.add(t.reverses_id)
            if undo is not None:
                undo.reversed.append(t.reverses_id)

    def _room(self, account: Account) -> None:
        """Keep the least room the batch has left this account above its floor and below its cap."""
        dp, cp, dq, cq = account.debits_posted, account.credits_posted, account.debits_pending, account.credits_pending
        no_overcredit = account.flags == _NO_OVERCREDIT
        if account.flags:
            room = (dp - cp - cq if no_overcredit else cp - dp - dq) - (account.floor or 0)
            rooms = self.decision.floor_room
            if room < rooms.get(account.id, room + 1):
                rooms[account.id] = room
        if account.cap is not None:
            room = account.cap - (dp + dq - cp if no_overcredit else cp + cq - dp)
            rooms = self.decision.cap_room
            if room < rooms.get(account.id, room + 1):
                rooms[account.id] = room

    def _rollback(self, undo: _Undo) -> None:
        for account_id, before in undo.accounts.items():
            self.accounts[account_id] = before
        del self.decision.planned[len(self.decision.planned) - undo.planned :]
        for transfer_id in undo.ids:
            self.known.pop(transfer_id, None)
        for pending_id in undo.resolved:
            self.s.resolved.pop(pending_id, None)
        for reversed_id in undo.reversed:
            self.s.reversed.discard(reversed_id)

    # -- one transfer, one chain, one batch ------------------------------------------------------------------
    def _one(self, t: Transfer, undo: _Undo | None) -> Result:
        if (problem := _static(t)) is not None:
            return problem
        known = self.known.get(t.id)
        if known is not None:
            if isinstance(known, Result):  # a failure remembered earlier
                return known
            return Result.exists if self._same_request(t, known) else Result.exists_with_different_fields
        flags = int(t.flags)
        pending = None
        if flags & _RESOLVING or t.reverses_id is not None:
            problem, t, pending = self._resolve_accounts(t, flags)
            if problem is not None:
                return problem
        debit_id, credit_id = t.debit_account_id, t.credit_account_id
        if debit_id == credit_id:
            return Result.accounts_must_be_different
        debit, credit = self.accounts.get(debit_id), self.accounts.get(credit_id)
        if debit is None or credit is None:
            return Result.account_not_found
        # A closed account takes nothing new, but its holds can still be voided (or expire), as in TigerBeetle.
        if (debit.closed or credit.closed) and not flags & _VOID:
            return Result.account_closed
        if debit.asset != credit.asset:
            return Result.asset_mismatch
        if debit.community_id != credit.community_id:
            return Result.community_mismatch
        # (posted, pending) added to the debits of one side and the credits of the other; a post or void releases
        # the whole hold, and a post moves its amount to posted.
        if flags & _PENDING:
            posted, held = 0, t.amount
        elif pending is not None:
            posted, held = (t.amount if flags & _POST else 0), -pending.amount
        else:
            posted, held = t.amount, 0
        if (problem := self._breach(debit, credit, posted, held)) is not None:
            self.decision.exact.update((debit.id, credit.id))
            return problem
        self._apply(t, flags, pending, debit, credit, posted, held, undo)
        return Result.ok

    def _remember(self, t: Transfer, result: Result) -> None:
        if result.remembered:
            self.known[t.id] = result
            self.decision.failures.append((t, result))

    def _replayed(self, chain: list[Transfer]) -> bool:
        """A whole chain sent again after it succeeded: every member answers ``exists``, none fails the chain."""
        for t in chain:
            existing = self._find(t.id)
            if existing is None or not self._same_request(t, existing):
                return False
        return True

    def _chain(self, chain: list[Transfer], chain_open: bool) -> list[Result]:
        if len(chain) > 1 and self._replayed(chain):
            return [Result.exists] * len(chain)
        undo = _Undo()
        results: list[Result] = []
        for index, t in enumerate(chain):
            result = self._one(t, undo)
            if result is Result.ok and chain_open and index == len(chain) - 1:
                result = Result.linked_event_chain_open
            results.append(result)
            if result is not Result.ok:
                self._remember(t, result)
                break
        if results[-1] is not Result.ok:
            self._rollback(undo)
            failed_at, failure = len(results) - 1, results[-1]
            results = [Result.linked_event_failed] * len(chain)
            results[failed_at] = failure
        return results

    def run(self, transfers: list[Transfer]) -> Decision:
        index, count = 0, len(transfers)
        results = self.decision.results
        while index < count:
            t = transfers[index]
            if not int(t.flags) & _LINKED:
                # A lone transfer changes nothing until it succeeds, so it needs no undo log.
                result = self._one(t, None)
                if result is not Result.ok:
                    self._remember(t, result)
                results.append(result)
                index += 1
                continue
            end = index
            while int(transfers[end].flags) & _LINKED and end < count - 1:
                end += 1
            chain_open = bool(int(transfers[end].flags) & _LINKED)
            results.extend(self._chain(transfers[index : end + 1], chain_open))
            index = end + 1
        return self.decision


def decide(transfers: list[Transfer], snapshot: Snapshot) -> Decision:
    """Decide every transfer of a batch in order.

    ``snapshot.transfers`` must hold every batch id already in the ledger, and every pending or reversal target.
    """
    return _Batch(snapshot).run(transfers)
