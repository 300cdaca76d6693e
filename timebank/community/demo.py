"""The demo street, written to the database: ``timebank demo seed`` and ``timebank demo people``.

The plan (:func:`timebank.community.demo_street.demo_street`) is deterministic, and it is written through the same
bulk path as the people import (places, party organisation, units and teams found or created by name, then people
in chunks by :func:`timebank.community.import_people.write_people`), in one transaction. Seeding again finds
everything there and changes nothing. People get ids derived from their key in the plan, so the README can name
them and ``timebank token`` can mint a token for any of them.
"""

from __future__ import annotations

import getpass
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import asyncpg

from timebank.community.accounts import community_accounts, open_accounts
from timebank.community.demo_plan import CommunityPlan, PlannedGrant, PlannedMembership, PlannedPerson, StreetPlan
from timebank.community.demo_store import (
    NewGrant,
    ensure_agreements,
    ensure_community,
    ensure_grants,
    ensure_grids,
    ensure_street,
)
from timebank.community.demo_street import demo_street
from timebank.community.import_audit import Actor, AuditEvent, append_events
from timebank.community.import_people import MembershipRecord, PersonRecord, write_people
from timebank.community.import_places import (
    Tally,
    derived_id,
    ensure_buildings,
    ensure_committee,
    ensure_compounds,
    ensure_households,
    ensure_hub_households,
    ensure_party_orgs,
    ensure_teams,
    ensure_units,
)
from timebank.community.importing import CHUNK_ROWS
from timebank.community.personal_data import id_number_hash, parse_id_number
from timebank.db import EVERY_COMMUNITY, bound
from timebank.ledger import NewAccount

__all__ = ["CommunityCounts", "KnownPerson", "community_counts", "demo_person_id", "seed_demo", "well_known_people"]


def demo_person_id(key: str) -> uuid.UUID:
    """The id of the demo person with ``key`` in the plan."""
    return derived_id("demo", key)


@dataclass(slots=True)
class _Ids:
    """What one community's names resolved to."""

    community: uuid.UUID
    households: dict[tuple[str, str, str], uuid.UUID]
    party_orgs: dict[str, uuid.UUID]
    branches: dict[str, uuid.UUID]
    grids: dict[str, uuid.UUID]
    teams: dict[str, uuid.UUID]
    units: dict[str, uuid.UUID]


async def seed_demo(pool: asyncpg.Pool, key: bytes, *, actor: Actor | None = None) -> dict[str, int]:
    """Write the demo street; returns what was created (nothing, when it is there already)."""
    plan = demo_street()
    actor = actor or Actor(f"cli:{getpass.getuser()}")
    tally = Tally()
    events: list[AuditEvent] = []
    async with bound(pool, EVERY_COMMUNITY) as connection:
        street_id = await ensure_street(connection, plan.code, plan.name, tally)
        ids = {c.code: await _structure(connection, street_id, c, tally, events) for c in plan.communities}
        person_ids = await _people(connection, plan, ids, key, tally, actor)
        grants = [_grant(g, person_ids[g.person], street_id, ids) for g in plan.grants]
        await ensure_grants(connection, grants, tally, events)
        changes = {name: count for name, count in sorted(tally.items()) if count}
        if changes:
            events.append(AuditEvent(None, "demo.seeded", "street", street_id, None, {"changes": changes}))
        await append_events(connection, events, actor)
    return changes


async def _structure(
    connection: asyncpg.Connection, street_id: uuid.UUID, plan: CommunityPlan, tally: Tally, events: list[AuditEvent]
) -> _Ids:
    """The community with its accounts, places, grids, party organisation, units and teams."""
    community_id = await ensure_community(connection, street_id, plan.code, plan.name, tally)
    await _open(connection, community_accounts(community_id), tally)
    compounds = await ensure_compounds(connection, community_id, plan.buildings, tally)
    building_keys = {(c, b): (compounds[c], b) for c, names in plan.buildings.items() for b in names}
    buildings = await ensure_buildings(connection, community_id, building_keys.values(), tally)
    building_ids = {name: buildings[key] for name, key in building_keys.items()}
    kinds = {(building_ids[(h.compound, h.building)], h.room): kind for h, kind in plan.households.items()}
    households = await ensure_households(connection, community_id, kinds, tally, events)
    household_ids = {
        (h.compound, h.building, h.room): households[(building_ids[(h.compound, h.building)], h.room)]
        for h in plan.households
    }
    grids = await ensure_grids(
        connection, community_id, {grid: [building_ids[b] for b in where] for grid, where in plan.grids.items()}, tally
    )
    committee = await ensure_committee(connection, community_id, plan.committee, tally)
    orgs = await ensure_party_orgs(
        connection,
        community_id,
        committee,
        plan.branches,
        dict(plan.groups),
        tally,
        branch_compounds={branch: compounds[compound] for branch, compound in plan.branches.items()},
    )
    hubs = await ensure_hub_households(
        connection,
        community_id,
        {
            hub: (orgs.groups[group][0], household_ids[(home.compound, home.building, home.room)])
            for hub, (group, home) in plan.hubs.items()
        },
        tally,
    )
    units = await ensure_units(connection, community_id, plan.units, tally)
    await ensure_agreements(connection, community_id, {units[u]: c for u, c in plan.agreements.items()}, tally)
    teams = await ensure_teams(connection, community_id, plan.teams, tally)
    party_orgs = orgs.branches | {name: id_ for name, (id_, _) in orgs.groups.items()} | hubs
    return _Ids(community_id, household_ids, party_orgs, orgs.branches, grids, teams, units)


async def _people(
    connection: asyncpg.Connection,
    plan: StreetPlan,
    ids: dict[str, _Ids],
    key: bytes,
    tally: Tally,
    actor: Actor,
) -> dict[str, uuid.UUID]:
    """Everyone, first in their home community, then (dual registration) in the others they are members of."""
    hashes = {person.key: id_number_hash(key, parse_id_number(person.id_number)) for person in plan.people}
    person_ids: dict[str, uuid.UUID] = {}
    for homes in (True, False):
        for community in plan.communities:
            people = [
                (at, p)
                for at, p in enumerate(plan.people)
                if (p.community == community.code) is homes
                and (homes or any(m.community == community.code for m in p.memberships))
            ]
            for start in range(0, len(people), CHUNK_ROWS):
                chunk = people[start : start + CHUNK_ROWS]
                records = [_record(at, p, community.code, hashes[p.key], ids) for at, p in chunk]
                events: list[AuditEvent] = []
                written = await write_people(connection, ids[community.code].community, records, tally, events)
                await append_events(connection, events, actor)
                person_ids |= {p.key: written[at] for at, p in chunk}
    return person_ids


def _record(at: int, person: PlannedPerson, community: str, id_hash: bytes, ids: dict[str, _Ids]) -> PersonRecord:
    here = ids[community]
    home = person.home if person.community == community else None
    return PersonRecord(
        row=at,
        new_id=demo_person_id(person.key),
        name=person.name,
        id_hash=id_hash,
        id_last4=person.id_number[-4:],
        birth_date=person.born,
        phone=person.phone,
        household_id=here.households[(home.compound, home.building, home.room)] if home else None,
        memberships=tuple(_membership(m, ids) for m in person.memberships if m.community == community),
    )


def _membership(membership: PlannedMembership, ids: dict[str, _Ids]) -> MembershipRecord:
    here = ids[membership.community]
    unit_id = None
    if membership.unit is not None:
        unit_id = ids[membership.unit_community or membership.community].units[membership.unit]
    return MembershipRecord(
        kind=membership.kind,
        member_type=membership.member_type,
        skills=membership.skills,
        party_org_id=here.party_orgs[membership.party_org] if membership.party_org else None,
        team_id=here.teams[membership.team] if membership.team else None,
        unit_id=unit_id,
    )


def _grant(grant: PlannedGrant, person_id: uuid.UUID, street_id: uuid.UUID, ids: dict[str, _Ids]) -> NewGrant:
    if grant.community is None:
        return NewGrant(person_id, grant.role, grant.scope_kind, street_id, None)
    here = ids[grant.community]
    scopes: dict[str, Callable[[str], uuid.UUID]] = {
        "community": lambda name: here.community,
        "grid": here.grids.__getitem__,
        "branch": here.branches.__getitem__,
        "team": here.teams.__getitem__,
        "unit": here.units.__getitem__,
        "self": lambda name: person_id,
    }
    return NewGrant(person_id, grant.role, grant.scope_kind, scopes[grant.scope_kind](grant.scope), here.community)


async def _open(connection: asyncpg.Connection, wanted: list[NewAccount], tally: Tally) -> None:
    existing = await connection.fetchval(
        "SELECT count(*) FROM ledger_account WHERE id = ANY($1::uuid[])", [a.id for a in wanted]
    )
    await open_accounts(connection, wanted)
    tally["accounts_opened"] += len(wanted) - int(existing)


@dataclass(frozen=True, slots=True)
class KnownPerson:
    role: str
    community: str
    name: str
    id: uuid.UUID
    phone: str | None


async def well_known_people(pool: asyncpg.Pool) -> list[KnownPerson] | None:
    """The README's demo people, one per role, as stored; None when the street has not been seeded."""
    plan = demo_street()
    wanted = {known.person: demo_person_id(known.person) for known in plan.well_known}
    async with bound(pool, EVERY_COMMUNITY) as connection:
        rows = await connection.fetch(
            """
            SELECT p.id, p.name, p.phone, c.name AS community FROM person p JOIN community c ON c.id = p.community_id
            WHERE p.id = ANY($1::uuid[])
            """,
            list(wanted.values()),
        )
    found = {row["id"]: row for row in rows}
    if len(found) != len(wanted):
        return None
    return [
        KnownPerson(
            role=known.role,
            community=found[wanted[known.person]]["community"],
            name=found[wanted[known.person]]["name"],
            id=wanted[known.person],
            phone=found[wanted[known.person]]["phone"],
        )
        for known in plan.well_known
    ]


@dataclass(frozen=True, slots=True)
class CommunityCounts:
    """A community's figures as stored, in the terms of the seed documents."""

    code: str
    name: str
    figures: dict[str, int]


async def community_counts(pool: asyncpg.Pool, codes: Iterable[str]) -> list[CommunityCounts]:
    counts = []
    async with bound(pool, EVERY_COMMUNITY) as connection:
        for code in codes:
            row = await connection.fetchrow(_COUNTS, code)
            if row is not None:
                figures = dict(row)
                counts.append(CommunityCounts(code, figures.pop("name"), {k: int(v) for k, v in figures.items()}))
    return counts


_COUNTS = """
WITH c AS (SELECT id, name FROM community WHERE code = $1),
active AS (SELECT m.* FROM membership m, c WHERE m.community_id = c.id AND m.left_on IS NULL)
SELECT c.name,
    (SELECT count(*) FROM compound WHERE community_id = c.id) AS compounds,
    (SELECT count(*) FROM building WHERE community_id = c.id) AS buildings,
    (SELECT count(*) FROM household WHERE community_id = c.id) AS households,
    (SELECT count(*) FROM active WHERE kind = 'resident') AS residents,
    (SELECT count(*) FROM active WHERE member_type = 'community_managed') AS community_managed_party_members,
    (SELECT count(*) FROM active WHERE member_type = 'dual_registered') AS dual_registered_party_members,
    (SELECT count(DISTINCT unit_id) FROM active WHERE member_type = 'dual_registered') AS dual_registration_units,
    (SELECT count(*) FROM partner_unit WHERE community_id = c.id) AS partner_units,
    (SELECT count(*) FROM co_building_agreement WHERE community_id = c.id) AS co_building_agreements,
    (SELECT count(*) FROM party_org WHERE community_id = c.id AND level = 'branch') AS party_branches,
    (SELECT count(*) FROM party_org WHERE community_id = c.id AND level = 'group') AS building_groups,
    (SELECT count(*) FROM party_org WHERE community_id = c.id AND level = 'hub_household') AS hub_households,
    (SELECT count(*) FROM grid WHERE community_id = c.id) AS grids,
    (SELECT count(DISTINCT scope_id) FROM role_grant
        WHERE community_id = c.id AND role = 'grid_worker' AND revoked_at IS NULL) AS grids_with_workers,
    (SELECT count(*) FROM active a JOIN volunteer_team t ON t.id = a.team_id WHERE t.name = '楼栋长队伍')
        AS building_heads,
    (SELECT count(*) FROM volunteer_team WHERE community_id = c.id) AS volunteer_teams,
    (SELECT count(*) FROM active WHERE kind = 'volunteer') AS volunteers,
    (SELECT count(*) FROM ledger_account WHERE community_id = c.id) AS ledger_accounts
FROM c
"""
