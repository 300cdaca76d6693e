"""Which ledger accounts a community, a person and a partner unit hold, with ids derived from their owners.

Ids are UUIDv5 of (community, owner, asset), so opening is idempotent: joining twice, or importing the same file
again, finds the accounts already there instead of opening new ones.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from enum import StrEnum

import asyncpg

from timebank.ledger import AccountFlags, Asset, NewAccount, insert_accounts

__all__ = [
    "SystemRole",
    "account_id",
    "community_accounts",
    "open_accounts",
    "person_accounts",
    "system_account_id",
    "unit_accounts",
]

_NAMESPACE = uuid.UUID("6f1d3c1e-2b7a-5d0c-9a57-0c6f4e2d9b10")


class SystemRole(StrEnum):
    """A community's own accounts. Issuance has no limits: every asset enters the books by a debit to it."""

    issuance = "issuance"
    donation_pool = "donation_pool"
    mall_sink = "mall_sink"
    expiry = "expiry"


#: Which system accounts each asset has in every community.
_SYSTEM_ACCOUNTS: dict[Asset, tuple[SystemRole, ...]] = {
    Asset.service_minutes: (SystemRole.issuance,),
    Asset.time_coins: (SystemRole.issuance, SystemRole.donation_pool),
    Asset.points: (SystemRole.issuance, SystemRole.mall_sink, SystemRole.expiry),
    Asset.party_score: (SystemRole.issuance,),
}


def account_id(community_id: uuid.UUID, owner_kind: str, owner_id: uuid.UUID, asset: Asset) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, f"{community_id}/{owner_kind}/{owner_id}/{asset.name}")


def system_account_id(community_id: uuid.UUID, role: SystemRole, asset: Asset) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, f"{community_id}/system/{role.value}/{asset.name}")


def community_accounts(community_id: uuid.UUID) -> list[NewAccount]:
    accounts = []
    for asset, roles in _SYSTEM_ACCOUNTS.items():
        for role in roles:
            # Pools and sinks only pass on what they received; issuance is where value starts.
            flags = AccountFlags.none if role is SystemRole.issuance else AccountFlags.debits_must_not_exceed_credits
            accounts.append(
                NewAccount(
                    id=system_account_id(community_id, role, asset),
                    community_id=community_id,
                    asset=asset,
                    system_role=role.value,
                    flags=flags,
                )
            )
    return accounts


def person_accounts(community_id: uuid.UUID, person_id: uuid.UUID, *, party_member: bool) -> list[NewAccount]:
    """A member's hours, coins and points (never overdrawn) and, for party members, the party score.

    Party score may go below zero: deductions (e.g. missed organisational life) are not capped by what was earned.
    """
    assets = [Asset.service_minutes, Asset.time_coins, Asset.points]
    accounts = [
        _owned(community_id, "person", person_id, asset, AccountFlags.debits_must_not_exceed_credits)
        for asset in assets
    ]
    if party_member:
        accounts.append(_owned(community_id, "person", person_id, Asset.party_score, AccountFlags.none))
    return accounts


def unit_accounts(community_id: uuid.UUID, unit_id: uuid.UUID) -> list[NewAccount]:
    """A partner unit's points budget (for projects and donations), never overdrawn."""
    return [_owned(community_id, "unit", unit_id, Asset.points, AccountFlags.debits_must_not_exceed_credits)]


async def open_accounts(connection: asyncpg.Connection, accounts: Sequence[NewAccount]) -> None:
    """Open the accounts not yet open, on the caller's transaction, so joining and opening commit together."""
    ids = [account.id for account in accounts]
    existing = {row["id"] for row in await connection.fetch("SELECT id FROM ledger_account WHERE id = ANY($1)", ids)}
    missing = [account for account in accounts if account.id not in existing]
    if missing:
        await insert_accounts(connection, missing)


def _owned(
    community_id: uuid.UUID, owner_kind: str, owner_id: uuid.UUID, asset: Asset, flags: AccountFlags
) -> NewAccount:
    return NewAccount(
        id=account_id(community_id, owner_kind, owner_id, asset),
        community_id=community_id,
        asset=asset,
        owner_kind=owner_kind,
        owner_id=owner_id,
        flags=flags,
    )
