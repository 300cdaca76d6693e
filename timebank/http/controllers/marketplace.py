"""HTTP face of the three lists, per community: resources, needs and micro-wishes, projects, orders, figures, policy.

Who may call what is the access policy's (timebank/access/rules/marketplace.py); each handler names its action and
binds its transaction to the caller's communities, so rows elsewhere are not found.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from timebank.access.principal import Principal
from timebank.access.scoped import bound_for
from timebank.db import Database
from timebank.http.responses import created
from timebank.marketplace import contracts as wire
from timebank.marketplace import needs, order_store, policy, projects, resources
from timebank.marketplace.metrics import cycle_figures
from timebank.marketplace.model import Category, NeedKind, Settlement

__all__ = ["MarketplaceCommunityController"]

Limit = Annotated[int, QueryParameter(ge=1, le=200)]
Text = Annotated[str | None, QueryParameter(min_length=1, max_length=50, pattern=r"^[^\x00]*$")]
NeedStatus = Annotated[
    str | None, QueryParameter(pattern="^(pending_review|published|ordered|fulfilled|rejected|withdrawn)$")
]
OrderStatus = Annotated[str | None, QueryParameter(pattern="^(dispatched|open|accepted|done|closed|cancelled)$")]


class MarketplaceCommunityController(Controller):
    path = "/marketplace/communities/{community_id:uuid}"
    tags = ["marketplace"]  # noqa: RUF012

    # -- resources -----------------------------------------------------------------------------------------------
    @post("/resources", operation_id="PublishResource", opt={"action": "marketplace.resource.publish"})
    async def publish_resource(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        community_id: FromPath[uuid.UUID],
        data: JSONBody[wire.ResourcePublishRequest],
    ) -> Response[wire.ResourceResponse]:
        """Publish a resource of a unit, team, volunteer or the community (idempotent by id)."""
        new = resources.NewResource(**data.changes())
        async with bound_for(database.pool, principal) as connection:
            resource, is_new = await resources.create_resource(connection, principal, community_id, new)
        return created(wire.ResourceResponse.of(resource), is_new)

    @get("/resources", operation_id="ListResources", opt={"action": "marketplace.resources.list"})
    async def list_resources(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        community_id: FromPath[uuid.UUID],
        category: FromQuery[Category | None] = None,
        status: Annotated[str | None, QueryParameter(pattern="^(published|withdrawn)$")] = "published",
        owner_kind: Annotated[str | None, QueryParameter(pattern="^(unit|team|person|community)$")] = None,
        owner_id: FromQuery[uuid.UUID | None] = None,
        compound_id: FromQuery[uuid.UUID | None] = None,
        q: Text = None,
        before: FromQuery[uuid.UUID | None] = None,
        limit: Limit = 50,
    ) -> wire.ResourcePage:
        """Resources newest first; ``compound_id`` keeps those serving it (or the whole community)."""
        where = resources.ResourceFilter(
            category=category, status=status, owner_kind=owner_kind, owner_id=owner_id, compound_id=compound_id, text=q
        )
        async with bound_for(database.pool, principal) as connection:
            page = await resources.list_resources(connection, community_id, where, before=before, limit=limit)
        return wire.ResourcePage(items=[wire.ResourceResponse.of(r) for r in page.items], next_before=page.next_before)

    # -- needs and micro-wishes ----------------------------------------------------------------------------------
    @post("/needs", operation_id="RaiseNeed", opt={"action": "marketplace.need.raise"})
    async def raise_need(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        community_id: FromPath[uuid.UUID],
        data: JSONBody[wire.NeedRaiseRequest],
    ) -> Response[wire.NeedResponse]:
        """Raise a need (published at once) or a micro-wish (verified by staff first); idempotent by id."""
        fields = data.changes()
        fields["kind"], fields["settlement"] = NeedKind(data.kind), Settlement(data.settlement)
        async with bound_for(database.pool, principal) as connection:
            need, is_new = await needs.raise_need(connection, principal, community_id, needs.NewNeed(**fields))
        return created(wire.NeedResponse.of(need), is_new)

    @get("/needs", operation_id="ListNeeds", opt={"action": "marketplace.needs.list"})
    async def list_needs(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        community_id: FromPath[uuid.UUID],
        kind: Annotated[str | None, QueryParameter(pattern="^(need|micro_wish)$")] = None,
        category: FromQuery[Category | None] = None,
        status: NeedStatus = None,
        compound_id: FromQuery[uuid.UUID | None] = None,
        building_id: FromQuery[uuid.UUID | None] = None,
        requester_id: FromQuery[uuid.UUID | None] = None,
        q: Text = None,
        before: FromQuery[uuid.UUID | None] = None,
        limit: Limit = 50,
    ) -> wire.NeedPage:
        """Needs and wishes newest first; names are masked unless the caller may know them."""
        where = needs.NeedFilter(
            kind=kind,
            category=category,
            status=status,
            compound_id=compound_id,
            building_id=building_id,
            requester_id=requester_id,
            text=q,
        )
        async with bound_for(database.pool, principal) as connection:
            page = await needs.list_needs(connection, principal, community_id, where, before=before, limit=limit)
        return wire.NeedPage(items=[wire.NeedResponse.of(n) for n in page.items], next_before=page.next_before)

    # -- projects ------------------------------------------------------------------------------------------------
    @post("/projects", operation_id="PublishProject", opt={"action": "marketplace.project.publish"})
    async def publish_project(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        community_id: FromPath[uuid.UUID],
        data: JSONBody[wire.ProjectPublishRequest],
    ) -> Response[wire.ProjectResponse]:
        """Publish a partner unit's co-building project (idempotent by id)."""
        new = projects.NewProject(**data.changes())
        async with bound_for(database.pool, principal) as connection:
            project, is_new = await projects.create_project(connection, principal, community_id, new)
        return created(wire.ProjectResponse.of(project), is_new)

    @get("/projects", operation_id="ListProjects", opt={"action": "marketplace.projects.list"})
    async def list_projects(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        community_id: FromPath[uuid.UUID],
        category: FromQuery[Category | None] = None,
        status: Annotated[str | None, QueryParameter(pattern="^(proposed|active|completed|closed)$")] = None,
        unit_id: FromQuery[uuid.UUID | None] = None,
        q: Text = None,
        before: FromQuery[uuid.UUID | None] = None,
        limit: Limit = 50,
    ) -> wire.ProjectPage:
        where = projects.ProjectFilter(category=category, status=status, unit_id=unit_id, text=q)
        async with bound_for(database.pool, principal) as connection:
            page = await projects.list_projects(connection, community_id, where, before=before, limit=limit)
        return wire.ProjectPage(items=[wire.ProjectResponse.of(p) for p in page.items], next_before=page.next_before)

    # -- orders, figures, policy ---------------------------------------------------------------------------------
    @get("/orders", operation_id="ListOrders", opt={"action": "marketplace.orders.list"})
    async def list_orders(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        community_id: FromPath[uuid.UUID],
        status: OrderStatus = None,
        tier: Annotated[str | None, QueryParameter(pattern="^(compound|community|street|department)$")] = None,
        assignee_id: FromQuery[uuid.UUID | None] = None,
        worker_id: FromQuery[uuid.UUID | None] = None,
        need_id: FromQuery[uuid.UUID | None] = None,
        before: FromQuery[uuid.UUID | None] = None,
        limit: Limit = 50,
    ) -> wire.OrderPage:
        """Orders newest first, by status, tier, assignee, worker (claimer or participant) or need."""
        where = order_store.OrderFilter(
            status=status, tier=tier, assignee_id=assignee_id, worker_id=worker_id, need_id=need_id
        )
        async with bound_for(database.pool, principal) as connection:
            page = await order_store.list_orders(connection, community_id, where, before=before, limit=limit)
        return wire.OrderPage(items=[wire.OrderResponse.of(o) for o in page.items], next_before=page.next_before)

    @get("/metrics", operation_id="GetCycleMetrics", opt={"action": "marketplace.metrics"})
    async def metrics(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        community_id: FromPath[uuid.UUID],
        since: FromQuery[datetime],
        until: FromQuery[datetime | None] = None,
    ) -> list[wire.FiguresResponse]:
        """Claim rate, time to claim, time to close and satisfaction over orders placed in [since, until): the
        community first, then each partner unit and team."""
        async with bound_for(database.pool, principal) as connection:
            figures = await cycle_figures(connection, [community_id], since, until or datetime.now(UTC))
        return [wire.FiguresResponse.of(f) for f in figures]

    @get("/policy", operation_id="GetOrderPolicy", opt={"action": "marketplace.policy.read"})
    async def read_policy(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        community_id: FromPath[uuid.UUID],
    ) -> wire.PolicyResponse:
        """The order-cycle policy in force now."""
        async with bound_for(database.pool, principal) as connection:
            return wire.PolicyResponse.of(await policy.policy_at(connection, community_id, datetime.now(UTC)))

    @post("/policy", operation_id="WriteOrderPolicy", opt={"action": "marketplace.policy.write"})
    async def write_policy(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        community_id: FromPath[uuid.UUID],
        data: JSONBody[wire.PolicyWriteRequest],
    ) -> Response[wire.PolicyResponse]:
        """Append the next policy version (idempotent by version number); orders keep the version they began under."""
        fields = data.changes()
        version, valid_from = fields.pop("version"), fields.pop("valid_from")
        async with bound_for(database.pool, principal) as connection:
            written, is_new = await policy.write_policy(
                connection, principal, community_id, version=version, valid_from=valid_from,
                rules=policy.OrderRules(**fields),
            )  # fmt: skip
        return created(wire.PolicyResponse.of(written), is_new)
