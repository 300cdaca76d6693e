"""A person's principal as loaded from the database: resident of home, grants, street reach, memberships."""

from __future__ import annotations

import uuid

import pytest

from tests.auth_support import Org
from timebank.access.principal import Role, ScopeKind
from timebank.access.principals import load_principal
from timebank.db import EVERY_COMMUNITY, Database, bound
from timebank.errors import NotFound


async def test_everyone_is_a_resident_of_home(org: Org) -> None:
    community = await org.community()
    person = await org.person(community)
    [grant] = person.principal.grants
    assert (grant.role, grant.scope_kind, grant.scope_id, grant.community_id) == (
        Role.resident, ScopeKind.self, person.id, community,
    )  # fmt: skip
    assert person.principal.communities == {community}
    assert person.principal.home_community_id == community
    assert person.principal.subject == str(person.id)


async def test_street_grants_reach_every_community_of_the_street(org: Org) -> None:
    street = await org.street()
    first, second = await org.community(street), await org.community(street)
    elsewhere = await org.community()
    auditor = await org.person(first, Role.auditor)
    [street_grant] = [g for g in auditor.principal.grants if g.role is Role.auditor]
    assert street_grant.scope_id == street
    assert street_grant.community_id is None
    assert street_grant.reach == {first, second}
    assert auditor.principal.communities == {first, second}
    assert not auditor.principal.sees(elsewhere)
    assert auditor.principal.holds(Role.auditor, community_id=second)


async def test_revoked_grants_are_gone_and_memberships_are_seen(org: Org, database: Database) -> None:
    home, paired = await org.community(), await org.community()
    person = await org.person(home, Role.community_staff)
    unit = await org.unit(paired)
    async with bound(database.pool, EVERY_COMMUNITY) as connection:
        await connection.execute("UPDATE role_grant SET revoked_at = now() WHERE person_id = $1", person.id)
        await connection.execute(
            "INSERT INTO membership (id, community_id, person_id, kind, member_type, unit_id) "
            "VALUES ($1, $2, $3, 'party_member', 'dual_registered', $4)",
            uuid.uuid4(), paired, person.id, unit,
        )  # fmt: skip
    principal = await load_principal(database.pool, person.id)
    assert principal.roles == {Role.resident}
    assert principal.communities == {home, paired}


async def test_unknown_person(database: Database) -> None:
    with pytest.raises(NotFound):
        await load_principal(database.pool, uuid.uuid4())
