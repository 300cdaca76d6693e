"""The ledger's vocabulary: assets, flags, reasons, result codes, and the records the engine reads and writes.

Pure data, no I/O. Amounts are integers in the asset's unit; balances are ``credits - debits``.
"""

from __future__ import annotations

import enum
import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime

__all__ = [
    "MAX_AMOUNT",
    "MAX_BATCH",
    "MAX_COUNTER",
    "MAX_POLICY_VERSION",
    "MAX_TIMEOUT",
    "Account",
    "AccountFlags",
    "Asset",
    "Code",
    "NewAccount",
    "Result",
    "Transfer",
    "TransferFlags",
    "TransferRecord",
]

#: Largest batch of transfers accepted at once (TigerBeetle's message limit).
MAX_BATCH = 8190
#: Largest amount: one transfer can never overflow a bigint counter by itself.
MAX_AMOUNT = 2**62
#: Largest counter sum (debits or credits, posted plus pending) an account can reach: PostgreSQL's bigint.
MAX_COUNTER = 2**63 - 1
#: Longest hold, in seconds (TigerBeetle's u32 timeout): now + timeout always fits a timestamp.
MAX_TIMEOUT = 2**32 - 1
#: policy_version is a PostgreSQL integer.
MAX_POLICY_VERSION = 2**31 - 1


class Asset(enum.IntEnum):
    """What an account holds. Transfers move one asset between two accounts of it."""

    service_minutes = 1
    time_coins = 2
    points = 3
    party_score = 4


class AccountFlags(enum.IntFlag):
    none = 0
    debits_must_not_exceed_credits = 1
    credits_must_not_exceed_debits = 2


class TransferFlags(enum.IntFlag):
    none = 0
    linked = 1
    pending = 2
    post_pending = 4
    void_pending = 8


class Code(enum.IntEnum):
    """Why a transfer happened; mirrored by the ``ledger_code`` table."""

    service_credit = 1
    redemption = 2
    gift = 3
    donation = 4
    grant = 5
    reversal = 6
    expiry = 7
    adjustment = 8
    help_payment = 9
    score_base = 10
    score_bonus = 11
    score_deduction = 12
    overflow = 13
    order_reward = 14
    issuance = 15


class Result(enum.IntEnum):
    """Outcome of one transfer in a batch, as TigerBeetle reports it; ``ok`` is the only success."""

    ok = 0
    exists = 1
    exists_with_different_fields = 2
    linked_event_failed = 3
    linked_event_chain_open = 4
    amount_must_be_positive = 5
    amount_too_large = 6
    accounts_must_be_different = 7
    account_not_found = 8
    account_closed = 9
    asset_mismatch = 10
    community_mismatch = 11
    exceeds_credits = 12
    exceeds_debits = 13
    exceeds_cap = 14
    pending_not_found = 15
    pending_transfer_not_pending = 16
    pending_already_posted = 17
    pending_already_voided = 18
    pending_expired = 19
    post_exceeds_pending = 20
    pending_accounts_differ = 21
    timeout_reserved_for_pending = 22
    flags_are_mutually_exclusive = 23
    reversal_not_found = 24
    reversal_of_unposted = 25
    already_reversed = 26
    code_not_registered = 27
    memo_too_long = 28
    id_must_not_be_nil = 29
    reversal_accounts_differ = 30
    reversal_amount_differs = 31
    # Appended after the first release: the numbers above are stored in ledger_transfer_failure and never change.
    overflows_debits = 32
    overflows_credits = 33
    overflows_timeout = 34
    timeout_must_not_be_negative = 35
    invalid_text = 36
    policy_version_out_of_range = 37
    reserved_flag = 38

    @property
    def remembered(self) -> bool:
        """Failures that depend on the ledger's state are stored, so a retry cannot succeed later."""
        return self in _REMEMBERED


_REMEMBERED = frozenset(
    {
        Result.account_not_found,
        Result.account_closed,
        Result.exceeds_credits,
        Result.exceeds_debits,
        Result.exceeds_cap,
        Result.overflows_debits,
        Result.overflows_credits,
        Result.pending_not_found,
        Result.pending_already_posted,
        Result.pending_already_voided,
        Result.pending_expired,
        Result.reversal_not_found,
        Result.already_reversed,
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class NewAccount:
    """An account to open. Either an owner (kind and id) or a system role of the community."""

    id: uuid.UUID
    community_id: uuid.UUID
    asset: Asset
    owner_kind: str | None = None
    owner_id: uuid.UUID | None = None
    system_role: str | None = None
    label: str = ""
    flags: AccountFlags = AccountFlags.none
    floor: int | None = None
    cap: int | None = None


@dataclass(slots=True, kw_only=True)
class Account:
    """An account with its four counters; balances are derived from them."""

    id: uuid.UUID
    community_id: uuid.UUID
    asset: Asset
    owner_kind: str | None
    owner_id: uuid.UUID | None
    system_role: str | None
    label: str
    flags: AccountFlags
    floor: int | None
    cap: int | None
    debits_posted: int = 0
    credits_posted: int = 0
    debits_pending: int = 0
    credits_pending: int = 0
    version: int = 0
    closed: bool = False
    created_at: datetime | None = None

    @property
    def posted(self) -> int:
        """Posted balance, credits minus debits."""
        return self.credits_posted - self.debits_posted

    @property
    def pending(self) -> int:
        """Net pending amount, credits minus debits."""
        return self.credits_pending - self.debits_pending

    @property
    def available(self) -> int:
        """What can be spent now: posted balance less pending debits (holds)."""
        return self.credits_posted - self.debits_posted - self.debits_pending


@dataclass(frozen=True, slots=True, kw_only=True)
class Transfer:
    """A transfer request. ``id`` is the client's idempotency key.

    For ``post_pending`` and ``void_pending`` the accounts may be left nil: they come from the pending transfer.
    ``amount`` 0 on either stands for the pending amount. A post may name less (a partial post; the rest is released);
    a void always releases the whole hold, and is stored with the amount it named. ``timeout`` (seconds, at most
    :data:`MAX_TIMEOUT`) only on ``pending``. Text must be storable in PostgreSQL (no NUL characters).
    """

    id: uuid.UUID
    debit_account_id: uuid.UUID
    credit_account_id: uuid.UUID
    amount: int
    code: int
    flags: TransferFlags = TransferFlags.none
    pending_id: uuid.UUID | None = None
    timeout: int = 0
    reverses_id: uuid.UUID | None = None
    ref_type: str | None = None
    ref_id: uuid.UUID | None = None
    policy_version: int | None = None
    memo: str | None = None

    def request_hash(self) -> int:
        """A stable 63-bit digest of every field, to tell a true retry from a reused id."""
        text = "|".join(
            str(value)
            for value in (
                self.debit_account_id,
                self.credit_account_id,
                self.amount,
                self.code,
                int(self.flags),
                self.pending_id,
                self.timeout,
                self.reverses_id,
                self.ref_type,
                self.ref_id,
                self.policy_version,
                self.memo,
            )
        )
        return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big") >> 1


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferRecord:
    """A stored transfer: the request as applied, its sequence in the chain, and both entries."""

    id: uuid.UUID
    seq: int
    community_id: uuid.UUID
    asset: Asset
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
    debit_version: int
    debit_posted_after: int
    debit_pending_after: int
    credit_version: int
    credit_posted_after: int
    credit_pending_after: int
    created_at: datetime
