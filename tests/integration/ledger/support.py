"""Shared by the ledger tests: builders for accounts and transfers, and a check of a community's books from SQL."""

from __future__ import annotations

import uuid

import asyncpg

from timebank.ledger import (
    Account,
    AccountFlags,
    Asset,
    Code,
    LedgerService,
    NewAccount,
    Result,
    Transfer,
    TransferFlags,
)
from timebank.ledger.store import ACCOUNT_COLUMNS

NIL = uuid.UUID(int=0)
NO_OVERDRAFT = AccountFlags.debits_must_not_exceed_credits


def system_account(community_id: uuid.UUID, asset: Asset = Asset.points, *, role: str = "issuer") -> NewAccount:
    """An unconstrained account of the community (issuer, pool): its balance may go negative."""
    return NewAccount(id=uuid.uuid4(), community_id=community_id, asset=asset, system_role=role)


def person_account(
    community_id: uuid.UUID,
    asset: Asset = Asset.points,
    *,
    flags: AccountFlags = NO_OVERDRAFT,
    floor: int | None = None,
    cap: int | None = None,
) -> NewAccount:
    """A member's account; by default it may not spend more than it holds."""
    return NewAccount(
        id=uuid.uuid4(),
        community_id=community_id,
        asset=asset,
        owner_kind="person",
        owner_id=uuid.uuid4(),
        flags=flags,
        floor=floor,
        cap=cap,
    )


def transfer(
    debit: uuid.UUID | NewAccount,
    credit: uuid.UUID | NewAccount,
    amount: int,
    *,
    code: int = Code.gift,
    flags: TransferFlags = TransferFlags.none,
    id: uuid.UUID | None = None,
    **fields: object,
) -> Transfer:
    """A transfer with a fresh id between two accounts (given as ids or as the NewAccount that opened them)."""
    return Transfer(
        id=id or uuid.uuid4(),
        debit_account_id=debit.id if isinstance(debit, NewAccount) else debit,
        credit_account_id=credit.id if isinstance(credit, NewAccount) else credit,
        amount=amount,
        code=code,
        flags=flags,
        **fields,  # type: ignore[arg-type]
    )


def post(pending: Transfer, amount: int = 0, **fields: object) -> Transfer:
    """Post ``pending`` (in full when ``amount`` is 0), leaving the accounts for the ledger to fill in."""
    return transfer(
        NIL, NIL, amount, code=pending.code, flags=TransferFlags.post_pending, pending_id=pending.id, **fields
    )


def void(pending: Transfer, *, amount: int = 0, code: int | None = None, **fields: object) -> Transfer:
    """Void ``pending`` (all of it, whatever ``amount`` up to it says), leaving the ledger to fill in the accounts."""
    flags = TransferFlags.void_pending
    return transfer(NIL, NIL, amount, code=code or pending.code, flags=flags, pending_id=pending.id, **fields)


def counters(account: Account) -> tuple[int, int, int, int, int]:
    """The four counters and the version, the whole of an account's moving state."""
    return (
        account.debits_posted,
        account.credits_posted,
        account.debits_pending,
        account.credits_pending,
        account.version,
    )


async def counters_of(ledger: LedgerService, *accounts: uuid.UUID | NewAccount) -> list[tuple[int, int, int, int, int]]:
    ids = [a.id if isinstance(a, NewAccount) else a for a in accounts]
    return [counters(await ledger.get_account(account_id)) for account_id in ids]


async def open_funded(
    ledger: LedgerService, amount: int, *, asset: Asset = Asset.points, **person: object
) -> tuple[NewAccount, NewAccount]:
    """A fresh community with an issuer and one member holding ``amount`` (nothing issued when 0)."""
    community_id = uuid.uuid4()
    issuer = system_account(community_id, asset)
    member = person_account(community_id, asset, **person)  # type: ignore[arg-type]
    await ledger.open_accounts([issuer, member])
    if amount:
        assert await ledger.create_transfers([transfer(issuer, member, amount, code=Code.issuance)]) == [Result.ok]
    return issuer, member


async def check_books(pool: asyncpg.Pool, community_id: uuid.UUID) -> None:
    """Assert the community's books from the stored rows alone, recomputing every balance from its transfers.

    Per asset Σdebits = Σcredits (posted and pending); each account's counters equal its transfers' effects; its
    versions run 1..n without gaps; each entry's running balances are right; the last equals the account's; limits
    hold counting holds; a hold is resolved at most once, on its own accounts, never for more than it held.
    """
    accounts = {
        row["id"]: row
        for row in await pool.fetch(
            f"SELECT {ACCOUNT_COLUMNS} FROM ledger_account WHERE community_id = $1", community_id
        )
    }
    transfers = await pool.fetch("SELECT * FROM ledger_transfer WHERE community_id = $1 ORDER BY seq", community_id)
    by_id = {t["id"]: t for t in transfers}
    for asset in {a["asset"] for a in accounts.values()}:
        held_in = [a for a in accounts.values() if a["asset"] == asset]
        assert sum(a["debits_posted"] for a in held_in) == sum(a["credits_posted"] for a in held_in), f"asset {asset}"
        assert sum(a["debits_pending"] for a in held_in) == sum(a["credits_pending"] for a in held_in), f"asset {asset}"

    # Each transfer's effect on (posted, pending) of both sides, by its phase.
    entries: dict[uuid.UUID, list[tuple[int, str, int, int, int, int]]] = {a: [] for a in accounts}
    resolutions: dict[uuid.UUID, int] = {}
    for t in transfers:
        phase = t["flags"] & 14
        posted, pending = {0: (t["amount"], 0), 2: (0, t["amount"])}.get(phase, (0, 0))
        if phase in (4, 8):
            held = by_id[t["pending_id"]]
            assert held["flags"] & 2, "resolves a transfer that is no hold"
            assert (held["debit_account_id"], held["credit_account_id"]) == (
                t["debit_account_id"],
                t["credit_account_id"],
            )
            assert t["amount"] <= held["amount"], "posts more than was held"
            resolutions[held["id"]] = resolutions.get(held["id"], 0) + 1
            posted, pending = (t["amount"] if phase == 4 else 0), -held["amount"]
        for side in ("debit", "credit"):
            entries[t[f"{side}_account_id"]].append(
                (t[f"{side}_version"], side, posted, pending, t[f"{side}_posted_after"], t[f"{side}_pending_after"])
            )
    assert all(count == 1 for count in resolutions.values()), "a hold resolved twice"

    for account_id, account in accounts.items():
        dp = cp = dq = cq = 0
        rows = sorted(entries[account_id])
        assert [version for version, *_ in rows] == list(range(1, account["version"] + 1)), f"versions of {account_id}"
        for version, side, posted, pending, posted_after, pending_after in rows:
            if side == "debit":
                dp, dq = dp + posted, dq + pending
            else:
                cp, cq = cp + posted, cq + pending
            assert (posted_after, pending_after) == (cp - dp, cq - dq), f"running balance of {account_id} v{version}"
        kept = tuple(account[c] for c in ("debits_posted", "credits_posted", "debits_pending", "credits_pending"))
        assert kept == (dp, cp, dq, cq), f"counters of {account_id}"
        floor = account["floor"] or 0
        if account["flags"] == AccountFlags.debits_must_not_exceed_credits:
            assert cp - dp - dq >= floor, f"{account_id} below its floor"
        if account["flags"] == AccountFlags.credits_must_not_exceed_debits:
            assert dp - cp - cq >= floor, f"{account_id} below its floor"
