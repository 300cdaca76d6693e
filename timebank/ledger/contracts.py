"""Wire types of the ledger's HTTP API (msgspec Structs); conversion to and from the domain records."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from timebank.ledger.model import (
    MAX_AMOUNT,
    MAX_BATCH,
    Account,
    AccountFlags,
    Asset,
    NewAccount,
    Result,
    Transfer,
    TransferFlags,
    TransferRecord,
)

__all__ = [
    "AccountOpenRequest",
    "AccountResponse",
    "AccountsOpenRequest",
    "BalanceResponse",
    "StatementEntry",
    "TransferBatchRequest",
    "TransferBatchResponse",
    "TransferRequest",
    "TransferResponse",
    "TransferResultItem",
    "TransferView",
]

_NIL = uuid.UUID(int=0)
AssetName = Literal["service_minutes", "time_coins", "points", "party_score"]
FlagName = Literal["linked", "pending", "post_pending", "void_pending"]
AccountFlagName = Literal["debits_must_not_exceed_credits", "credits_must_not_exceed_debits"]
Amount = Annotated[int, msgspec.Meta(ge=0, le=MAX_AMOUNT, description="Integer amount in the asset's unit")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]


class _Request(msgspec.Struct, forbid_unknown_fields=True):
    """Request bodies refuse unknown fields, so a typo is an error rather than a silently ignored value."""


class _Response(msgspec.Struct, frozen=True):
    pass


class AccountOpenRequest(_Request, kw_only=True):
    id: uuid.UUID
    community_id: uuid.UUID
    asset: AssetName
    owner_kind: Name | None = None
    owner_id: uuid.UUID | None = None
    system_role: Name | None = None
    label: Annotated[str, msgspec.Meta(max_length=64)] = ""
    flags: list[AccountFlagName] = msgspec.field(default_factory=list)
    floor: int | None = None
    cap: Annotated[int, msgspec.Meta(ge=0)] | None = None

    def to_domain(self) -> NewAccount:
        flags = AccountFlags.none
        for name in self.flags:
            flags |= AccountFlags[name]
        return NewAccount(
            id=self.id, community_id=self.community_id, asset=Asset[self.asset], owner_kind=self.owner_kind,
            owner_id=self.owner_id, system_role=self.system_role, label=self.label, flags=flags, floor=self.floor,
            cap=self.cap,
        )  # fmt: skip


class AccountsOpenRequest(_Request, kw_only=True):
    accounts: Annotated[list[AccountOpenRequest], msgspec.Meta(min_length=1, max_length=MAX_BATCH)]


class AccountResponse(_Response, frozen=True, kw_only=True):
    id: uuid.UUID
    community_id: uuid.UUID
    asset: AssetName
    owner_kind: str | None
    owner_id: uuid.UUID | None
    system_role: str | None
    label: str
    flags: list[AccountFlagName]
    floor: int | None
    cap: int | None
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int
    posted: int
    pending: int
    available: int
    version: int
    closed: bool

    @classmethod
    def of(cls, account: Account) -> AccountResponse:
        return cls(
            id=account.id, community_id=account.community_id, asset=account.asset.name,  # type: ignore[arg-type]
            owner_kind=account.owner_kind, owner_id=account.owner_id, system_role=account.system_role,
            label=account.label, flags=[f.name for f in AccountFlags if f and f in account.flags],  # type: ignore[misc]
            floor=account.floor, cap=account.cap, debits_posted=account.debits_posted,
            credits_posted=account.credits_posted, debits_pending=account.debits_pending,
            credits_pending=account.credits_pending, posted=account.posted, pending=account.pending,
            available=account.available, version=account.version, closed=account.closed,
        )  # fmt: skip


class TransferRequest(_Request, kw_only=True):
    id: uuid.UUID
    # Optional only when posting or voiding a pending transfer, whose accounts they then default to.
    debit_account_id: uuid.UUID | None = None
    credit_account_id: uuid.UUID | None = None
    amount: Amount = 0
    code: Annotated[int, msgspec.Meta(ge=1, le=32767)]
    flags: list[FlagName] = msgspec.field(default_factory=list)
    pending_id: uuid.UUID | None = None
    timeout: Annotated[int, msgspec.Meta(ge=0, le=366 * 86400, description="Seconds a pending hold lives")] = 0
    reverses_id: uuid.UUID | None = None
    ref_type: Name | None = None
    ref_id: uuid.UUID | None = None
    policy_version: Annotated[int, msgspec.Meta(ge=0)] | None = None
    memo: Annotated[str, msgspec.Meta(max_length=500)] | None = None

    def to_domain(self) -> Transfer:
        flags = TransferFlags.none
        for name in self.flags:
            flags |= TransferFlags[name]
        return Transfer(
            id=self.id, debit_account_id=self.debit_account_id or _NIL,
            credit_account_id=self.credit_account_id or _NIL, amount=self.amount, code=self.code, flags=flags,
            pending_id=self.pending_id, timeout=self.timeout,
            reverses_id=self.reverses_id, ref_type=self.ref_type, ref_id=self.ref_id,
            policy_version=self.policy_version, memo=self.memo,
        )  # fmt: skip


class TransferBatchRequest(_Request, kw_only=True):
    transfers: Annotated[list[TransferRequest], msgspec.Meta(min_length=1, max_length=MAX_BATCH)]


class TransferResultItem(_Response, frozen=True, kw_only=True):
    index: int
    id: uuid.UUID
    result: str


class TransferBatchResponse(_Response, frozen=True, kw_only=True):
    results: list[TransferResultItem]
    ok: int
    failed: int

    @classmethod
    def of(cls, transfers: list[TransferRequest], results: list[Result]) -> TransferBatchResponse:
        pairs = enumerate(zip(transfers, results, strict=True))
        items = [TransferResultItem(index=i, id=t.id, result=r.name) for i, (t, r) in pairs]
        succeeded = sum(r in (Result.ok, Result.exists) for r in results)
        return cls(results=items, ok=succeeded, failed=len(results) - succeeded)


class TransferResponse(_Response, frozen=True, kw_only=True):
    id: uuid.UUID
    result: str


class TransferView(_Response, frozen=True, kw_only=True):
    id: uuid.UUID
    seq: int
    community_id: uuid.UUID
    asset: AssetName
    debit_account_id: uuid.UUID
    credit_account_id: uuid.UUID
    amount: int
    code: int
    flags: list[FlagName]
    pending_id: uuid.UUID | None
    timeout_at: datetime | None
    reverses_id: uuid.UUID | None
    ref_type: str | None
    ref_id: uuid.UUID | None
    policy_version: int | None
    memo: str | None
    created_at: datetime

    @classmethod
    def of(cls, record: TransferRecord) -> TransferView:
        return cls(
            id=record.id, seq=record.seq, community_id=record.community_id,
            asset=record.asset.name,  # type: ignore[arg-type]
            debit_account_id=record.debit_account_id, credit_account_id=record.credit_account_id,
            amount=record.amount, code=record.code,
            flags=[f.name for f in TransferFlags if f and f in record.flags],  # type: ignore[misc]
            pending_id=record.pending_id, timeout_at=record.timeout_at, reverses_id=record.reverses_id,
            ref_type=record.ref_type, ref_id=record.ref_id, policy_version=record.policy_version,
            memo=record.memo, created_at=record.created_at,
        )  # fmt: skip


class StatementEntry(_Response, frozen=True, kw_only=True):
    transfer_id: uuid.UUID
    version: int
    side: Literal["debit", "credit"]
    amount: int
    code: int
    flags: list[FlagName]
    counterparty_id: uuid.UUID
    posted_after: int
    pending_after: int
    ref_type: str | None
    ref_id: uuid.UUID | None
    memo: str | None
    created_at: datetime

    @classmethod
    def of(cls, row: dict[str, Any]) -> StatementEntry:
        flags = TransferFlags(row.pop("flags"))
        return cls(**row, flags=[f.name for f in TransferFlags if f and f in flags])  # type: ignore[misc]


class StatementResponse(_Response, frozen=True, kw_only=True):
    account_id: uuid.UUID
    entries: list[StatementEntry]
    next_after_version: int | None


class BalanceResponse(_Response, frozen=True, kw_only=True):
    account_id: uuid.UUID
    at: datetime
    version: int
    posted: int
    pending: int


class ReverseRequest(_Request, kw_only=True):
    reversal_id: uuid.UUID
    memo: Annotated[str, msgspec.Meta(max_length=500)] | None = None
