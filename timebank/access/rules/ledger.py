"""Who may use the ledger's HTTP API.

Residents read their own accounts, statements, balances and transfers; partner-unit admins their unit's; community
staff their community's, and auditors every community of their street. Only community staff (in their own
community) and system accounts open and close accounts, and create and reverse transfers.

The ledger's handlers name no action, so these rules are keyed by their operation ids. A transfer names accounts
(or, for a post or void, its hold); every one must exist and lie in a community the caller may act in, else the
request answers 404 as if the account did not exist.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

import asyncpg
import msgspec

from timebank.access.policy import Lookup, Rule, Scope, Target, allow, not_found
from timebank.access.principal import Role, ScopeKind

__all__ = ["RULES"]

_READ = (
    *allow(Role.resident, within=Scope.self),
    *allow(Role.partner_admin, within=Scope.unit),
    *allow(Role.community_staff, within=Scope.community),
    *allow(Role.auditor, within=Scope.street),
    *allow(Role.system, within=Scope.system),
)
_WRITE = (
    *allow(Role.community_staff, within=Scope.community),
    *allow(Role.system, within=Scope.system),
)

#: Owner kinds of accounts that are a person's own: their accounts, and their score accounts per assessment period.
_PERSONAL_OWNERS = frozenset({"person", "person_period"})

#: Owner kinds of ledger accounts that are places a grant can name.
_OWNER_PLACES = {"unit": ScopeKind.unit, "team": ScopeKind.team}


def _owned(
    community_id: uuid.UUID, owners: Iterable[tuple[str | None, uuid.UUID | None]], missing: str, ref: dict[str, str]
) -> Target:
    people = set()
    places = set()
    for kind, owner_id in owners:
        if owner_id is None:
            continue
        if kind in _PERSONAL_OWNERS:
            people.add(owner_id)
        elif kind in _OWNER_PLACES:
            places.add((_OWNER_PLACES[kind], owner_id))
    return Target(community_id, frozenset(people), frozenset(places), missing=missing, ref=ref)


async def _account_in_path(lookup: Lookup, connection: asyncpg.Connection) -> Sequence[Target]:
    account_id = lookup.path("account_id")
    row = await connection.fetchrow(
        "SELECT community_id, owner_kind, owner_id FROM ledger_account WHERE id = $1", account_id
    )
    if row is None:
        raise not_found("no such account", account_id=str(account_id))
    return [
        _owned(
            row["community_id"],
            [(row["owner_kind"], row["owner_id"])],
            "no such account",
            {"account_id": str(account_id)},
        )
    ]


async def _owner_in_query(lookup: Lookup, connection: asyncpg.Connection) -> Sequence[Target]:
    community_id = lookup.required_query("community_id", uuid.UUID)
    owner_kind = lookup.required_query("owner_kind", str)
    owner_id = lookup.required_query("owner_id", uuid.UUID)
    return [_owned(community_id, [(owner_kind, owner_id)], "no such community", {"community_id": str(community_id)})]


async def _transfer_in_path(lookup: Lookup, connection: asyncpg.Connection) -> Sequence[Target]:
    transfer_id = lookup.path("transfer_id")
    row = await connection.fetchrow(
        """
        SELECT t.community_id, d.owner_kind AS debit_kind, d.owner_id AS debit_owner,
               c.owner_kind AS credit_kind, c.owner_id AS credit_owner
        FROM ledger_transfer t
        JOIN ledger_account d ON d.id = t.debit_account_id
        JOIN ledger_account c ON c.id = t.credit_account_id
        WHERE t.id = $1
        """,
        transfer_id,
    )
    if row is None:
        raise not_found("no such transfer", transfer_id=str(transfer_id))
    owners = [(row["debit_kind"], row["debit_owner"]), (row["credit_kind"], row["credit_owner"])]
    return [_owned(row["community_id"], owners, "no such transfer", {"transfer_id": str(transfer_id)})]


class _AccountRefs(msgspec.Struct):
    community_id: uuid.UUID
    owner_kind: str | None = None
    owner_id: uuid.UUID | None = None


class _AccountsBody(msgspec.Struct):
    accounts: list[_AccountRefs]


async def _accounts_in_body(lookup: Lookup, connection: asyncpg.Connection) -> Sequence[Target]:
    body = await lookup.body(_AccountsBody)
    return [
        _owned(a.community_id, [(a.owner_kind, a.owner_id)], "no such community", {"community_id": str(a.community_id)})
        for a in body.accounts
    ]


class _TransferRefs(msgspec.Struct):
    debit_account_id: uuid.UUID | None = None
    credit_account_id: uuid.UUID | None = None
    pending_id: uuid.UUID | None = None


class _TransfersBody(msgspec.Struct):
    transfers: list[_TransferRefs]


async def _transfer_targets(refs: Sequence[_TransferRefs], connection: asyncpg.Connection) -> list[Target]:
    """The accounts (and holds) the transfers name; any that is not there answers 404 for the whole request."""
    account_ids = {i for r in refs for i in (r.debit_account_id, r.credit_account_id) if i is not None}
    pending_ids = {r.pending_id for r in refs if r.pending_id is not None}
    targets = []
    if account_ids:
        rows = await connection.fetch(
            "SELECT id, community_id, owner_kind, owner_id FROM ledger_account WHERE id = ANY($1::uuid[])",
            list(account_ids),
        )
        for absent in sorted(account_ids - {row["id"] for row in rows}):
            raise not_found("no such account", account_id=str(absent))
        targets += [
            _owned(
                row["community_id"],
                [(row["owner_kind"], row["owner_id"])],
                "no such account",
                {"account_id": str(row["id"])},
            )
            for row in rows
        ]
    if pending_ids:
        rows = await connection.fetch(
            "SELECT id, community_id FROM ledger_transfer WHERE id = ANY($1::uuid[])", list(pending_ids)
        )
        for absent in sorted(pending_ids - {row["id"] for row in rows}):
            raise not_found("no such transfer", transfer_id=str(absent))
        targets += [
            Target(row["community_id"], missing="no such transfer", ref={"transfer_id": str(row["id"])}) for row in rows
        ]
    return targets


async def _transfer_in_body(lookup: Lookup, connection: asyncpg.Connection) -> Sequence[Target]:
    return await _transfer_targets([await lookup.body(_TransferRefs)], connection)


async def _transfers_in_body(lookup: Lookup, connection: asyncpg.Connection) -> Sequence[Target]:
    return await _transfer_targets((await lookup.body(_TransfersBody)).transfers, connection)


RULES = (
    Rule(("GetAccount", "GetStatement", "GetBalanceAt"), allow=_READ, target=_account_in_path),
    Rule(("ListAccountsOfOwner",), allow=_READ, target=_owner_in_query),
    Rule(("GetTransfer",), allow=_READ, target=_transfer_in_path),
    Rule(("OpenAccounts",), allow=_WRITE, target=_accounts_in_body),
    Rule(("CloseAccount",), allow=_WRITE, target=_account_in_path),
    Rule(("CreateTransfer",), allow=_WRITE, target=_transfer_in_body),
    Rule(("CreateTransfers",), allow=_WRITE, target=_transfers_in_body),
    Rule(("ReverseTransfer",), allow=_WRITE, target=_transfer_in_path),
)
