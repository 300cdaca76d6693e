"""The project list (项目清单): partner units' co-building projects, with slots, a points budget and progress.

A unit's admin publishes and edits the unit's projects and posts progress updates; staff may do all of it. Orders
can serve a project (taking one of its slots); their points then come from the unit's budget.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import date, datetime

import asyncpg

from timebank.access.principal import Principal
from timebank.community import audit
from timebank.errors import Conflict, InvalidInput, NotFound
from timebank.marketplace import acting
from timebank.marketplace.listing import Page, page_clause

__all__ = [
    "NewProject",
    "Project",
    "ProjectFilter",
    "ProjectUpdate",
    "create_project",
    "get_project",
    "list_projects",
    "post_update",
    "project_updates",
    "update_project",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class NewProject:
    id: uuid.UUID
    unit_id: uuid.UUID
    category: str
    title: str
    goal: str = ""
    starts_on: date
    ends_on: date
    slots: int
    points_budget: int | None = None
    skills: tuple[str, ...] = ()
    compound_id: uuid.UUID | None = None
    building_id: uuid.UUID | None = None
    status: str = "active"


@dataclass(frozen=True, slots=True, kw_only=True)
class Project(NewProject):
    community_id: uuid.UUID
    points_spent: int
    progress_percent: int
    slots_taken: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ProjectUpdate:
    id: uuid.UUID
    project_id: uuid.UUID
    body: str
    progress_percent: int | None
    photo_urls: tuple[str, ...]
    posted_by: uuid.UUID | None
    posted_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ProjectFilter:
    category: str | None = None
    status: str | None = None
    unit_id: uuid.UUID | None = None
    text: str | None = None


_COLUMNS = """
    p.id, p.community_id, p.unit_id, p.category, p.title, p.goal, p.starts_on, p.ends_on, p.slots, p.points_budget,
    p.skills, p.compound_id, p.building_id, p.status, p.points_spent, p.progress_percent, p.created_at, p.updated_at,
    (SELECT count(*) FROM service_order o
     WHERE o.project_id = p.id AND o.status IN ('dispatched', 'open', 'accepted', 'done'))::int AS slots_taken
"""

EDITABLE = frozenset(
    {"category", "title", "goal", "starts_on", "ends_on", "slots", "points_budget", "skills", "status"}
)


def _project(row: asyncpg.Record) -> Project:
    values = dict(row)
    values["skills"] = tuple(values["skills"])
    return Project(**values)


def _may_edit(principal: Principal, community_id: uuid.UUID, unit_id: uuid.UUID) -> bool:
    return acting.is_staff(principal, community_id) or acting.speaks_for_unit(principal, unit_id)


async def create_project(
    connection: asyncpg.Connection, actor: Principal, community_id: uuid.UUID, new: NewProject
) -> tuple[Project, bool]:
    """Publish a unit's project; returns it and whether it is new.

    Raises:
        Forbidden: the caller is neither the unit's admin nor staff.
        NotFound: the unit or place is not in this community.
        InvalidInput: the period ends before it starts.
    """
    acting.require(_may_edit(actor, community_id, new.unit_id), "a unit's admin or staff publish its projects")
    if new.ends_on < new.starts_on:
        raise InvalidInput("a project cannot end before it starts", field="ends_on")
    try:
        async with connection.transaction():
            inserted = await connection.fetchval(
                """
                INSERT INTO project (id, community_id, unit_id, category, title, goal, starts_on, ends_on, slots,
                    points_budget, skills, compound_id, building_id, status, created_by)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
                ON CONFLICT (id) DO NOTHING RETURNING id
                """,
                new.id,
                community_id,
                new.unit_id,
                new.category,
                new.title,
                new.goal,
                new.starts_on,
                new.ends_on,
                new.slots,
                new.points_budget,
                list(new.skills),
                new.compound_id,
                new.building_id,
                new.status,
                actor.person_id,
            )
    except asyncpg.ForeignKeyViolationError:
        raise NotFound("the unit or place is not in this community", field="unit_id") from None
    project = await get_project(connection, new.id)
    if inserted is None:
        if (project.community_id, project.unit_id, project.title) != (community_id, new.unit_id, new.title):
            raise Conflict("this project id was used for a different project", field="id", id=str(new.id))
        return project, False
    await audit.record(
        connection, actor, community_id=community_id, action="publish", entity="project", entity_id=new.id,
        after=_view(project),
    )  # fmt: skip
    return project, True


async def update_project(
    connection: asyncpg.Connection, actor: Principal, project_id: uuid.UUID, changes: dict[str, object]
) -> Project:
    """Change some fields of a project (e.g. ``status='completed'``); the same change twice is a no-op.

    Raises:
        InvalidInput: a field is not editable, or the change breaks a rule (a budget below what is spent).
    """
    unknown = set(changes) - EDITABLE
    if unknown:
        raise InvalidInput(f"{sorted(unknown)[0]} cannot be changed", field=sorted(unknown)[0])
    before = await get_project(connection, project_id, lock=True)
    acting.require(_may_edit(actor, before.community_id, before.unit_id), "a unit's admin or staff edit its projects")
    if not changes:
        return before
    values = {key: list(value) if isinstance(value, tuple) else value for key, value in changes.items()}
    assignments = ", ".join(f"{column} = ${i}" for i, column in enumerate(values, start=2))
    try:
        async with connection.transaction():
            await connection.execute(
                f"UPDATE project SET {assignments}, updated_at = now() WHERE id = $1", project_id, *values.values()
            )
    except asyncpg.CheckViolationError as exc:
        field = "points_budget" if "points" in (exc.constraint_name or "") else "ends_on"
        raise InvalidInput(f"the project is inconsistent ({exc.constraint_name})", field=field) from None
    after = await get_project(connection, project_id)
    await audit.record(
        connection, actor, community_id=after.community_id, action="edit", entity="project", entity_id=project_id,
        before=_view(before), after=_view(after),
    )  # fmt: skip
    return after


async def post_update(
    connection: asyncpg.Connection,
    actor: Principal,
    project_id: uuid.UUID,
    *,
    id: uuid.UUID,
    body: str,
    progress_percent: int | None = None,
    photo_urls: tuple[str, ...] = (),
) -> tuple[ProjectUpdate, bool]:
    """Post a progress update (and the project's new progress); idempotent by ``id``."""
    project = await get_project(connection, project_id, lock=True)
    acting.require(_may_edit(actor, project.community_id, project.unit_id), "a unit's admin or staff post progress")
    row = await connection.fetchrow(
        """
        INSERT INTO project_update (id, community_id, project_id, body, progress_percent, photo_urls, posted_by)
        VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING
        RETURNING id, project_id, body, progress_percent, photo_urls, posted_by, posted_at
        """,
        id,
        project.community_id,
        project_id,
        body,
        progress_percent,
        list(photo_urls),
        actor.person_id,
    )
    if row is None:
        existing = await connection.fetchrow(
            "SELECT id, project_id, body, progress_percent, photo_urls, posted_by, posted_at FROM project_update "
            "WHERE id = $1",
            id,
        )
        if existing is None or (existing["project_id"], existing["body"]) != (project_id, body):
            raise Conflict("this update id was used for a different update", field="id", id=str(id))
        return _update(existing), False
    if progress_percent is not None:
        await connection.execute(
            "UPDATE project SET progress_percent = $2, updated_at = now() WHERE id = $1", project_id, progress_percent
        )
    return _update(row), True


def _update(row: asyncpg.Record) -> ProjectUpdate:
    values = dict(row)
    values["photo_urls"] = tuple(values["photo_urls"])
    return ProjectUpdate(**values)


async def project_updates(connection: asyncpg.Connection, project_id: uuid.UUID) -> list[ProjectUpdate]:
    rows = await connection.fetch(
        """
        SELECT id, project_id, body, progress_percent, photo_urls, posted_by, posted_at FROM project_update
        WHERE project_id = $1 ORDER BY posted_at, id
        """,
        project_id,
    )
    return [_update(row) for row in rows]


async def get_project(connection: asyncpg.Connection, project_id: uuid.UUID, *, lock: bool = False) -> Project:
    suffix = " FOR UPDATE OF p" if lock else ""
    row = await connection.fetchrow(f"SELECT {_COLUMNS} FROM project p WHERE p.id = $1{suffix}", project_id)
    if row is None:
        raise NotFound("no such project", project_id=str(project_id))
    return _project(row)


async def list_projects(
    connection: asyncpg.Connection,
    community_id: uuid.UUID,
    where: ProjectFilter,
    *,
    before: uuid.UUID | None = None,
    limit: int = 50,
) -> Page[Project]:
    rows = await connection.fetch(
        f"""
        SELECT {_COLUMNS} FROM project p
        WHERE p.community_id = $1
          AND ($2::text IS NULL OR p.category = $2)
          AND ($3::text IS NULL OR p.status = $3)
          AND ($4::uuid IS NULL OR p.unit_id = $4)
          AND ($5::text IS NULL OR strpos(p.title, $5) > 0 OR strpos(p.goal, $5) > 0)
          AND {page_clause("project", "$6", alias="p")}
        ORDER BY p.created_at DESC, p.id DESC
        LIMIT $7
        """,
        community_id,
        where.category,
        where.status,
        where.unit_id,
        where.text,
        before,
        limit,
    )
    return Page.of([_project(row) for row in rows], limit)


def _view(project: Project) -> dict[str, object]:
    return {key: value if isinstance(value, int | str) else str(value) for key, value in asdict(project).items()}
