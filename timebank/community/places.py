"""Communities and their places: compounds (小区), buildings (楼栋) and households (户), and grids (网格)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from timebank.access.principal import Principal
from timebank.community import audit
from timebank.community.accounts import community_accounts, open_accounts
from timebank.errors import Conflict, NotFound

__all__ = [
    "Community",
    "Place",
    "add_place",
    "create_community",
    "get_community",
    "list_communities",
    "places_of",
]

#: A place kind → its table, its parent's column, and the column that names it.
_PLACES = {
    "compound": ("compound", None, "name"),
    "building": ("building", "compound_id", "name"),
    "household": ("household", "building_id", "room"),
    "grid": ("grid", None, "name"),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Community:
    id: uuid.UUID
    street_id: uuid.UUID
    code: str
    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Place:
    id: uuid.UUID
    kind: str
    parent_id: uuid.UUID | None
    name: str
    household_kind: str | None = None


async def create_community(
    connection: asyncpg.Connection, actor: Principal, *, id: uuid.UUID, street_id: uuid.UUID, code: str, name: str
) -> tuple[Community, bool]:
    """Create a community with its system ledger accounts (issuance, pools, sinks) in one transaction."""
    row = await connection.fetchrow(
        """
        INSERT INTO community (id, street_id, code, name) VALUES ($1, $2, $3, $4)
        ON CONFLICT DO NOTHING RETURNING id, street_id, code, name
        """,
        id,
        street_id,
        code,
        name,
    )
    if row is None:
        existing = await connection.fetchrow("SELECT id, street_id, code, name FROM community WHERE id = $1", id)
        if existing is None or (existing["code"], existing["street_id"]) != (code, street_id):
            raise Conflict("a community with this id or code exists already", field="code")
        return Community(**dict(existing)), False
    await open_accounts(connection, community_accounts(id))
    await audit.record(
        connection,
        actor,
        community_id=id,
        action="create",
        entity="community",
        entity_id=id,
        after={"code": code, "name": name, "street_id": str(street_id)},
    )
    return Community(**dict(row)), True


async def list_communities(connection: asyncpg.Connection) -> list[Community]:
    rows = await connection.fetch("SELECT id, street_id, code, name FROM community ORDER BY code")
    return [Community(**dict(row)) for row in rows]


async def get_community(connection: asyncpg.Connection, community_id: uuid.UUID) -> Community:
    row = await connection.fetchrow("SELECT id, street_id, code, name FROM community WHERE id = $1", community_id)
    if row is None:
        raise NotFound("no such community", community_id=str(community_id))
    return Community(**dict(row))


async def add_place(
    connection: asyncpg.Connection,
    actor: Principal,
    community_id: uuid.UUID,
    *,
    id: uuid.UUID,
    kind: str,
    name: str,
    parent_id: uuid.UUID | None = None,
    household_kind: str | None = None,
) -> tuple[Place, bool]:
    """Add a compound, building, household or grid; idempotent by id, a name taken under the parent is a conflict."""
    table, parent_column, name_column = _PLACES[kind]
    columns = ["id", "community_id", name_column]
    values: list[object] = [id, community_id, name]
    if parent_column is not None:
        if parent_id is None:
            raise NotFound(f"a {kind} needs its parent", field="parent_id")
        columns.append(parent_column)
        values.append(parent_id)
    if kind == "household" and household_kind is not None:
        columns.append("kind")
        values.append(household_kind)
    placeholders = ", ".join(f"${i}" for i in range(1, len(values) + 1))
    try:
        async with connection.transaction():
            inserted = await connection.fetchval(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders}) "
                "ON CONFLICT (id) DO NOTHING RETURNING id",
                *values,
            )
    except asyncpg.UniqueViolationError:
        raise Conflict(f"this {kind} exists already", field="name") from None
    except asyncpg.ForeignKeyViolationError:
        raise NotFound("the parent place is not in this community", field="parent_id") from None
    place = Place(id=id, kind=kind, parent_id=parent_id, name=name, household_kind=household_kind)
    if inserted is None:
        return place, False
    await audit.record(
        connection,
        actor,
        community_id=community_id,
        action="create",
        entity=kind,
        entity_id=id,
        after={"name": name, "parent_id": None if parent_id is None else str(parent_id)},
    )
    return place, True


async def places_of(connection: asyncpg.Connection, community_id: uuid.UUID) -> list[Place]:
    """Every compound, building and grid of a community (households are many: list them per building)."""
    rows = await connection.fetch(
        """
        SELECT id, 'compound' AS kind, NULL::uuid AS parent_id, name FROM compound WHERE community_id = $1
        UNION ALL SELECT id, 'building', compound_id, name FROM building WHERE community_id = $1
        UNION ALL SELECT id, 'grid', NULL, name FROM grid WHERE community_id = $1
        ORDER BY kind, name
        """,
        community_id,
    )
    return [Place(**dict(row)) for row in rows]
