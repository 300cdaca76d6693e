"""Who organises: volunteer teams, partner units (共建单位) and their agreements, the party organisation, and the
role grants that give people their powers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from timebank.access.principal import Principal
from timebank.community import audit
from timebank.community.accounts import open_accounts, unit_accounts
from timebank.errors import Conflict, InvalidInput, NotFound

__all__ = [
    "Agreement",
    "PartyOrg",
    "RoleGrant",
    "Team",
    "Unit",
    "add_agreement",
    "add_party_org",
    "cover_building",
    "create_team",
    "create_unit",
    "grant_role",
    "grants_of",
    "list_teams",
    "list_units",
    "party_orgs_of",
    "revoke_grant",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Team:
    id: uuid.UUID
    community_id: uuid.UUID
    name: str
    service_area: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Unit:
    id: uuid.UUID
    community_id: uuid.UUID
    name: str
    kind: str
    contact_name: str
    contact_phone: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Agreement:
    id: uuid.UUID
    community_id: uuid.UUID
    unit_id: uuid.UUID
    starts_on: date
    ends_on: date
    commitments: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class RoleGrant:
    id: uuid.UUID
    person_id: uuid.UUID
    role: str
    scope_kind: str
    scope_id: uuid.UUID
    community_id: uuid.UUID | None
    granted_at: datetime
    revoked_at: datetime | None


async def create_team(
    connection: asyncpg.Connection,
    actor: Principal,
    community_id: uuid.UUID,
    *,
    id: uuid.UUID,
    name: str,
    service_area: str = "",
) -> tuple[Team, bool]:
    team = Team(id=id, community_id=community_id, name=name, service_area=service_area)
    created = await _insert_once(
        connection,
        "INSERT INTO volunteer_team (id, community_id, name, service_area) VALUES ($1, $2, $3, $4)",
        (id, community_id, name, service_area),
        what="team",
    )
    if created:
        await audit.record(
            connection,
            actor,
            community_id=community_id,
            action="create",
            entity="volunteer_team",
            entity_id=id,
            after={"name": name, "service_area": service_area},
        )
    return team, created


async def list_teams(connection: asyncpg.Connection, community_id: uuid.UUID) -> list[Team]:
    rows = await connection.fetch(
        "SELECT id, community_id, name, service_area FROM volunteer_team WHERE community_id = $1 ORDER BY name",
        community_id,
    )
    return [Team(**dict(row)) for row in rows]


async def create_unit(
    connection: asyncpg.Connection,
    actor: Principal,
    community_id: uuid.UUID,
    *,
    id: uuid.UUID,
    name: str,
    kind: str,
    contact_name: str = "",
    contact_phone: str | None = None,
) -> tuple[Unit, bool]:
    """Pair a partner unit with the community and open its points budget account."""
    unit = Unit(
        id=id, community_id=community_id, name=name, kind=kind, contact_name=contact_name, contact_phone=contact_phone
    )
    created = await _insert_once(
        connection,
        """
        INSERT INTO partner_unit (id, community_id, name, kind, contact_name, contact_phone)
        VALUES ($1, $2, $3, $4, $5, $6)
        """,
        (id, community_id, name, kind, contact_name, contact_phone),
        what="partner unit",
    )
    if created:
        await open_accounts(connection, unit_accounts(community_id, id))
        await audit.record(
            connection,
            actor,
            community_id=community_id,
            action="create",
            entity="partner_unit",
            entity_id=id,
            after={"name": name, "kind": kind, "contact_name": contact_name},
        )
    return unit, created


async def list_units(connection: asyncpg.Connection, community_id: uuid.UUID) -> list[Unit]:
    rows = await connection.fetch(
        """
        SELECT id, community_id, name, kind, contact_name, contact_phone FROM partner_unit
        WHERE community_id = $1 ORDER BY name
        """,
        community_id,
    )
    return [Unit(**dict(row)) for row in rows]


async def add_agreement(
    connection: asyncpg.Connection,
    actor: Principal,
    community_id: uuid.UUID,
    *,
    id: uuid.UUID,
    unit_id: uuid.UUID,
    starts_on: date,
    ends_on: date,
    commitments: tuple[str, ...],
) -> tuple[Agreement, bool]:
    if ends_on < starts_on:
        raise InvalidInput("an agreement cannot end before it starts", field="ends_on")
    agreement = Agreement(
        id=id,
        community_id=community_id,
        unit_id=unit_id,
        starts_on=starts_on,
        ends_on=ends_on,
        commitments=commitments,
    )
    created = await _insert_once(
        connection,
        """
        INSERT INTO co_building_agreement (id, community_id, unit_id, starts_on, ends_on, commitments)
        VALUES ($1, $2, $3, $4, $5, $6)
        """,
        (id, community_id, unit_id, starts_on, ends_on, list(commitments)),
        what="agreement",
        parent_field="unit_id",
    )
    if created:
        await audit.record(
            connection,
            actor,
            community_id=community_id,
            action="create",
            entity="co_building_agreement",
            entity_id=id,
            after={
                "unit_id": str(unit_id),
                "starts_on": starts_on.isoformat(),
                "ends_on": ends_on.isoformat(),
                "commitments": list(commitments),
            },
        )
    return agreement, created


_GRANT_COLUMNS = "id, person_id, role, scope_kind, scope_id, community_id, granted_at, revoked_at"

#: Which scope each role is granted within, and the table that scope id must name in the community.
_ROLE_SCOPES = {
    "resident": ("self", "person"),
    "volunteer": ("community", "community"),
    "team_leader": ("team", "volunteer_team"),
    "grid_worker": ("grid", "grid"),
    "branch_secretary": ("branch", "party_org"),
    "community_staff": ("community", "community"),
    "partner_admin": ("unit", "partner_unit"),
}


async def grant_role(
    connection: asyncpg.Connection,
    actor: Principal,
    community_id: uuid.UUID,
    *,
    id: uuid.UUID,
    person_id: uuid.UUID,
    role: str,
    scope_id: uuid.UUID,
) -> tuple[RoleGrant, bool]:
    """Give a person a role within a scope of this community (street roles are given by the street's tooling)."""
    if role not in _ROLE_SCOPES:
        raise InvalidInput(f"{role} is not granted by a community", field="role")
    scope_kind, table = _ROLE_SCOPES[role]
    scope_filter = {
        "community": "id = $1 AND id = $2",
        # A resident's scope is the person: at home here, or a member here (e.g. dual-registered).
        "person": "id = $1 AND (community_id = $2 OR EXISTS ("
        "SELECT 1 FROM membership m WHERE m.person_id = $1 AND m.community_id = $2))",
    }.get(table, "id = $1 AND community_id = $2")
    if await connection.fetchval(f"SELECT 1 FROM {table} WHERE {scope_filter}", scope_id, community_id) is None:
        raise NotFound(f"the {scope_kind} is not in this community", field="scope_id")
    if await connection.fetchval("SELECT 1 FROM person WHERE id = $1", person_id) is None:
        raise NotFound("no such person", field="person_id")
    try:
        async with connection.transaction():
            row = await connection.fetchrow(
                f"""
                INSERT INTO role_grant (id, person_id, role, scope_kind, scope_id, community_id, granted_by)
                VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING RETURNING {_GRANT_COLUMNS}
                """,
                id,
                person_id,
                role,
                scope_kind,
                scope_id,
                community_id,
                actor.person_id,
            )
    except asyncpg.UniqueViolationError:
        raise Conflict("the person holds this role in this scope already", field="role") from None
    if row is None:
        existing = await connection.fetchrow(f"SELECT {_GRANT_COLUMNS} FROM role_grant WHERE id = $1", id)
        if existing is None or (existing["person_id"], existing["role"], existing["scope_id"]) != (
            person_id,
            role,
            scope_id,
        ):
            raise Conflict("this grant id was used for another grant", field="id")
        return RoleGrant(**dict(existing)), False
    grant = RoleGrant(**dict(row))
    await audit.record(
        connection,
        actor,
        community_id=community_id,
        action="grant",
        entity="role_grant",
        entity_id=id,
        after={"person_id": str(person_id), "role": role, "scope_id": str(scope_id)},
    )
    return grant, True


async def revoke_grant(connection: asyncpg.Connection, actor: Principal, grant_id: uuid.UUID) -> RoleGrant:
    row = await connection.fetchrow(
        f"""
        UPDATE role_grant SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 AND community_id IS NOT NULL
        RETURNING {_GRANT_COLUMNS}
        """,
        grant_id,
    )
    if row is None:
        raise NotFound("no such role grant", grant_id=str(grant_id))
    grant = RoleGrant(**dict(row))
    await audit.record(
        connection,
        actor,
        community_id=grant.community_id,
        action="revoke",
        entity="role_grant",
        entity_id=grant_id,
        after={"revoked_at": str(grant.revoked_at)},
    )
    return grant


async def grants_of(connection: asyncpg.Connection, person_id: uuid.UUID) -> list[RoleGrant]:
    rows = await connection.fetch(
        f"SELECT {_GRANT_COLUMNS} FROM role_grant WHERE person_id = $1 AND revoked_at IS NULL ORDER BY granted_at",
        person_id,
    )
    return [RoleGrant(**dict(row)) for row in rows]


async def _insert_once(
    connection: asyncpg.Connection,
    sql: str,
    values: tuple[object, ...],
    *,
    what: str,
    parent_field: str = "community_id",
) -> bool:
    """Run an INSERT idempotently by id: True when it inserted, False when the id existed already."""
    try:
        async with connection.transaction():
            inserted = await connection.fetchval(sql + " ON CONFLICT (id) DO NOTHING RETURNING id", *values)
    except asyncpg.UniqueViolationError:
        raise Conflict(f"a {what} with this name exists already", field="name") from None
    except asyncpg.ForeignKeyViolationError:
        raise NotFound(f"the {what} refers to something not in this community", field=parent_field) from None
    except asyncpg.CheckViolationError as exc:
        raise InvalidInput(f"the {what} is invalid ({exc.constraint_name})", field="kind") from None
    return inserted is not None


@dataclass(frozen=True, slots=True, kw_only=True)
class PartyOrg:
    id: uuid.UUID
    community_id: uuid.UUID
    parent_id: uuid.UUID | None
    level: str
    name: str
    compound_id: uuid.UUID | None
    building_id: uuid.UUID | None
    household_id: uuid.UUID | None
    is_temporary: bool


_PARTY_ORG_COLUMNS = "id, community_id, parent_id, level, name, compound_id, building_id, household_id, is_temporary"

#: The level each party organisation sits under: the tree is committee → branch → group → hub household.
_PARENT_LEVEL = {"committee": None, "branch": "committee", "group": "branch", "hub_household": "group"}


async def add_party_org(
    connection: asyncpg.Connection, actor: Principal, community_id: uuid.UUID, new: PartyOrg
) -> tuple[PartyOrg, bool]:
    """Add a level of the party organisation under the level above it (a committee has no parent)."""
    expected_parent = _PARENT_LEVEL[new.level]
    if expected_parent is not None:
        parent_level = await connection.fetchval(
            "SELECT level FROM party_org WHERE id = $1 AND community_id = $2", new.parent_id, community_id
        )
        if parent_level is None:
            raise NotFound("the parent organisation is not in this community", field="parent_id")
        if parent_level != expected_parent:
            raise InvalidInput(f"a {new.level} sits under a {expected_parent}, not a {parent_level}", field="parent_id")
    created = await _insert_once(
        connection,
        f"INSERT INTO party_org ({_PARTY_ORG_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        (new.id, community_id, new.parent_id, new.level, new.name, new.compound_id, new.building_id,
         new.household_id, new.is_temporary),
        what="party organisation",
        parent_field="parent_id",
    )  # fmt: skip
    row = await connection.fetchrow(f"SELECT {_PARTY_ORG_COLUMNS} FROM party_org WHERE id = $1", new.id)
    stored = PartyOrg(**dict(row))
    if not created and (stored.level, stored.name, stored.parent_id) != (new.level, new.name, new.parent_id):
        raise Conflict("this id was used for another party organisation", field="id")
    if created:
        await audit.record(
            connection, actor, community_id=community_id, action="create", entity="party_org", entity_id=new.id,
            after={"level": new.level, "name": new.name, "parent_id": str(new.parent_id) if new.parent_id else None},
        )  # fmt: skip
    return stored, created


async def party_orgs_of(connection: asyncpg.Connection, community_id: uuid.UUID) -> list[PartyOrg]:
    """The community's party organisation, from the committee down, each level in name order."""
    rows = await connection.fetch(
        f"""
        SELECT {_PARTY_ORG_COLUMNS} FROM party_org WHERE community_id = $1
        ORDER BY array_position(ARRAY['committee', 'branch', 'group', 'hub_household'], level), name
        """,
        community_id,
    )
    return [PartyOrg(**dict(row)) for row in rows]


async def cover_building(
    connection: asyncpg.Connection,
    actor: Principal,
    community_id: uuid.UUID,
    *,
    grid_id: uuid.UUID,
    building_id: uuid.UUID,
) -> bool:
    """Put a building in a grid; a building is in one grid at most, and putting it there again changes nothing."""
    for table, field, row_id in (("grid", "grid_id", grid_id), ("building", "building_id", building_id)):
        if (
            await connection.fetchval(
                f"SELECT 1 FROM {table} WHERE id = $1 AND community_id = $2", row_id, community_id
            )
            is None
        ):
            raise NotFound(f"no such {table} in this community", field=field)
    current = await connection.fetchval("SELECT grid_id FROM grid_building WHERE building_id = $1", building_id)
    if current == grid_id:
        return False
    try:
        async with connection.transaction():
            await connection.execute(
                "INSERT INTO grid_building (community_id, grid_id, building_id) VALUES ($1, $2, $3)",
                community_id, grid_id, building_id,
            )  # fmt: skip
    except asyncpg.UniqueViolationError:
        raise Conflict("the building is in another grid already", field="building_id") from None
    await audit.record(
        connection, actor, community_id=community_id, action="cover", entity="grid", entity_id=grid_id,
        after={"building_id": str(building_id)},
    )  # fmt: skip
    return True
