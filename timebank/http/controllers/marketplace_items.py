"""HTTP face of one resource, one project and one partner unit: read, edit, progress, and what each could take.

Who may call what is the access policy's (timebank/access/rules/marketplace.py); owners edit their own.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Annotated

from litestar import Controller, Response, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from timebank.access.principal import Principal
from timebank.access.scoped import bound_for
from timebank.db import Database
from timebank.http.responses import created
from timebank.marketplace import contracts as wire
from timebank.marketplace import projects, resources
from timebank.marketplace.openings import openings_for_resource, openings_for_unit

__all__ = ["PartnerUnitOpeningsController", "ProjectController", "ResourceController"]

Limit = Annotated[int, QueryParameter(ge=1, le=50)]


class ResourceController(Controller):
    path = "/marketplace/resources/{resource_id:uuid}"
    tags = ["marketplace"]  # noqa: RUF012

    @get("", operation_id="GetResource", opt={"action": "marketplace.resource.read"})
    async def read(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        resource_id: FromPath[uuid.UUID],
    ) -> wire.ResourceResponse:
        async with bound_for(database.pool, principal) as connection:
            return wire.ResourceResponse.of(await resources.get_resource(connection, resource_id))

    @patch("", operation_id="EditResource", opt={"action": "marketplace.resource.edit"})
    async def edit(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        resource_id: FromPath[uuid.UUID],
        data: JSONBody[wire.ResourceEditRequest],
    ) -> wire.ResourceResponse:
        """Change the fields sent (withdraw with ``status: withdrawn``); the owner or staff."""
        async with bound_for(database.pool, principal) as connection:
            resource = await resources.update_resource(connection, principal, resource_id, data.changes())
        return wire.ResourceResponse.of(resource)

    @get("/openings", operation_id="OpeningsForResource", opt={"action": "marketplace.resource.openings"})
    async def openings(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        resource_id: FromPath[uuid.UUID],
        limit: Limit = 10,
    ) -> list[wire.OpeningResponse]:
        """Open needs and wishes this resource could take, best first, with reasons."""
        async with bound_for(database.pool, principal) as connection:
            found = await openings_for_resource(connection, resource_id, limit=limit)
        return [wire.OpeningResponse.of(o) for o in found]


class ProjectController(Controller):
    path = "/marketplace/projects/{project_id:uuid}"
    tags = ["marketplace"]  # noqa: RUF012

    @get("", operation_id="GetProject", opt={"action": "marketplace.project.read"})
    async def read(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        project_id: FromPath[uuid.UUID],
    ) -> wire.ProjectDetailResponse:
        """A project with its slots taken and its progress updates."""
        async with bound_for(database.pool, principal) as connection:
            project = await projects.get_project(connection, project_id)
            updates = await projects.project_updates(connection, project_id)
        return wire.ProjectDetailResponse.of({**asdict(project), "updates": [asdict(u) for u in updates]})

    @patch("", operation_id="EditProject", opt={"action": "marketplace.project.edit"})
    async def edit(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        project_id: FromPath[uuid.UUID],
        data: JSONBody[wire.ProjectEditRequest],
    ) -> wire.ProjectResponse:
        """Change the fields sent (e.g. ``status: completed``); the unit's admin or staff."""
        async with bound_for(database.pool, principal) as connection:
            project = await projects.update_project(connection, principal, project_id, data.changes())
        return wire.ProjectResponse.of(project)

    @post("/updates", operation_id="PostProjectUpdate", opt={"action": "marketplace.project.update"})
    async def post_update(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        project_id: FromPath[uuid.UUID],
        data: JSONBody[wire.ProjectUpdateRequest],
    ) -> Response[wire.ProjectUpdateResponse]:
        """Post a progress update (idempotent by id); a percentage moves the project's progress."""
        async with bound_for(database.pool, principal) as connection:
            update, is_new = await projects.post_update(
                connection, principal, project_id, id=data.id, body=data.body,
                progress_percent=data.progress_percent, photo_urls=tuple(data.photo_urls),
            )  # fmt: skip
        return created(wire.ProjectUpdateResponse.of(update), is_new)


class PartnerUnitOpeningsController(Controller):
    path = "/marketplace/units/{unit_id:uuid}"
    tags = ["marketplace"]  # noqa: RUF012

    @get("/openings", operation_id="OpeningsForUnit", opt={"action": "marketplace.unit.openings"})
    async def openings(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        unit_id: FromPath[uuid.UUID],
        limit: Limit = 10,
    ) -> list[wire.OpeningResponse]:
        """Open needs and wishes the unit could take (by its resources, projects and members' skills)."""
        async with bound_for(database.pool, principal) as connection:
            found = await openings_for_unit(connection, unit_id, limit=limit)
        return [wire.OpeningResponse.of(o) for o in found]
