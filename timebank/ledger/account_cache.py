"""What the process last saw committed of each account, so a batch of plain transfers is decided without a read.

Why: the read before a batch (``ledger_read_batch``) is a round trip and a statement per batch, paid while the batch's
callers wait. The write that follows already checks, under the account locks, everything a decision rested on
(``ledger_write_batch``: the versions of accounts a refusal rested on, the room left above floors and below caps, ids
decided elsewhere, closed accounts, counter overflow), and moves the rows' entries on by however far their accounts
moved. Those checks hold whatever state the batch was decided on, so deciding on a state remembered from an earlier
commit gives the same answers as deciding on a fresh read; when the remembered state was too far off, the write
refuses and the batch is decided again under locks.

Only states known to be committed go in (the write of an optimistic batch is its own transaction), so a version
always stands for the one state the account had at that version. Static fields (community, asset, flags, floor, cap)
never change; ``closed`` only turns true, which the write refuses, and the service forgets an account it closes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from timebank.ledger.engine import Snapshot
from timebank.ledger.model import Account, Transfer, TransferFlags

__all__ = ["AccountCache"]

#: Posts, voids and reversals are decided on the transfers they name, which only a read returns.
_NEEDS_READ = int(TransferFlags.post_pending | TransferFlags.void_pending)
#: An account's moving state: version, debits posted, credits posted, debits pending, credits pending. Everything
#: else of an account is fixed when it opens.
Counters = Sequence[int]


class AccountCache:
    """Accounts as last committed, bounded (about 420 bytes each, measured): when full it starts over; a miss costs
    one read, never a wrong answer."""

    def __init__(self, max_accounts: int = 100_000) -> None:
        self._max_accounts = max_accounts
        self._accounts: dict[uuid.UUID, Account] = {}

    def __len__(self) -> int:
        return len(self._accounts)

    def snapshot(self, transfers: Sequence[Transfer]) -> Snapshot | None:
        """A snapshot to decide ``transfers`` on, or None when they need a read (an account not seen, a post, void
        or reversal). The accounts are copies: deciding moves their counters."""
        accounts: dict[uuid.UUID, Account] = {}
        cached = self._accounts
        for t in transfers:
            if int(t.flags) & _NEEDS_READ or t.reverses_id is not None:
                return None
            for account_id in (t.debit_account_id, t.credit_account_id):
                if account_id not in accounts:
                    account = cached.get(account_id)
                    if account is None:
                        return None
                    accounts[account_id] = _copy(account)
        # The write stamps rows with its own clock and moves hold timeouts by (its clock - this), so the clock of
        # this process serves as well as the database's here: nothing in a plain batch is decided on the time.
        return Snapshot(
            now=datetime.now(UTC), accounts=accounts, transfers={}, resolved={}, reversed=set(), failures={}
        )

    def committed(self, decided: Account, *, read: Counters, found: Counters) -> None:
        """Remember an account after a write committed: what the write ``found`` under its lock, moved on by what
        the batch moved (``decided``, the account after the batch's decisions, less the state it was ``read`` in).
        Nothing changes when a later version is known already."""
        moved = (
            decided.version, decided.debits_posted, decided.credits_posted, decided.debits_pending,
            decided.credits_pending,
        )  # fmt: skip
        version, dp, cp, dq, cq = (f + m - r for f, m, r in zip(found, moved, read, strict=True))
        known = self._accounts.get(decided.id)
        if known is not None and known.version >= version:
            return
        if known is None and len(self._accounts) >= self._max_accounts:
            self._accounts.clear()
        remembered = _copy(decided)
        remembered.version = version
        remembered.debits_posted, remembered.credits_posted = dp, cp
        remembered.debits_pending, remembered.credits_pending = dq, cq
        self._accounts[decided.id] = remembered

    def forget(self, account_ids: Iterable[uuid.UUID]) -> None:
        for account_id in account_ids:
            self._accounts.pop(account_id, None)


def _copy(account: Account) -> Account:
    return Account(
        id=account.id,
        community_id=account.community_id,
        asset=account.asset,
        owner_kind=None,
        owner_id=None,
        system_role=None,
        label="",
        flags=account.flags,
        floor=account.floor,
        cap=account.cap,
        debits_posted=account.debits_posted,
        credits_posted=account.credits_posted,
        debits_pending=account.debits_pending,
        credits_pending=account.credits_pending,
        version=account.version,
        closed=account.closed,
    )
