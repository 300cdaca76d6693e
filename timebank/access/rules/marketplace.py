"""Who may use the three lists and the order cycle.

Everyone of a community reads its lists and orders; street admins and auditors read every community of their street.
Owners publish and edit their own resources (a unit's admin, a team's leader, the volunteer); a unit's admin its
projects. Staff and branch secretaries verify wishes, dispatch, redirect and cancel orders, and see suggestions and
figures. Any member may raise a need, claim an order, report it done, and rate it: the service then checks that
this caller is the requester (or their verified relative), the claimer, or the assignee, and refuses with 403.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg
import msgspec

from timebank.access.policy import Lookup, Rule, Scope, Target, allow, not_found
from timebank.access.principal import Role, ScopeKind

__all__ = ["RULES"]

_SYSTEM = allow(Role.system, within=Scope.system)
_STREET_READERS = allow(Role.street_admin, Role.auditor, within=Scope.street)
_COMMUNITY_ROLES = (
    Role.resident,
    Role.volunteer,
    Role.team_leader,
    Role.grid_worker,
    Role.branch_secretary,
    Role.community_staff,
    Role.partner_admin,
)
_READERS = (*allow(*_COMMUNITY_ROLES, within=Scope.community), *_STREET_READERS, *_SYSTEM)
_MEMBERS = (*allow(*_COMMUNITY_ROLES, within=Scope.community), *_SYSTEM)
_STAFF = (*allow(Role.community_staff, within=Scope.community), *_SYSTEM)
_DISPATCHERS = (*allow(Role.community_staff, Role.branch_secretary, within=Scope.community), *_SYSTEM)
_OVERSEERS = (*_DISPATCHERS, *allow(Role.grid_worker, within=Scope.community), *_STREET_READERS)
_OWNERS = (
    *allow(Role.partner_admin, within=Scope.unit),
    *allow(Role.team_leader, within=Scope.team),
    *allow(Role.resident, Role.volunteer, within=Scope.self),
    *_STAFF,
)
_UNIT_ADMINS = (*allow(Role.partner_admin, within=Scope.unit), *_STAFF)
_REQUESTERS = (
    *allow(
        Role.resident, Role.volunteer, Role.team_leader, Role.grid_worker, Role.community_staff, within=Scope.community
    ),
    *_SYSTEM,
)


def _owner(
    kind: str | None, owner_id: uuid.UUID | None
) -> tuple[frozenset[uuid.UUID], frozenset[tuple[ScopeKind, uuid.UUID]]]:
    """(people, places) of a resource owner or an order's worker."""
    if owner_id is None:
        return frozenset(), frozenset()
    if kind == "person":
        return frozenset({owner_id}), frozenset()
    if kind in ("unit", "team"):
        return frozenset(), frozenset({(ScopeKind(kind), owner_id)})
    return frozenset(), frozenset()


async def _community(lookup: Lookup, connection: asyncpg.Connection) -> Sequence[Target]:
    community_id: uuid.UUID = lookup.path("community_id")
    return [Target(community_id, missing="no such community", ref={"community_id": str(community_id)})]


class _NamesOwner(msgspec.Struct):
    owner_kind: str
    owner_id: uuid.UUID | None = None


async def _resource_owner_in_body(lookup: Lookup, connection: asyncpg.Connection) -> Sequence[Target]:
    community_id: uuid.UUID = lookup.path("community_id")
    body = await lookup.body(_NamesOwner)
    people, places = _owner(body.owner_kind, body.owner_id)
    return [Target(community_id, people, places, missing="no such community", ref={"community_id": str(community_id)})]


async def _resource(lookup: Lookup, connection: asyncpg.Connection) -> Sequence[Target]:
    resource_id: uuid.UUID = lookup.path("resource_id")
    row = await connection.fetchrow(
        "SELECT community_id, owner_kind, coalesce(unit_id, team_id, person_id) AS owner FROM resource WHERE id = $1",
        resource_id,
    )
    ref = {"resource_id": str(resource_id)}
    if row is None:
        raise not_found("no such resource", **ref)
    people, places = _owner(row["owner_kind"], row["owner"])
    return [Target(row["community_id"], people, places, missing="no such resource", ref=ref)]


async def _need(lookup: Lookup, connection: asyncpg.Connection) -> Sequence[Target]:
    need_id: uuid.UUID = lookup.path("need_id")
    row = await connection.fetchrow("SELECT community_id, requester_id FROM need WHERE id = $1", need_id)
    ref = {"need_id": str(need_id)}
    if row is None:
        raise not_found("no such need", **ref)
    people = frozenset({row["requester_id"]}) if row["requester_id"] else frozenset()
    return [Target(row["community_id"], people, missing="no such need", ref=ref)]


async def _order(lookup: Lookup, connection: asyncpg.Connection) -> Sequence[Target]:
    order_id: uuid.UUID = lookup.path("order_id")
    row = await connection.fetchrow(
        """
        SELECT o.community_id, o.assignee_kind, o.assignee_id, n.requester_id FROM service_order o
        JOIN need n ON n.id = o.need_id WHERE o.id = $1
        """,
        order_id,
    )
    ref = {"order_id": str(order_id)}
    if row is None:
        raise not_found("no such order", **ref)
    people, places = _owner(row["assignee_kind"], row["assignee_id"])
    if row["requester_id"] is not None:
        people |= {row["requester_id"]}
    return [Target(row["community_id"], people, places, missing="no such order", ref=ref)]


class _NamesUnit(msgspec.Struct):
    unit_id: uuid.UUID


async def _project_unit_in_body(lookup: Lookup, connection: asyncpg.Connection) -> Sequence[Target]:
    community_id: uuid.UUID = lookup.path("community_id")
    body = await lookup.body(_NamesUnit)
    return [
        Target(
            community_id,
            places=frozenset({(ScopeKind.unit, body.unit_id)}),
            missing="no such community",
            ref={"community_id": str(community_id)},
        )
    ]


async def _project(lookup: Lookup, connection: asyncpg.Connection) -> Sequence[Target]:
    project_id: uuid.UUID = lookup.path("project_id")
    row = await connection.fetchrow("SELECT community_id, unit_id FROM project WHERE id = $1", project_id)
    ref = {"project_id": str(project_id)}
    if row is None:
        raise not_found("no such project", **ref)
    return [
        Target(
            row["community_id"],
            places=frozenset({(ScopeKind.unit, row["unit_id"])}),
            missing="no such project",
            ref=ref,
        )
    ]


async def _unit(lookup: Lookup, connection: asyncpg.Connection) -> Sequence[Target]:
    unit_id: uuid.UUID = lookup.path("unit_id")
    community_id = await connection.fetchval("SELECT community_id FROM partner_unit WHERE id = $1", unit_id)
    ref = {"unit_id": str(unit_id)}
    if community_id is None:
        raise not_found("no such partner unit", **ref)
    return [
        Target(community_id, places=frozenset({(ScopeKind.unit, unit_id)}), missing="no such partner unit", ref=ref)
    ]


RULES = (
    Rule(
        (
            "marketplace.resources.list",
            "marketplace.needs.list",
            "marketplace.projects.list",
            "marketplace.orders.list",
            "marketplace.policy.read",
        ),
        allow=_READERS,
        target=_community,
    ),
    Rule(("marketplace.resource.read",), allow=_READERS, target=_resource),
    Rule(("marketplace.need.read",), allow=_READERS, target=_need),
    Rule(("marketplace.order.read", "marketplace.order.events"), allow=_READERS, target=_order),
    Rule(("marketplace.project.read",), allow=_READERS, target=_project),
    Rule(("marketplace.resource.publish",), allow=_OWNERS, target=_resource_owner_in_body),
    Rule(("marketplace.resource.edit", "marketplace.resource.openings"), allow=_OWNERS, target=_resource),
    Rule(("marketplace.need.raise",), allow=_REQUESTERS, target=_community),
    Rule(("marketplace.need.withdraw",), allow=_REQUESTERS, target=_need),
    Rule(
        ("marketplace.wish.verify", "marketplace.wish.reject", "marketplace.order.place"),
        allow=_DISPATCHERS,
        target=_need,
    ),
    Rule(("marketplace.need.suggestions",), allow=_OVERSEERS, target=_need),
    Rule(("marketplace.order.redirect",), allow=_DISPATCHERS, target=_order),
    Rule(
        ("marketplace.order.cancel", "marketplace.order.reopen", "marketplace.order.rate"),
        allow=(*_REQUESTERS, *allow(Role.branch_secretary, within=Scope.community)),
        target=_order,
    ),
    Rule(
        ("marketplace.order.claim", "marketplace.order.withdraw", "marketplace.order.done"),
        allow=_MEMBERS,
        target=_order,
    ),
    Rule(("marketplace.project.publish",), allow=_UNIT_ADMINS, target=_project_unit_in_body),
    Rule(("marketplace.project.edit", "marketplace.project.update"), allow=_UNIT_ADMINS, target=_project),
    Rule(
        ("marketplace.unit.openings",),
        allow=(*_UNIT_ADMINS, *allow(Role.branch_secretary, within=Scope.community)),
        target=_unit,
    ),
    Rule(("marketplace.metrics",), allow=_OVERSEERS, target=_community),
    Rule(("marketplace.policy.write",), allow=_STAFF, target=_community),
)
