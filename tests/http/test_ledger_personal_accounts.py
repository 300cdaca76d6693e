"""A member reads their own score account of an assessment period through the ledger API; a neighbour cannot."""

from __future__ import annotations

import uuid

import httpx

from tests.auth_support import Org, headers_for
from timebank.access.principal import Role
from timebank.db import Database
from timebank.ledger import AccountFlags, Asset, LedgerService, NewAccount


async def test_a_period_score_account_is_its_members_own(
    client: httpx.AsyncClient, org: Org, database: Database
) -> None:
    community = await org.community()
    member = await org.person(community, Role.resident)
    neighbour = await org.person(community, Role.resident)
    staff = await org.person(community, Role.community_staff)
    account = NewAccount(
        id=uuid.uuid4(), community_id=community, asset=Asset.party_score, owner_kind="person_period",
        owner_id=member.id, label="2026", flags=AccountFlags.none,
    )  # fmt: skip
    await LedgerService(database.pool).open_accounts([account])
    url = f"/v1/ledger/accounts/{account.id}"
    own = await client.get(url, headers=headers_for(member))
    other = await client.get(url, headers=headers_for(neighbour))
    staffs = await client.get(url, headers=headers_for(staff))
    assert (own.status_code, other.status_code, staffs.status_code) == (200, 403, 200)
    assert own.json()["owner_kind"] == "person_period"
