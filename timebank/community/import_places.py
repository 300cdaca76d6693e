"""Places, party organisations, partner units and teams found by name and created when missing, in bulk.

Used by the people import and the demo seed. New rows get ids derived from their natural keys, so two runs over
the same data create the same rows; rows made by other means (other ids, same names) are found by name, never
duplicated. Every function works on the caller's transaction and counts what it created in ``tally``.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import asyncpg

from timebank.community.accounts import open_accounts, unit_accounts
from timebank.community.import_audit import AuditEvent

__all__ = [
    "PartyOrgs",
    "Tally",
    "derived_id",
    "ensure_buildings",
    "ensure_committee",
    "ensure_compounds",
    "ensure_households",
    "ensure_hub_households",
    "ensure_party_orgs",
    "ensure_teams",
    "ensure_units",
]

#: What a bulk write changed, by a name such as ``households_created``.
Tally = Counter[str]

_NAMESPACE = uuid.UUID("2d4f7a0e-6c1b-5e93-8a42-b1c3d5e7f901")


def derived_id(*parts: object) -> uuid.UUID:
    """A stable id for a row known by ``parts`` (its parent's id and its name, say)."""
    return uuid.uuid5(_NAMESPACE, "/".join(str(part) for part in parts))


async def ensure_compounds(
    connection: asyncpg.Connection, community_id: uuid.UUID, names: Iterable[str], tally: Tally
) -> dict[str, uuid.UUID]:
    """Compound ids by name."""
    wanted = sorted(set(names))
    created = await connection.fetch(
        """
        INSERT INTO compound (id, community_id, name)
        SELECT id, $2, name FROM unnest($1::uuid[], $3::text[]) AS c(id, name)
        ON CONFLICT DO NOTHING RETURNING id
        """,
        [derived_id(community_id, "compound", name) for name in wanted],
        community_id,
        wanted,
    )
    tally["compounds_created"] += len(created)
    rows = await connection.fetch(
        "SELECT name, id FROM compound WHERE community_id = $1 AND name = ANY($2::text[])", community_id, wanted
    )
    return {row["name"]: row["id"] for row in rows}


async def ensure_buildings(
    connection: asyncpg.Connection,
    community_id: uuid.UUID,
    keys: Iterable[tuple[uuid.UUID, str]],
    tally: Tally,
) -> dict[tuple[uuid.UUID, str], uuid.UUID]:
    """Building ids by (compound id, name)."""
    wanted = sorted(set(keys))
    compounds, names = [key[0] for key in wanted], [key[1] for key in wanted]
    created = await connection.fetch(
        """
        INSERT INTO building (id, community_id, compound_id, name)
        SELECT id, $2, compound_id, name FROM unnest($1::uuid[], $3::uuid[], $4::text[]) AS b(id, compound_id, name)
        ON CONFLICT DO NOTHING RETURNING id
        """,
        [derived_id(compound, "building", name) for compound, name in wanted],
        community_id,
        compounds,
        names,
    )
    tally["buildings_created"] += len(created)
    rows = await connection.fetch(
        """
        SELECT b.compound_id, b.name, b.id FROM building b
        JOIN unnest($1::uuid[], $2::text[]) AS w(compound_id, name) USING (compound_id, name)
        """,
        compounds,
        names,
    )
    return {(row["compound_id"], row["name"]): row["id"] for row in rows}


async def ensure_households(
    connection: asyncpg.Connection,
    community_id: uuid.UUID,
    kinds: Mapping[tuple[uuid.UUID, str], str | None],
    tally: Tally,
    events: list[AuditEvent],
) -> dict[tuple[uuid.UUID, str], uuid.UUID]:
    """Household ids by (building id, room). A kind given for an existing household replaces the stored one;
    None leaves it (a new household is then ``ordinary``)."""
    wanted = sorted(kinds)
    buildings, rooms = [key[0] for key in wanted], [key[1] for key in wanted]
    created = await connection.fetch(
        """
        INSERT INTO household (id, community_id, building_id, room, kind)
        SELECT id, $2, building_id, room, coalesce(kind, 'ordinary')
        FROM unnest($1::uuid[], $3::uuid[], $4::text[], $5::text[]) AS h(id, building_id, room, kind)
        ON CONFLICT DO NOTHING RETURNING id
        """,
        [derived_id(building, "household", room) for building, room in wanted],
        community_id,
        buildings,
        rooms,
        [kinds[key] for key in wanted],
    )
    tally["households_created"] += len(created)
    rows = await connection.fetch(
        """
        SELECT h.building_id, h.room, h.id, h.kind FROM household h
        JOIN unnest($1::uuid[], $2::text[]) AS w(building_id, room) USING (building_id, room)
        FOR UPDATE OF h
        """,
        buildings,
        rooms,
    )
    changed = [(row["id"], row["kind"], kinds[(row["building_id"], row["room"])]) for row in rows]
    changed = [(id_, old, new) for id_, old, new in changed if new is not None and new != old]
    if changed:
        await connection.execute(
            "UPDATE household h SET kind = c.kind FROM unnest($1::uuid[], $2::text[]) AS c(id, kind) WHERE h.id = c.id",
            [id_ for id_, _, _ in changed],
            [new for _, _, new in changed],
        )
        tally["households_updated"] += len(changed)
        events += [
            AuditEvent(community_id, "household.updated", "household", id_, {"kind": old}, {"kind": new})
            for id_, old, new in changed
        ]
    return {(row["building_id"], row["room"]): row["id"] for row in rows}


async def ensure_committee(
    connection: asyncpg.Connection, community_id: uuid.UUID, name: str, tally: Tally
) -> uuid.UUID:
    """The community's party committee (社区党委), created under ``name`` when it has none."""
    existing: uuid.UUID | None = await connection.fetchval(
        "SELECT id FROM party_org WHERE community_id = $1 AND level = 'committee'", community_id
    )
    if existing is not None:
        return existing
    committee_id = derived_id(community_id, "party_org", "committee")
    await connection.execute(
        "INSERT INTO party_org (id, community_id, level, name) VALUES ($1, $2, 'committee', $3)",
        committee_id,
        community_id,
        name,
    )
    tally["party_orgs_created"] += 1
    return committee_id


@dataclass(frozen=True, slots=True)
class PartyOrgs:
    """Branches by name, and groups by name with the branch each belongs to."""

    branches: dict[str, uuid.UUID]
    groups: dict[str, tuple[uuid.UUID, uuid.UUID]]


async def ensure_party_orgs(
    connection: asyncpg.Connection,
    community_id: uuid.UUID,
    committee_id: uuid.UUID,
    branches: Iterable[str],
    groups: Mapping[str, str | None],
    tally: Tally,
    *,
    branch_compounds: Mapping[str, uuid.UUID] | None = None,
) -> PartyOrgs:
    """Branches under the committee, and groups under the branch given for them (None: find, never create).

    A group that already exists stays where it is, even under another branch: the caller compares and refuses.
    ``branch_compounds`` names the compound of a compound branch (小区党支部), for new branches.
    """
    wanted_branches = sorted(set(branches) | {branch for branch in groups.values() if branch is not None})
    compounds = branch_compounds or {}
    new_branches = [_Org(name, committee_id, compound_id=compounds.get(name)) for name in wanted_branches]
    await _insert_orgs(connection, community_id, "branch", new_branches, tally)
    found = await _orgs(connection, community_id, "branch", wanted_branches)
    branch_ids = {name: id_ for name, (id_, _) in found.items()}
    new_groups = [_Org(group, branch_ids[branch]) for group, branch in sorted(groups.items()) if branch is not None]
    await _insert_orgs(connection, community_id, "group", new_groups, tally)
    return PartyOrgs(branch_ids, await _orgs(connection, community_id, "group", list(groups)))


async def ensure_hub_households(
    connection: asyncpg.Connection,
    community_id: uuid.UUID,
    hubs: Mapping[str, tuple[uuid.UUID, uuid.UUID]],
    tally: Tally,
) -> dict[str, uuid.UUID]:
    """Hub household (党员中心户) ids by name; ``hubs`` gives each its group and its household."""
    named = [_Org(name, group, household_id=household) for name, (group, household) in sorted(hubs.items())]
    await _insert_orgs(connection, community_id, "hub_household", named, tally)
    return {
        name: id_ for name, (id_, _) in (await _orgs(connection, community_id, "hub_household", list(hubs))).items()
    }


@dataclass(frozen=True, slots=True)
class _Org:
    name: str
    parent_id: uuid.UUID
    compound_id: uuid.UUID | None = None
    household_id: uuid.UUID | None = None


async def _insert_orgs(
    connection: asyncpg.Connection, community_id: uuid.UUID, level: str, orgs: list[_Org], tally: Tally
) -> None:
    created = await connection.fetch(
        """
        INSERT INTO party_org (id, community_id, parent_id, level, name, compound_id, household_id)
        SELECT id, $2, parent_id, $3, name, compound_id, household_id
        FROM unnest($1::uuid[], $4::uuid[], $5::text[], $6::uuid[], $7::uuid[])
            AS o(id, parent_id, name, compound_id, household_id)
        ON CONFLICT DO NOTHING RETURNING id
        """,
        [derived_id(community_id, "party_org", level, org.name) for org in orgs],
        community_id,
        level,
        [org.parent_id for org in orgs],
        [org.name for org in orgs],
        [org.compound_id for org in orgs],
        [org.household_id for org in orgs],
    )
    tally["party_orgs_created"] += len(created)


async def _orgs(
    connection: asyncpg.Connection, community_id: uuid.UUID, level: str, names: list[str]
) -> dict[str, tuple[uuid.UUID, uuid.UUID]]:
    rows = await connection.fetch(
        "SELECT name, id, parent_id FROM party_org WHERE community_id = $1 AND level = $2 AND name = ANY($3::text[])",
        community_id,
        level,
        names,
    )
    return {row["name"]: (row["id"], row["parent_id"]) for row in rows}


async def ensure_units(
    connection: asyncpg.Connection,
    community_id: uuid.UUID,
    kinds: Mapping[str, str],
    tally: Tally,
) -> dict[str, uuid.UUID]:
    """Partner unit ids by name; a new unit gets the kind given for it and its points account."""
    wanted = sorted(kinds)
    created = await connection.fetch(
        """
        INSERT INTO partner_unit (id, community_id, name, kind)
        SELECT id, $2, name, kind FROM unnest($1::uuid[], $3::text[], $4::text[]) AS u(id, name, kind)
        ON CONFLICT DO NOTHING RETURNING id
        """,
        [derived_id(community_id, "unit", name) for name in wanted],
        community_id,
        wanted,
        [kinds[name] for name in wanted],
    )
    tally["units_created"] += len(created)
    rows = await connection.fetch(
        "SELECT name, id FROM partner_unit WHERE community_id = $1 AND name = ANY($2::text[])", community_id, wanted
    )
    units = {row["name"]: row["id"] for row in rows}
    # Joining opens accounts: every unit named here holds its budget account, whoever created the unit.
    await open_accounts(connection, [a for unit in units.values() for a in unit_accounts(community_id, unit)])
    return units


async def ensure_teams(
    connection: asyncpg.Connection, community_id: uuid.UUID, areas: Mapping[str, str], tally: Tally
) -> dict[str, uuid.UUID]:
    """Volunteer team ids by name; a new team gets the service area given for it."""
    wanted = sorted(areas)
    created = await connection.fetch(
        """
        INSERT INTO volunteer_team (id, community_id, name, service_area)
        SELECT id, $2, name, area FROM unnest($1::uuid[], $3::text[], $4::text[]) AS t(id, name, area)
        ON CONFLICT DO NOTHING RETURNING id
        """,
        [derived_id(community_id, "team", name) for name in wanted],
        community_id,
        wanted,
        [areas[name] for name in wanted],
    )
    tally["teams_created"] += len(created)
    rows = await connection.fetch(
        "SELECT name, id FROM volunteer_team WHERE community_id = $1 AND name = ANY($2::text[])", community_id, wanted
    )
    return {row["name"]: row["id"] for row in rows}
