"""People, memberships, family links and role grants, on a real database bound by community."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest

from timebank.access.principal import Grant, Principal, Role, ScopeKind
from timebank.community import family, organisation, people, places
from timebank.community.accounts import account_id, person_accounts
from timebank.db import EVERY_COMMUNITY, Database, bound
from timebank.errors import Conflict, NotFound
from timebank.ledger import Asset

SYSTEM = Principal(subject="system:test", person_id=None, home_community_id=None)


@dataclass(frozen=True)
class Street:
    here: uuid.UUID
    there: uuid.UUID
    household: uuid.UUID
    staff: Principal  # community staff of ``here``, a real person (grants and verifications name who did them)


@pytest.fixture(name="street")
async def fx_street(database: Database) -> Street:
    street_id, here, there = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    household = uuid.uuid4()
    async with bound(database.pool, EVERY_COMMUNITY) as connection:
        await connection.execute(
            "INSERT INTO street (id, code, name) VALUES ($1, $2, '望城街道')", street_id, f"s-{street_id.hex[:8]}"
        )
        for community, name in ((here, "苏州路社区"), (there, "烟台路社区")):
            await places.create_community(
                connection, SYSTEM, id=community, street_id=street_id, code=f"c-{community.hex[:12]}", name=name
            )
        compound, _ = await places.add_place(connection, SYSTEM, here, id=uuid.uuid4(), kind="compound", name="一区")
        building, _ = await places.add_place(
            connection, SYSTEM, here, id=uuid.uuid4(), kind="building", name="3号楼", parent_id=compound.id
        )
        await places.add_place(
            connection, SYSTEM, here, id=household, kind="household", name="2-301", parent_id=building.id
        )
        clerk, _ = await people.register_person(
            connection, SYSTEM, here, people.NewPerson(id=uuid.uuid4(), name="社区干事")
        )
    return Street(here=here, there=there, household=household, staff=staff_of(here, clerk.id))


def staff_of(community: uuid.UUID, person: uuid.UUID | None = None) -> Principal:
    person = person or uuid.uuid4()
    return Principal(
        subject=f"person:{person}",
        person_id=person,
        home_community_id=community,
        grants=(Grant(Role.community_staff, ScopeKind.community, community, community),),
        communities=frozenset({community}),
    )


async def register(database: Database, street: Street, name: str = "王秀英") -> people.Person:
    new = people.NewPerson(id=uuid.uuid4(), name=name, phone="13805321234", household_id=street.household)
    async with bound(database.pool, [street.here]) as connection:
        person, created = await people.register_person(connection, staff_of(street.here), street.here, new)
    assert created
    return person


async def test_registering_opens_the_resident_accounts_once(database: Database, street: Street) -> None:
    new = people.NewPerson(id=uuid.uuid4(), name="李建国", household_id=street.household)
    staff = street.staff
    async with bound(database.pool, [street.here]) as connection:
        first, created = await people.register_person(connection, staff, street.here, new)
        again, created_again = await people.register_person(connection, staff, street.here, new)
        accounts = await connection.fetch(
            "SELECT asset FROM ledger_account WHERE owner_id = $1 ORDER BY asset", first.id
        )
        kinds = [m.kind for m in await people.memberships_of(connection, first.id)]
        audit = await connection.fetch("SELECT action FROM audit_event WHERE entity_id = $1", str(first.id))
    assert (created, created_again) == (True, False)
    assert again == first
    assert [row["asset"] for row in accounts] == [Asset.service_minutes, Asset.time_coins, Asset.points]
    assert kinds == ["resident"]
    assert [row["action"] for row in audit] == ["register"]


async def test_same_id_for_another_person_is_a_conflict(database: Database, street: Street) -> None:
    person = await register(database, street)
    other = people.NewPerson(id=person.id, name="另一个人")
    async with bound(database.pool, [street.here]) as connection:
        with pytest.raises(Conflict) as caught:
            await people.register_person(connection, staff_of(street.here), street.here, other)
    assert caught.value.fields["field"] == "id"


async def test_joining_the_party_opens_the_score_account(database: Database, street: Street) -> None:
    person = await register(database, street)
    staff = street.staff
    membership = people.NewMembership(
        id=uuid.uuid4(), person_id=person.id, kind="party_member", member_type="community_managed"
    )
    async with bound(database.pool, [street.here]) as connection:
        joined, created = await people.join(connection, staff, street.here, membership)
        _, replayed = await people.join(connection, staff, street.here, membership)
        with pytest.raises(Conflict):
            await people.join(
                connection,
                staff,
                street.here,
                people.NewMembership(id=uuid.uuid4(), person_id=person.id, kind="party_member", member_type="retired"),
            )
        score = await connection.fetchval(
            "SELECT count(*) FROM ledger_account WHERE id = $1",
            account_id(street.here, "person", person.id, Asset.party_score),
        )
        ended = await people.leave(connection, staff, joined.id)
    assert (created, replayed) == (True, False)
    assert score == 1
    assert ended.left_on is not None


async def test_a_verified_family_link_lets_a_member_act_for_the_relative(database: Database, street: Street) -> None:
    elder = await register(database, street, "赵桂兰")
    child = await register(database, street, "赵明")
    staff = street.staff
    async with bound(database.pool, [street.here]) as connection:
        link, _ = await family.request_link(
            connection, staff, id=uuid.uuid4(), person_id=child.id, relative_id=elder.id, relation="parent"
        )
        before = await family.can_act_for(connection, child.id, elder.id)
        verified = await family.verify_link(connection, staff, link.id)
        after = await family.can_act_for(connection, child.id, elder.id)
        backwards = await family.can_act_for(connection, elder.id, child.id)
        await family.revoke_link(connection, staff, link.id)
        revoked = await family.can_act_for(connection, child.id, elder.id)
    assert verified.verified_by == staff.person_id
    assert (before, after, backwards, revoked) == (False, True, False, False)


async def test_staff_cannot_verify_their_own_family(database: Database, street: Street) -> None:
    elder = await register(database, street, "钱秀兰")
    child = await register(database, street, "钱磊")
    child_as_staff = Principal(
        subject="person", person_id=child.id, home_community_id=street.here, communities=frozenset({street.here})
    )
    async with bound(database.pool, [street.here]) as connection:
        link, _ = await family.request_link(
            connection, child_as_staff, id=uuid.uuid4(), person_id=child.id, relative_id=elder.id, relation="parent"
        )
        with pytest.raises(Conflict):
            await family.verify_link(connection, child_as_staff, link.id)


async def test_a_grant_must_name_a_scope_of_the_community(database: Database, street: Street) -> None:
    person = await register(database, street)
    staff = street.staff
    async with bound(database.pool, [street.here]) as connection:
        team, _ = await organisation.create_team(connection, staff, street.here, id=uuid.uuid4(), name="红心志愿队")
        grant, _ = await organisation.grant_role(
            connection,
            staff,
            street.here,
            id=uuid.uuid4(),
            person_id=person.id,
            role="team_leader",
            scope_id=team.id,
        )
        with pytest.raises(NotFound):
            await organisation.grant_role(
                connection,
                staff,
                street.here,
                id=uuid.uuid4(),
                person_id=person.id,
                role="grid_worker",
                scope_id=team.id,
            )
        held = [g.role for g in await organisation.grants_of(connection, person.id)]
        await organisation.revoke_grant(connection, staff, grant.id)
        after = [g.role for g in await organisation.grants_of(connection, person.id)]
    assert held == ["team_leader"]
    assert after == []


async def test_a_connection_bound_to_another_community_sees_nothing(database: Database, street: Street) -> None:
    """Row-level security: even a query without a community filter finds nothing of another community."""
    person = await register(database, street)
    staff = street.staff
    async with bound(database.pool, [street.here]) as connection:
        await organisation.create_unit(
            connection, staff, street.here, id=uuid.uuid4(), name="莱西供电", kind="enterprise"
        )
        await organisation.create_team(connection, staff, street.here, id=uuid.uuid4(), name="助老队")
    tables = (
        "person",
        "membership",
        "household",
        "building",
        "compound",
        "partner_unit",
        "volunteer_team",
        "audit_event",
        "community",
    )
    async with bound(database.pool, [street.there]) as connection:
        seen_there = {
            t: await connection.fetchval(f"SELECT count(*) FROM {t} WHERE community_id = $1", street.here)
            if t != "community"
            else await connection.fetchval("SELECT count(*) FROM community WHERE id = $1", street.here)
            for t in tables
        }
        with pytest.raises(NotFound):
            await people.get_person(connection, person.id)
    async with bound(database.pool, [street.here]) as connection:
        seen_here = await connection.fetchval("SELECT count(*) FROM person WHERE id = $1", person.id)
    async with database.pool.acquire() as connection:  # bound to nothing at all
        unbound = await connection.fetchval("SELECT count(*) FROM person")
    assert seen_there == dict.fromkeys(tables, 0)
    assert seen_here == 1
    assert unbound == 0


async def test_a_dual_registered_member_is_seen_by_both_communities(database: Database, street: Street) -> None:
    person = await register(database, street)
    there_staff = staff_of(street.there)
    unit = uuid.uuid4()
    async with bound(database.pool, [street.there]) as connection:
        await organisation.create_unit(
            connection, there_staff, street.there, id=unit, name="莱西税务", kind="government"
        )
    # The member reports to the paired community (双报到): their own request binds both communities.
    async with bound(database.pool, [street.here, street.there]) as connection:
        await people.join(
            connection,
            there_staff,
            street.there,
            people.NewMembership(
                id=uuid.uuid4(), person_id=person.id, kind="party_member", member_type="dual_registered", unit_id=unit
            ),
        )
    async with bound(database.pool, [street.there]) as connection:
        listed = [p.id for p in await people.list_people(connection, street.there, kind="party_member")]
        seen = await people.get_person(connection, person.id)
        their_accounts = await connection.fetchval(
            "SELECT count(*) FROM ledger_account WHERE community_id = $1 AND owner_id = $2", street.there, person.id
        )
    assert listed == [person.id]
    assert seen.community_id == street.here
    assert their_accounts == len(person_accounts(street.there, person.id, party_member=True))
