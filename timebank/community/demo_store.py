"""Find-or-create writes the demo seed needs beyond the importer's: the street and its communities, grids,
co-building agreements and role grants. Same rules as :mod:`timebank.community.import_places`: ids derived from
natural keys, existing rows found rather than duplicated, what was created counted in the tally.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import asyncpg

from timebank.community.import_audit import AuditEvent
from timebank.community.import_places import Tally, derived_id

__all__ = ["NewGrant", "ensure_agreements", "ensure_community", "ensure_grants", "ensure_grids", "ensure_street"]

#: Co-building agreements of the demo run for the three years the seed report covers.
_AGREEMENT_PERIOD = (dt.date(2024, 1, 1), dt.date(2026, 12, 31))


async def ensure_street(connection: asyncpg.Connection, code: str, name: str, tally: Tally) -> uuid.UUID:
    created = await connection.fetchval(
        "INSERT INTO street (id, code, name) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING id",
        derived_id("street", code),
        code,
        name,
    )
    tally["streets_created"] += created is not None
    street_id: uuid.UUID = await connection.fetchval("SELECT id FROM street WHERE code = $1", code)
    return street_id


async def ensure_community(
    connection: asyncpg.Connection, street_id: uuid.UUID, code: str, name: str, tally: Tally
) -> uuid.UUID:
    created = await connection.fetchval(
        "INSERT INTO community (id, street_id, code, name) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING id",
        derived_id("community", code),
        street_id,
        code,
        name,
    )
    tally["communities_created"] += created is not None
    community_id: uuid.UUID = await connection.fetchval("SELECT id FROM community WHERE code = $1", code)
    return community_id


async def ensure_grids(
    connection: asyncpg.Connection,
    community_id: uuid.UUID,
    grids: Mapping[str, Sequence[uuid.UUID]],
    tally: Tally,
) -> dict[str, uuid.UUID]:
    """Grid ids by name; each grid covers the buildings given (a building already in a grid stays there)."""
    names = sorted(grids)
    created = await connection.fetch(
        """
        INSERT INTO grid (id, community_id, name) SELECT id, $2, name FROM unnest($1::uuid[], $3::text[]) AS g(id, name)
        ON CONFLICT DO NOTHING RETURNING id
        """,
        [derived_id(community_id, "grid", name) for name in names],
        community_id,
        names,
    )
    tally["grids_created"] += len(created)
    rows = await connection.fetch(
        "SELECT name, id FROM grid WHERE community_id = $1 AND name = ANY($2::text[])", community_id, names
    )
    ids = {row["name"]: row["id"] for row in rows}
    pairs = [(ids[name], building) for name in names for building in grids[name]]
    await connection.execute(
        """
        INSERT INTO grid_building (community_id, grid_id, building_id)
        SELECT $1, grid_id, building_id FROM unnest($2::uuid[], $3::uuid[]) AS b(grid_id, building_id)
        ON CONFLICT DO NOTHING
        """,
        community_id,
        [grid for grid, _ in pairs],
        [building for _, building in pairs],
    )
    return ids


async def ensure_agreements(
    connection: asyncpg.Connection,
    community_id: uuid.UUID,
    commitments: Mapping[uuid.UUID, Sequence[str]],
    tally: Tally,
) -> None:
    """One co-building agreement per unit over the demo period, committing it to the projects given."""
    units = sorted(commitments)
    starts, ends = _AGREEMENT_PERIOD
    created = await connection.fetch(
        """
        INSERT INTO co_building_agreement (id, community_id, unit_id, starts_on, ends_on, commitments)
        SELECT id, $2, unit_id, $4, $5, string_to_array(projects, $7)
        FROM unnest($1::uuid[], $3::uuid[], $6::text[]) AS a(id, unit_id, projects)
        ON CONFLICT DO NOTHING RETURNING id
        """,
        [derived_id(unit, "agreement", starts) for unit in units],
        community_id,
        units,
        starts,
        ends,
        ["\x1f".join(commitments[unit]) for unit in units],
        "\x1f",
    )
    tally["agreements_created"] += len(created)


@dataclass(frozen=True, slots=True)
class NewGrant:
    person_id: uuid.UUID
    role: str
    scope_kind: str
    scope_id: uuid.UUID
    community_id: uuid.UUID | None


async def ensure_grants(
    connection: asyncpg.Connection, grants: Sequence[NewGrant], tally: Tally, events: list[AuditEvent]
) -> None:
    """Grant each role not yet held in its scope (a revoked grant is granted anew)."""
    created = await connection.fetch(
        """
        INSERT INTO role_grant (id, person_id, role, scope_kind, scope_id, community_id)
        SELECT gen_random_uuid(), person_id, role, scope_kind, scope_id, community_id
        FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[], $5::uuid[])
            AS g(person_id, role, scope_kind, scope_id, community_id)
        ON CONFLICT DO NOTHING RETURNING id, person_id, role, scope_id, community_id
        """,
        [grant.person_id for grant in grants],
        [grant.role for grant in grants],
        [grant.scope_kind for grant in grants],
        [grant.scope_id for grant in grants],
        [grant.community_id for grant in grants],
    )
    tally["grants_created"] += len(created)
    events += [
        AuditEvent(
            row["community_id"],
            "grant",
            "role_grant",
            row["id"],
            None,
            {"person_id": row["person_id"], "role": row["role"], "scope_id": row["scope_id"]},
        )
        for row in created
    ]
