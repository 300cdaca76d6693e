"""The resource list (资源清单): what partner units, teams, volunteers and the community's offices offer.

Owners publish and edit their own entries (a unit's admin, a team's leader, the volunteer); staff edit any. Every
function runs on a connection bound to the caller's communities, so another community's entries are not found.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime

import asyncpg

from timebank.access.principal import Principal
from timebank.community import audit
from timebank.errors import Conflict, InvalidInput, NotFound
from timebank.marketplace import acting
from timebank.marketplace.listing import Page, page_clause

__all__ = [
    "NewResource",
    "Resource",
    "ResourceFilter",
    "create_resource",
    "get_resource",
    "list_resources",
    "update_resource",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class NewResource:
    """A resource to publish; ``id`` is the client's, so a retry publishes once."""

    id: uuid.UUID
    owner_kind: str
    owner_id: uuid.UUID | None
    category: str
    title: str
    detail: str = ""
    skills: tuple[str, ...] = ()
    capacity: int = 1
    schedule: str = ""
    weekdays: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7)
    available_from: date | None = None
    available_until: date | None = None
    compound_id: uuid.UUID | None = None
    building_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Resource(NewResource):
    community_id: uuid.UUID
    status: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ResourceFilter:
    category: str | None = None
    status: str | None = "published"
    owner_kind: str | None = None
    owner_id: uuid.UUID | None = None
    compound_id: uuid.UUID | None = None
    text: str | None = None


_COLUMNS = """
    id, community_id, owner_kind, coalesce(unit_id, team_id, person_id) AS owner_id, category, title, detail, skills,
    capacity, schedule, weekdays, available_from, available_until, compound_id, building_id, status, created_at,
    updated_at
"""

#: Fields an owner may change after publishing (the owner itself and the id never change).
EDITABLE = frozenset(
    {
        "category",
        "title",
        "detail",
        "skills",
        "capacity",
        "schedule",
        "weekdays",
        "available_from",
        "available_until",
        "compound_id",
        "building_id",
        "status",
    }
)


def _resource(row: asyncpg.Record) -> Resource:
    values = dict(row)
    values["skills"] = tuple(values["skills"])
    values["weekdays"] = tuple(values["weekdays"])
    return Resource(**values)


def _owner_columns(owner_kind: str, owner_id: uuid.UUID | None) -> tuple[uuid.UUID | None, ...]:
    """(unit_id, team_id, person_id) for an owner."""
    if (owner_kind == "community") != (owner_id is None):
        raise InvalidInput("owner_id names the unit, team or person (none for the community)", field="owner_id")
    return tuple(owner_id if owner_kind == kind else None for kind in ("unit", "team", "person"))


async def _may_edit(
    connection: asyncpg.Connection,
    principal: Principal,
    community_id: uuid.UUID,
    owner_kind: str,
    owner_id: uuid.UUID | None,
) -> bool:
    if acting.is_staff(principal, community_id):
        return True
    if owner_kind == "unit" and owner_id is not None:
        return acting.speaks_for_unit(principal, owner_id)
    if owner_kind == "team" and owner_id is not None:
        return await acting.speaks_for_team(connection, principal, owner_id)
    return owner_kind == "person" and owner_id is not None and principal.person_id == owner_id


async def create_resource(
    connection: asyncpg.Connection, actor: Principal, community_id: uuid.UUID, new: NewResource
) -> tuple[Resource, bool]:
    """Publish a resource; returns it and whether it is new.

    Raises:
        Forbidden: the caller does not speak for the owner.
        NotFound: the unit, team, person or place is not in this community.
        Conflict: the id was used for a different resource.
    """
    acting.require(
        await _may_edit(connection, actor, community_id, new.owner_kind, new.owner_id),
        "only the owner (the unit's admin, the team's leader, the volunteer) or staff publish its resources",
    )
    unit_id, team_id, person_id = _owner_columns(new.owner_kind, new.owner_id)
    if person_id is not None and not await acting.is_member(connection, person_id, community_id):
        raise NotFound("the person is not a member of this community", field="owner_id")
    try:
        async with connection.transaction():
            row = await connection.fetchrow(
                f"""
                INSERT INTO resource (id, community_id, owner_kind, unit_id, team_id, person_id, category, title,
                    detail, skills, capacity, schedule, weekdays, available_from, available_until, compound_id,
                    building_id, created_by)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
                ON CONFLICT (id) DO NOTHING
                RETURNING {_COLUMNS}
                """,
                new.id,
                community_id,
                new.owner_kind,
                unit_id,
                team_id,
                person_id,
                new.category,
                new.title,
                new.detail,
                list(new.skills),
                new.capacity,
                new.schedule,
                list(new.weekdays),
                new.available_from,
                new.available_until,
                new.compound_id,
                new.building_id,
                actor.person_id,
            )
    except asyncpg.ForeignKeyViolationError as exc:
        raise NotFound("a referenced owner or place is not in this community", field=_fk_field(exc)) from None
    except asyncpg.CheckViolationError as exc:
        raise InvalidInput(f"the resource is inconsistent ({exc.constraint_name})", field="available_until") from None
    if row is None:
        existing = await get_resource(connection, new.id)
        if existing.community_id != community_id or _as_new(existing) != replace(new, compound_id=existing.compound_id):
            raise Conflict("this resource id was used for a different resource", field="id", id=str(new.id))
        return existing, False
    resource = _resource(row)
    await audit.record(
        connection, actor, community_id=community_id, action="publish", entity="resource", entity_id=new.id,
        after=_view(resource),
    )  # fmt: skip
    return resource, True


async def update_resource(
    connection: asyncpg.Connection, actor: Principal, resource_id: uuid.UUID, changes: dict[str, object]
) -> Resource:
    """Change some fields of a resource (withdraw it with ``status='withdrawn'``); the same change twice is a no-op.

    Raises:
        InvalidInput: a field is not editable.
        Forbidden: the caller does not speak for the owner.
    """
    unknown = set(changes) - EDITABLE
    if unknown:
        raise InvalidInput(f"{sorted(unknown)[0]} cannot be changed", field=sorted(unknown)[0])
    before = await get_resource(connection, resource_id, lock=True)
    acting.require(
        await _may_edit(connection, actor, before.community_id, before.owner_kind, before.owner_id),
        "only the owner or staff edit a resource",
    )
    values = {key: list(value) if isinstance(value, tuple) else value for key, value in changes.items()}
    if not values:
        return before
    assignments = ", ".join(f"{column} = ${i}" for i, column in enumerate(values, start=2))
    try:
        async with connection.transaction():
            row = await connection.fetchrow(
                f"UPDATE resource SET {assignments}, updated_at = now() WHERE id = $1 RETURNING {_COLUMNS}",
                resource_id,
                *values.values(),
            )
    except asyncpg.ForeignKeyViolationError as exc:
        raise NotFound("the place is not in this community", field=_fk_field(exc)) from None
    except asyncpg.CheckViolationError as exc:
        raise InvalidInput(f"the resource is inconsistent ({exc.constraint_name})", field="available_until") from None
    after = _resource(row)
    await audit.record(
        connection, actor, community_id=after.community_id, action="edit", entity="resource", entity_id=resource_id,
        before=_view(before), after=_view(after),
    )  # fmt: skip
    return after


async def get_resource(connection: asyncpg.Connection, resource_id: uuid.UUID, *, lock: bool = False) -> Resource:
    suffix = " FOR UPDATE" if lock else ""
    row = await connection.fetchrow(f"SELECT {_COLUMNS} FROM resource WHERE id = $1{suffix}", resource_id)
    if row is None:
        raise NotFound("no such resource", resource_id=str(resource_id))
    return _resource(row)


async def list_resources(
    connection: asyncpg.Connection,
    community_id: uuid.UUID,
    where: ResourceFilter,
    *,
    before: uuid.UUID | None = None,
    limit: int = 50,
) -> Page[Resource]:
    """Resources of a community, newest first, filtered by category, status, owner, compound and text."""
    rows = await connection.fetch(
        f"""
        SELECT {_COLUMNS} FROM resource
        WHERE community_id = $1
          AND ($2::text IS NULL OR category = $2)
          AND ($3::text IS NULL OR status = $3)
          AND ($4::text IS NULL OR owner_kind = $4)
          AND ($5::uuid IS NULL OR $5 IN (unit_id, team_id, person_id))
          AND ($6::uuid IS NULL OR compound_id = $6 OR compound_id IS NULL)
          AND ($7::text IS NULL OR strpos(title, $7) > 0 OR strpos(detail, $7) > 0 OR $7 = ANY (skills))
          AND {page_clause("resource", "$8")}
        ORDER BY created_at DESC, id DESC
        LIMIT $9
        """,
        community_id,
        where.category,
        where.status,
        where.owner_kind,
        where.owner_id,
        where.compound_id,
        where.text,
        before,
        limit,
    )
    return Page.of([_resource(row) for row in rows], limit)


def _as_new(resource: Resource) -> NewResource:
    return NewResource(**{name: getattr(resource, name) for name in NewResource.__dataclass_fields__})


def _view(resource: Resource) -> dict[str, object]:
    return {key: value if isinstance(value, int | str) else str(value) for key, value in asdict(resource).items()}


def _fk_field(exc: asyncpg.ForeignKeyViolationError) -> str:
    constraint = exc.constraint_name or ""
    for field in ("unit_id", "team_id", "person_id", "compound_id", "building_id"):
        if field.removesuffix("_id") in constraint:
            return "owner_id" if field in ("unit_id", "team_id", "person_id") else field
    return "owner_id"
