"""The marketplace's rows of the endpoint × role walk (tests/http/test_authorization.py).

For each action, *mine* is the caller's own row as the action understands it: a need or order the caller requested,
an order dispatched to or claimed by the caller, a resource the caller (or the caller's unit or team) owns; *theirs*
is the same for a neighbour of the caller's community, *foreign* for someone of a community on another street. The
walk's people hold grants but no memberships, so each builder gives the people it needs the memberships the order
cycle asks for, and makes the rows through the services as a system account.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import asyncpg

from tests.auth_support import Person
from timebank.access.principal import Principal, Role
from timebank.community import people
from timebank.db import EVERY_COMMUNITY, bound
from timebank.errors import Conflict
from timebank.marketplace import claims, needs, orders, projects, resources
from timebank.marketplace.model import ClaimantKind, NeedKind, OrderMode, Settlement

if TYPE_CHECKING:  # the walk's own module imports this one
    from tests.http.test_authorization import Request, World

M = "/v1/marketplace"
_ACTOR = Principal.system("marketplace-access-walk")
_NS = uuid.UUID("5d0f3b8e-61c2-5a47-9e13-8b2f6c4d7a01")

ROLES = [
    "resident", "volunteer", "team_leader", "grid_worker", "branch_secretary", "community_staff", "partner_admin",
    "street_admin", "auditor", "system", "anonymous",
]  # fmt: skip


def _table(default: str, **by_role: str) -> dict[str, str]:
    """Expectations: ``default`` for every role not named; system sees everything, anonymous is asked to log in."""
    table = dict.fromkeys(ROLES, default)
    table.update(system="ok ok ok", anonymous="401 401 401")
    table.update(by_role)
    return table


_NONE = "403 403 403"
_COMMUNITY = "ok ok 404"
_OWN = "ok 403 404"
_READS = _table(_COMMUNITY)
_DISPATCH = _table(_NONE, community_staff=_COMMUNITY, branch_secretary=_COMMUNITY)
_OVERSEE = _table(
    _NONE, community_staff=_COMMUNITY, branch_secretary=_COMMUNITY, grid_worker=_COMMUNITY,
    street_admin=_COMMUNITY, auditor=_COMMUNITY,
)  # fmt: skip
# Every person is also a resident of their home community (scope: themselves), whatever else they are.
_OWNERS = _table(_OWN, community_staff=_COMMUNITY)
_UNITS = _table(_NONE, partner_admin=_OWN, community_staff=_COMMUNITY)
#: Grid workers and staff speak for residents; everyone else only for themselves.
_REQUESTER = _table(_OWN, grid_worker=_COMMUNITY, community_staff=_COMMUNITY)

_READ_ACTIONS = (
    "marketplace.resources.list", "marketplace.needs.list", "marketplace.projects.list", "marketplace.orders.list",
    "marketplace.policy.read", "marketplace.resource.read", "marketplace.need.read", "marketplace.order.read",
    "marketplace.order.events", "marketplace.project.read",
)  # fmt: skip

EXPECTED: dict[str, dict[str, str]] = {
    **dict.fromkeys(_READ_ACTIONS, _READS),
    "marketplace.resource.publish": _OWNERS,
    "marketplace.resource.edit": _OWNERS,
    "marketplace.resource.openings": _OWNERS,
    "marketplace.need.raise": _REQUESTER,
    "marketplace.need.withdraw": _REQUESTER,
    "marketplace.wish.verify": _DISPATCH,
    "marketplace.wish.reject": _DISPATCH,
    "marketplace.order.place": _DISPATCH,
    "marketplace.order.redirect": _DISPATCH,
    "marketplace.need.suggestions": _OVERSEE,
    "marketplace.metrics": _OVERSEE,
    # A branch secretary dispatches, so cancels anyone's order, but rates only their own.
    "marketplace.order.cancel": {**_REQUESTER, "branch_secretary": _COMMUNITY},
    "marketplace.order.reopen": _REQUESTER,
    "marketplace.order.rate": _REQUESTER,
    # Claims are a person's: a system account may not claim, and one may claim only what is dispatched to oneself.
    "marketplace.order.claim": _table(_OWN, system=_NONE),
    "marketplace.order.done": _table(_OWN, system=_NONE),
    # Dispatchers revoke a claim that is not theirs.
    "marketplace.order.withdraw": _table(_OWN, community_staff=_COMMUNITY, branch_secretary=_COMMUNITY),
    "marketplace.project.publish": _UNITS,
    "marketplace.project.edit": _UNITS,
    "marketplace.project.update": _UNITS,
    "marketplace.unit.openings": {**_UNITS, "branch_secretary": _COMMUNITY},
    "marketplace.policy.write": _table(_NONE, community_staff=_COMMUNITY),
}


# -- rows, made as a system account ------------------------------------------------------------------------------
@asynccontextmanager
async def _system(w: World) -> AsyncIterator[asyncpg.Connection]:
    async with bound(w.database.pool, EVERY_COMMUNITY) as connection:
        yield connection


async def _member(connection: asyncpg.Connection, person_id: uuid.UUID, community_id: uuid.UUID) -> None:
    """Make the person a volunteer of the community (with accounts), unless another walk already did."""
    membership = people.NewMembership(
        id=uuid.uuid5(_NS, f"{person_id}/{community_id}"), person_id=person_id, kind="volunteer"
    )
    with suppress(Conflict):
        await people.join(connection, _ACTOR, community_id, membership)


async def _helper(connection: asyncpg.Connection, community_id: uuid.UUID) -> Principal:
    """A fresh volunteer of the community, acting for themselves."""
    person, _ = await people.register_person(
        connection, _ACTOR, community_id, people.NewPerson(id=uuid.uuid4(), name="帮手")
    )
    await _member(connection, person.id, community_id)
    return Principal(
        subject=f"person:{person.id}",
        person_id=person.id,
        home_community_id=community_id,
        communities=frozenset({community_id}),
    )


def _acting(owner: Person) -> Principal:
    return owner.principal


async def _need(
    connection: asyncpg.Connection, requester: uuid.UUID, community_id: uuid.UUID, *, wish: bool = False
) -> uuid.UUID:
    await _member(connection, requester, community_id)
    need, _ = await needs.raise_need(
        connection,
        _ACTOR,
        community_id,
        needs.NewNeed(
            id=uuid.uuid4(),
            kind=NeedKind.micro_wish if wish else NeedKind.need,
            category="goods" if wish else "errands",
            title="心愿" if wish else "代取药品",
            requester_id=requester,
            est_minutes=30,
            settlement=Settlement.public_good if wish else Settlement.none,
            value_yuan=100 if wish else None,
        ),
    )
    return need.id


async def _order(connection: asyncpg.Connection, need_id: uuid.UUID, assignee: uuid.UUID | None = None) -> uuid.UUID:
    new = orders.NewOrder(
        id=uuid.uuid4(),
        need_id=need_id,
        mode=OrderMode.directed if assignee else OrderMode.open,
        assignee_kind=ClaimantKind.person if assignee else None,
        assignee_id=assignee,
    )
    order, _ = await orders.place_order(connection, _ACTOR, new)
    return order.id


async def _requested_order(w: World, o: Person, *, done: bool = False) -> uuid.UUID:
    """An order of a need the owner requested; claimed and reported done by a helper when ``done``."""
    async with _system(w) as connection:
        order_id = await _order(connection, await _need(connection, o.id, o.community_id))
        if done:
            helper = await _helper(connection, o.community_id)
            await claims.claim_order(connection, helper, order_id, claims.NewClaim(id=uuid.uuid4()))
            await claims.mark_done(connection, helper, order_id, minutes=20, proof_text="已送到")
    return order_id


async def _worked_order(w: World, o: Person, *, claimed: bool) -> uuid.UUID:
    """An order dispatched to the owner (and claimed by them when ``claimed``), for a helper's need."""
    async with _system(w) as connection:
        requester = await _helper(connection, o.community_id)
        assert requester.person_id is not None
        await _member(connection, o.id, o.community_id)
        order_id = await _order(connection, await _need(connection, requester.person_id, o.community_id), o.id)
        if claimed:
            await claims.claim_order(connection, _acting(o), order_id, claims.NewClaim(id=uuid.uuid4()))
    return order_id


def _owned_by(o: Person) -> tuple[str, uuid.UUID]:
    """A resource owner for the owner: their unit or team when they run one, else themselves."""
    for grant in o.principal.grants:
        if grant.role is Role.partner_admin:
            return "unit", grant.scope_id
        if grant.role is Role.team_leader:
            return "team", grant.scope_id
    return "person", o.id


def _resource_body(o: Person) -> dict[str, Any]:
    kind, owner = _owned_by(o)
    return {"id": str(uuid.uuid4()), "owner_kind": kind, "owner_id": str(owner), "category": "repair", "title": "维修"}


async def _resource(w: World, o: Person) -> uuid.UUID:
    body = _resource_body(o)
    async with _system(w) as connection:
        await _member(connection, o.id, o.community_id)
        resource, _ = await resources.create_resource(
            connection,
            _ACTOR,
            o.community_id,
            resources.NewResource(
                id=uuid.UUID(body["id"]),
                owner_kind=body["owner_kind"],
                owner_id=uuid.UUID(body["owner_id"]),
                category="repair",
                title="维修",
            ),
        )
    return resource.id


async def _unit_of(w: World, o: Person) -> uuid.UUID:
    """The owner's unit when they administer one, else a new unit of their community."""
    for grant in o.principal.grants:
        if grant.role is Role.partner_admin:
            return grant.scope_id
    return await w.org.unit(o.community_id)


def _project_body(unit: uuid.UUID) -> dict[str, Any]:
    today = datetime.now(UTC).date()
    return {
        "id": str(uuid.uuid4()),
        "unit_id": str(unit),
        "category": "elder_care",
        "title": "爱心理发",
        "starts_on": today.isoformat(),
        "ends_on": (today + timedelta(days=30)).isoformat(),
        "slots": 5,
    }


async def _project(w: World, o: Person) -> uuid.UUID:
    body = _project_body(await _unit_of(w, o))
    async with _system(w) as connection:
        project, _ = await projects.create_project(
            connection,
            _ACTOR,
            o.community_id,
            projects.NewProject(
                id=uuid.UUID(body["id"]),
                unit_id=uuid.UUID(body["unit_id"]),
                category="elder_care",
                title="爱心理发",
                starts_on=datetime.now(UTC).date(),
                ends_on=datetime.now(UTC).date() + timedelta(days=30),
                slots=5,
            ),
        )
    return project.id


# -- the requests --------------------------------------------------------------------------------------------------
def _list(what: str) -> Any:
    async def build(w: World, o: Person) -> Request:
        return "GET", f"{M}/communities/{o.community_id}/{what}", None, None

    return build


async def _metrics(w: World, o: Person) -> Request:
    since = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    return "GET", f"{M}/communities/{o.community_id}/metrics", None, {"since": since}


async def _publish_resource(w: World, o: Person) -> Request:
    async with _system(w) as connection:
        await _member(connection, o.id, o.community_id)
    return "POST", f"{M}/communities/{o.community_id}/resources", _resource_body(o), None


async def _read_resource(w: World, o: Person) -> Request:
    return "GET", f"{M}/resources/{await _resource(w, o)}", None, None


async def _edit_resource(w: World, o: Person) -> Request:
    return "PATCH", f"{M}/resources/{await _resource(w, o)}", {"capacity": 2}, None


async def _resource_openings(w: World, o: Person) -> Request:
    return "GET", f"{M}/resources/{await _resource(w, o)}/openings", None, None


async def _raise(w: World, o: Person) -> Request:
    async with _system(w) as connection:
        await _member(connection, o.id, o.community_id)
    body = {"id": str(uuid.uuid4()), "category": "errands", "title": "代取药品", "requester_id": str(o.id)}
    return "POST", f"{M}/communities/{o.community_id}/needs", body, None


async def _need_of(w: World, o: Person, *, wish: bool = False) -> uuid.UUID:
    async with _system(w) as connection:
        return await _need(connection, o.id, o.community_id, wish=wish)


async def _read_need(w: World, o: Person) -> Request:
    return "GET", f"{M}/needs/{await _need_of(w, o)}", None, None


async def _withdraw_need(w: World, o: Person) -> Request:
    return "POST", f"{M}/needs/{await _need_of(w, o)}/withdraw", None, None


async def _verify(w: World, o: Person) -> Request:
    return "POST", f"{M}/needs/{await _need_of(w, o, wish=True)}/verify", {"note": "入户核实"}, None


async def _reject(w: World, o: Person) -> Request:
    return "POST", f"{M}/needs/{await _need_of(w, o, wish=True)}/reject", {"note": "重复"}, None


async def _place(w: World, o: Person) -> Request:
    body = {"id": str(uuid.uuid4()), "mode": "open"}
    return "POST", f"{M}/needs/{await _need_of(w, o)}/orders", body, None


async def _suggestions(w: World, o: Person) -> Request:
    return "GET", f"{M}/needs/{await _need_of(w, o)}/suggestions", None, None


async def _read_order(w: World, o: Person) -> Request:
    return "GET", f"{M}/orders/{await _requested_order(w, o)}", None, None


async def _order_events(w: World, o: Person) -> Request:
    return "GET", f"{M}/orders/{await _requested_order(w, o)}/events", None, None


async def _redirect(w: World, o: Person) -> Request:
    return "POST", f"{M}/orders/{await _requested_order(w, o)}/redirect", {"mode": "open"}, None


async def _cancel(w: World, o: Person) -> Request:
    return "POST", f"{M}/orders/{await _requested_order(w, o)}/cancel", {"reason": "不需要了"}, None


async def _reopen(w: World, o: Person) -> Request:
    return "POST", f"{M}/orders/{await _requested_order(w, o, done=True)}/reopen", {"reason": "没送到"}, None


async def _rate(w: World, o: Person) -> Request:
    return "POST", f"{M}/orders/{await _requested_order(w, o, done=True)}/rating", {"rating": 5}, None


async def _claim(w: World, o: Person) -> Request:
    order_id = await _worked_order(w, o, claimed=False)
    return "POST", f"{M}/orders/{order_id}/claims", {"id": str(uuid.uuid4())}, None


async def _withdraw_claim(w: World, o: Person) -> Request:
    order_id = await _worked_order(w, o, claimed=True)
    return "POST", f"{M}/orders/{order_id}/withdraw", {"reason": "临时有事"}, None


async def _done(w: World, o: Person) -> Request:
    order_id = await _worked_order(w, o, claimed=True)
    return "POST", f"{M}/orders/{order_id}/done", {"minutes": 20, "proof_text": "已完成"}, None


async def _publish_project(w: World, o: Person) -> Request:
    return "POST", f"{M}/communities/{o.community_id}/projects", _project_body(await _unit_of(w, o)), None


async def _read_project(w: World, o: Person) -> Request:
    return "GET", f"{M}/projects/{await _project(w, o)}", None, None


async def _edit_project(w: World, o: Person) -> Request:
    return "PATCH", f"{M}/projects/{await _project(w, o)}", {"slots": 6}, None


async def _project_update(w: World, o: Person) -> Request:
    body = {"id": str(uuid.uuid4()), "body": "完成两次服务", "progress_percent": 40}
    return "POST", f"{M}/projects/{await _project(w, o)}/updates", body, None


async def _unit_openings(w: World, o: Person) -> Request:
    return "GET", f"{M}/units/{await _unit_of(w, o)}/openings", None, None


async def _write_policy(w: World, o: Person) -> Request:
    async with _system(w) as connection:
        latest = await connection.fetchval(
            "SELECT coalesce(max(version), 0) FROM marketplace_policy WHERE community_id = $1", o.community_id
        )
    body = {"version": latest + 1, "valid_from": datetime.now(UTC).isoformat(), "compound_limit": "PT12H"}
    return "POST", f"{M}/communities/{o.community_id}/policy", body, None


BUILDERS = {
    "marketplace.resources.list": _list("resources"),
    "marketplace.needs.list": _list("needs"),
    "marketplace.projects.list": _list("projects"),
    "marketplace.orders.list": _list("orders"),
    "marketplace.policy.read": _list("policy"),
    "marketplace.metrics": _metrics,
    "marketplace.resource.publish": _publish_resource,
    "marketplace.resource.read": _read_resource,
    "marketplace.resource.edit": _edit_resource,
    "marketplace.resource.openings": _resource_openings,
    "marketplace.need.raise": _raise,
    "marketplace.need.read": _read_need,
    "marketplace.need.withdraw": _withdraw_need,
    "marketplace.wish.verify": _verify,
    "marketplace.wish.reject": _reject,
    "marketplace.order.place": _place,
    "marketplace.need.suggestions": _suggestions,
    "marketplace.order.read": _read_order,
    "marketplace.order.events": _order_events,
    "marketplace.order.redirect": _redirect,
    "marketplace.order.cancel": _cancel,
    "marketplace.order.reopen": _reopen,
    "marketplace.order.rate": _rate,
    "marketplace.order.claim": _claim,
    "marketplace.order.withdraw": _withdraw_claim,
    "marketplace.order.done": _done,
    "marketplace.project.publish": _publish_project,
    "marketplace.project.read": _read_project,
    "marketplace.project.edit": _edit_project,
    "marketplace.project.update": _project_update,
    "marketplace.unit.openings": _unit_openings,
    "marketplace.policy.write": _write_policy,
}
