"""Decides a batch: each transfer in order against the locked accounts, exactly as if applied one by one.

Pure computation over a :class:`Snapshot` the store read under lock; it returns what to write. Linked transfers
succeed or fail together. The database re-checks the outcome (counters, floors, caps, versions) when the rows land.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from timebank.ledger.model import (
    MAX_AMOUNT,
    Account,
    AccountFlags,
    Code,
    Result,
    Transfer,
    TransferFlags,
)

__all__ = ["Decision", "Planned", "Snapshot", "StoredTransfer", "decide"]

_NIL = uuid.UUID(int=0)
_CODES = frozenset(int(code) for code in Code)
_MAX_MEMO = 500
_PHASES = TransferFlags.pending | TransferFlags.post_pending | TransferFlags.void_pending


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


@dataclass(slots=True)
class Snapshot:
    """The ledger as seen under lock: accounts, referenced transfers, resolutions, remembered failures, the clock."""

    now: datetime
    accounts: dict[uuid.UUID, Account]
    transfers: dict[uuid.UUID, StoredTransfer]
    resolved: dict[uuid.UUID, TransferFlags]  # pending id -> post_pending or void_pending
    reversed: set[uuid.UUID]
    failures: dict[uuid.UUID, Result]


@dataclass(frozen=True, slots=True)
class Planned:
    """A transfer to insert, with the entries it makes on both accounts."""

    transfer: Transfer
    community_id: uuid.UUID
    asset: int
    debit_account_id: uuid.UUID
    credit_account_id: uuid.UUID
    amount: int
    timeout_at: datetime | None
    debit_version: int
    debit_posted_after: int
    debit_pending_after: int
    credit_version: int
    credit_posted_after: int
    credit_pending_after: int


@dataclass(slots=True)
class Decision:
    results: list[Result]
    planned: list[Planned] = field(default_factory=list)
    failures: list[tuple[Transfer, Result]] = field(default_factory=list)


@dataclass(slots=True)
class _Undo:
    """Enough to roll a linked chain back: account counters before, and what the chain added."""

    accounts: dict[uuid.UUID, Account] = field(default_factory=dict)
    planned: int = 0
    ids: list[uuid.UUID] = field(default_factory=list)
    resolved: list[uuid.UUID] = field(default_factory=list)
    reversed: list[uuid.UUID] = field(default_factory=list)


def _same_request(request: Transfer, stored: StoredTransfer) -> bool:
    accounts_given = request.debit_account_id != _NIL or request.credit_account_id != _NIL
    return (
        (
            not accounts_given
            or (request.debit_account_id, request.credit_account_id)
            == (stored.debit_account_id, stored.credit_account_id)
        )
        and (request.amount == stored.amount or (request.amount == 0 and bool(request.flags & _PHASES)))
        and request.code == stored.code
        and request.flags == stored.flags
        and request.pending_id == stored.pending_id
        and (request.timeout > 0) == (stored.timeout_at is not None)
        and request.reverses_id == stored.reverses_id
        and request.ref_type == stored.ref_type
        and request.ref_id == stored.ref_id
        and request.policy_version == stored.policy_version
        and request.memo == stored.memo
    )


class _Batch:
    def __init__(self, snapshot: Snapshot) -> None:
        self.s = snapshot
        self.decision = Decision(results=[])
        self.batch_transfers: dict[uuid.UUID, StoredTransfer] = {}
        self.batch_failed: dict[uuid.UUID, Result] = {}

    # -- validation -------------------------------------------------------------------------------------------
    def _static(self, t: Transfer) -> Result | None:
        phases = t.flags & _PHASES
        if t.id == _NIL:
            return Result.id_must_not_be_nil
        if phases not in (0, TransferFlags.pending, TransferFlags.post_pending, TransferFlags.void_pending) or (
            t.reverses_id is not None and phases
        ):
            return Result.flags_are_mutually_exclusive
        if t.timeout and not t.flags & TransferFlags.pending:
            return Result.timeout_reserved_for_pending
        if t.memo is not None and len(t.memo) > _MAX_MEMO:
            return Result.memo_too_long
        if t.code not in _CODES:
            return Result.code_not_registered
        if t.amount < 0 or (t.amount == 0 and not phases & (TransferFlags.post_pending | TransferFlags.void_pending)):
            return Result.amount_must_be_positive
        if t.amount > MAX_AMOUNT or t.timeout < 0:
            return Result.amount_too_large
        return None

    def _resolve_accounts(self, t: Transfer) -> tuple[Result | None, Transfer, StoredTransfer | None]:
        """Fill in the accounts and amount of a post, void or reversal from the transfer it refers to."""
        if t.flags & (TransferFlags.post_pending | TransferFlags.void_pending):
            pending = self._find(t.pending_id)
            if pending is None:
                return Result.pending_not_found, t, None
            if not pending.flags & TransferFlags.pending:
                return Result.pending_transfer_not_pending, t, None
            resolution = self.s.resolved.get(pending.id)
            if resolution is not None:
                already = resolution & TransferFlags.post_pending
                return (Result.pending_already_posted if already else Result.pending_already_voided), t, None
            given = (t.debit_account_id, t.credit_account_id)
            if given != (_NIL, _NIL) and given != (pending.debit_account_id, pending.credit_account_id):
                return Result.pending_accounts_differ, t, None
            expired = pending.timeout_at is not None and pending.timeout_at <= self.s.now
            if expired and not (t.flags & TransferFlags.void_pending and t.code == Code.expiry):
                return Result.pending_expired, t, None
            if t.amount > pending.amount:
                return Result.post_exceeds_pending, t, None
            amount = pending.amount if t.amount == 0 or t.flags & TransferFlags.void_pending else t.amount
            filled = replace(
                t, debit_account_id=pending.debit_account_id, credit_account_id=pending.credit_account_id, amount=amount
            )
            return None, filled, pending
        if t.reverses_id is not None:
            original = self._find(t.reverses_id)
            if original is None:
                return Result.reversal_not_found, t, None
            if original.flags & (TransferFlags.pending | TransferFlags.void_pending):
                return Result.reversal_of_unposted, t, None
            if original.id in self.s.reversed:
                return Result.already_reversed, t, None
            if (t.debit_account_id, t.credit_account_id) != (original.credit_account_id, original.debit_account_id):
                return Result.reversal_accounts_differ, t, None
            if t.amount != original.amount:
                return Result.reversal_amount_differs, t, None
        return None, t, None

    def _find(self, transfer_id: uuid.UUID | None) -> StoredTransfer | None:
        if transfer_id is None:
            return None
        return self.batch_transfers.get(transfer_id) or self.s.transfers.get(transfer_id)

    def _accounts(self, t: Transfer) -> tuple[Result | None, Account | None, Account | None]:
        if t.debit_account_id == t.credit_account_id:
            return Result.accounts_must_be_different, None, None
        debit = self.s.accounts.get(t.debit_account_id)
        credit = self.s.accounts.get(t.credit_account_id)
        if debit is None or credit is None:
            return Result.account_not_found, None, None
        if debit.closed or credit.closed:
            return Result.account_closed, None, None
        if debit.asset != credit.asset:
            return Result.asset_mismatch, None, None
        if debit.community_id != credit.community_id:
            return Result.community_mismatch, None, None
        return None, debit, credit

    # -- effects ----------------------------------------------------------------------------------------------
    @staticmethod
    def _deltas(t: Transfer, pending: StoredTransfer | None) -> tuple[int, int]:
        """(posted delta, pending delta) that the transfer adds to the debit side (and the credit side alike)."""
        if t.flags & TransferFlags.pending:
            return 0, t.amount
        if t.flags & TransferFlags.post_pending:
            assert pending is not None
            return t.amount, -pending.amount
        if t.flags & TransferFlags.void_pending:
            assert pending is not None
            return 0, -pending.amount
        return t.amount, 0

    @staticmethod
    def _limit_breach(debit: Account, credit: Account, posted: int, pending: int) -> Result | None:
        """The limit the transfer would break, judging the state after it; holds count as if they will post."""
        d_posted, d_pending = debit.debits_posted + posted, debit.debits_pending + pending
        c_posted, c_pending = credit.credits_posted + posted, credit.credits_pending + pending
        if debit.flags & AccountFlags.debits_must_not_exceed_credits:
            if debit.credits_posted - d_posted - d_pending < (debit.floor or 0):
                return Result.exceeds_credits
        elif (
            debit.flags & AccountFlags.credits_must_not_exceed_debits
            and debit.cap is not None
            and d_posted + d_pending - debit.credits_posted > debit.cap
        ):
            return Result.exceeds_cap
        if credit.flags & AccountFlags.credits_must_not_exceed_debits:
            if credit.debits_posted - c_posted - c_pending < (credit.floor or 0):
                return Result.exceeds_debits
        elif credit.cap is not None and c_posted + c_pending - credit.debits_posted > credit.cap:
            return Result.exceeds_cap
        return None

    def _apply(self, t: Transfer, pending: StoredTransfer | None, debit: Account, credit: Account, undo: _Undo) -> None:
        posted_delta, pending_delta = self._deltas(t, pending)
        for account in (debit, credit):
            undo.accounts.setdefault(account.id, replace(account))
        debit.debits_posted += posted_delta
        debit.debits_pending += pending_delta
        debit.version += 1
        credit.credits_posted += posted_delta
        credit.credits_pending += pending_delta
        credit.version += 1
        timeout_at = (
            self.s.now + timedelta(seconds=t.timeout) if t.flags & TransferFlags.pending and t.timeout else None
        )
        self.decision.planned.append(
            Planned(
                transfer=t,
                community_id=debit.community_id,
                asset=int(debit.asset),
                debit_account_id=debit.id,
                credit_account_id=credit.id,
                amount=t.amount,
                timeout_at=timeout_at,
                debit_version=debit.version,
                debit_posted_after=debit.posted,
                debit_pending_after=debit.pending,
                credit_version=credit.version,
                credit_posted_after=credit.posted,
                credit_pending_after=credit.pending,
            )
        )
        undo.planned += 1
        self.batch_transfers[t.id] = StoredTransfer(
            id=t.id, debit_account_id=debit.id, credit_account_id=credit.id, amount=t.amount, code=t.code,
            flags=t.flags, pending_id=t.pending_id, timeout_at=timeout_at, reverses_id=t.reverses_id,
            ref_type=t.ref_type, ref_id=t.ref_id, policy_version=t.policy_version, memo=t.memo,
        )  # fmt: skip
        undo.ids.append(t.id)
        if pending is not None:
            self.s.resolved[pending.id] = t.flags & (TransferFlags.post_pending | TransferFlags.void_pending)
            undo.resolved.append(pending.id)
        if t.reverses_id is not None:
            self.s.reversed.add(t.reverses_id)
            undo.reversed.append(t.reverses_id)

    def _rollback(self, undo: _Undo) -> None:
        for account_id, before in undo.accounts.items():
            self.s.accounts[account_id] = before
        del self.decision.planned[len(self.decision.planned) - undo.planned :]
        for transfer_id in undo.ids:
            self.batch_transfers.pop(transfer_id, None)
        for pending_id in undo.resolved:
            self.s.resolved.pop(pending_id, None)
        for reversed_id in undo.reversed:
            self.s.reversed.discard(reversed_id)

    # -- one transfer, one chain, one batch ------------------------------------------------------------------
    def _one(self, t: Transfer, undo: _Undo) -> Result:
        if (problem := self._static(t)) is not None:
            return problem
        existing = self.batch_transfers.get(t.id) or self.s.transfers.get(t.id)
        if existing is not None:
            return Result.exists if _same_request(t, existing) else Result.exists_with_different_fields
        failed = self.batch_failed.get(t.id) or self.s.failures.get(t.id)
        if failed is not None:
            return failed
        problem, t, pending = self._resolve_accounts(t)
        debit = credit = None
        if problem is None:
            problem, debit, credit = self._accounts(t)
        if problem is not None:
            return problem
        assert debit is not None
        assert credit is not None
        if (problem := self._limit_breach(debit, credit, *self._deltas(t, pending))) is not None:
            return problem
        self._apply(t, pending, debit, credit, undo)
        return Result.ok

    def _replayed(self, chain: list[Transfer]) -> bool:
        """A whole chain sent again after it succeeded: every member answers ``exists``, none fails the chain."""
        for t in chain:
            existing = self.batch_transfers.get(t.id) or self.s.transfers.get(t.id)
            if existing is None or not _same_request(t, existing):
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
                if result.remembered:
                    self.batch_failed[t.id] = result
                    self.decision.failures.append((t, result))
                break
        if results[-1] is not Result.ok and (len(chain) > 1 or chain_open):
            self._rollback(undo)
            failed_at, failure = len(results) - 1, results[-1]
            results = [Result.linked_event_failed] * len(chain)
            results[failed_at] = failure
        return results

    def run(self, transfers: list[Transfer]) -> Decision:
        index = 0
        while index < len(transfers):
            end = index
            while transfers[end].flags & TransferFlags.linked and end < len(transfers) - 1:
                end += 1
            chain_open = bool(transfers[end].flags & TransferFlags.linked)
            self.decision.results.extend(self._chain(transfers[index : end + 1], chain_open))
            index = end + 1
        return self.decision


def decide(transfers: list[Transfer], snapshot: Snapshot) -> Decision:
    """Decide every transfer of a batch in order.

    ``snapshot.transfers`` must hold every batch id already in the ledger, and every pending or reversal target.
    """
    return _Batch(snapshot).run(transfers)
