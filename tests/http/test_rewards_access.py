"""Every points-mall endpoint × every kind of caller: who is let through, who is refused, and how.

``allowed`` callers pass the access policy (their request may still fail for a business reason: 400, 409, 422);
everyone else gets 401 (no token), 403 (no role that allows it here) or 404 (the target is in a community they
cannot see, so it does not exist for them).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.auth_support import SYSTEM, Org, headers_for
from tests.integration.rewards.support import open_member_accounts
from timebank.access.principal import Principal, Role
from timebank.db import Database

CALLERS = (
    "anonymous",
    "owner",
    "neighbour",
    "partner_admin",
    "grid_worker",
    "staff",
    "foreign_staff",
    "auditor",
    "street_admin",
    "system",
)
MEMBERS = {"owner", "neighbour", "partner_admin", "grid_worker", "staff", "auditor", "street_admin", "system"}
STAFF = {"staff", "system"}
OVERSEERS = {"staff", "auditor", "street_admin", "system"}
OWNERS = {"owner", *STAFF}
OWNERS_AND_OVERSEERS = {"owner", *OVERSEERS}


@dataclass(frozen=True)
class World:
    community: uuid.UUID
    station: uuid.UUID
    item: uuid.UUID
    order: uuid.UUID
    grant: uuid.UUID
    owner: uuid.UUID
    household: uuid.UUID
    callers: dict[str, Principal | None]


Body = Callable[[World], dict[str, Any]]
#: (method, path template, body, who passes the policy)
ENDPOINTS: list[tuple[str, str, Body | None, set[str]]] = [
    ("GET", "/v1/mall/communities/{community}/stations", None, MEMBERS),
    ("POST", "/v1/mall/communities/{community}/stations", lambda w: {"id": str(uuid.uuid4()), "name": "二号站"}, STAFF),
    ("GET", "/v1/mall/communities/{community}/mall-policy", None, MEMBERS),
    ("POST", "/v1/mall/communities/{community}/mall-policy", lambda w: {"version": 1}, STAFF),
    ("GET", "/v1/mall/stations/{station}/items", None, MEMBERS),
    (
        "POST",
        "/v1/mall/stations/{station}/items",
        lambda w: {
            "id": str(uuid.uuid4()),
            "name": f"皂{uuid.uuid4().hex[:4]}",
            "category": "daily_goods",
            "price_points": 5,
            "source": "purchased",
        },
        STAFF,
    ),
    ("GET", "/v1/mall/stations/{station}/reconciliation?since=2020-01-01T00:00:00Z", None, OVERSEERS),
    ("GET", "/v1/mall/items/{item}", None, MEMBERS),
    ("PATCH", "/v1/mall/items/{item}", lambda w: {"listed": True}, STAFF),
    (
        "POST",
        "/v1/mall/items/{item}/stock-movements",
        lambda w: {"id": str(uuid.uuid4()), "kind": "purchase_in", "quantity": 1},
        STAFF,
    ),
    ("POST", "/v1/mall/items/{item}/counts", lambda w: {"id": str(uuid.uuid4()), "counted": 100}, STAFF),
    (
        "POST",
        "/v1/mall/stations/{station}/orders",
        lambda w: {
            "id": str(uuid.uuid4()),
            "person_id": str(w.owner),
            "lines": [{"item_id": str(w.item), "quantity": 1}],
        },
        OWNERS,
    ),
    ("GET", "/v1/mall/stations/{station}/orders", None, OVERSEERS),
    ("POST", "/v1/mall/stations/{station}/counter/lookup", lambda w: {"code": "123456"}, STAFF),
    ("GET", "/v1/mall/orders/{order}", None, OWNERS_AND_OVERSEERS),
    ("GET", "/v1/mall/orders/{order}/returns", None, OWNERS_AND_OVERSEERS),
    ("POST", "/v1/mall/orders/{order}/approve", None, STAFF),
    ("POST", "/v1/mall/orders/{order}/reject", lambda w: {"reason": "缺货"}, STAFF),
    ("POST", "/v1/mall/orders/{order}/cancel", lambda w: {}, OWNERS),
    ("POST", "/v1/mall/orders/{order}/hand-over", lambda w: {"code": "000000"}, STAFF),
    (
        "POST",
        "/v1/mall/orders/{order}/returns",
        lambda w: {"id": str(uuid.uuid4()), "item_id": str(w.item), "quantity": 1, "reason": "坏了"},
        STAFF,
    ),
    ("GET", "/v1/mall/people/{owner}/orders", None, OWNERS_AND_OVERSEERS),
    ("GET", "/v1/mall/people/{owner}/points-expiry", None, OWNERS_AND_OVERSEERS),
    ("GET", "/v1/mall/stations/{station}/donations", None, MEMBERS),
    (
        "POST",
        "/v1/mall/stations/{station}/donations",
        lambda w: {
            "id": str(uuid.uuid4()),
            "donor_person_id": str(w.owner),
            "lines": [{"item_id": str(w.item), "accepted": 1, "condition": "good"}],
        },
        STAFF,
    ),
    ("GET", "/v1/mall/stations/{station}/grants", None, OVERSEERS),
    (
        "POST",
        "/v1/mall/stations/{station}/grants",
        lambda w: {
            "id": str(uuid.uuid4()),
            "household_id": str(w.household),
            "lines": [{"item_id": str(w.item), "quantity": 1}],
            "reason": "困难",
        },
        STAFF,
    ),
    ("GET", "/v1/mall/grants/{grant}", None, OVERSEERS),
    ("POST", "/v1/mall/grants/{grant}/approve", None, STAFF),
    ("POST", "/v1/mall/grants/{grant}/reject", None, STAFF),
    ("POST", "/v1/mall/grants/{grant}/cancel", None, STAFF),
    ("POST", "/v1/mall/grants/{grant}/issue", lambda w: {"signed_by": "李秀兰"}, STAFF),
]


@pytest.fixture(name="world")
async def fx_world(client: httpx.AsyncClient, org: Org, database: Database) -> World:
    community = await org.community()
    street = await org.street_of(community)
    elsewhere = await org.community()
    staff = await org.person(community, Role.community_staff)
    owner = await org.person(community, Role.resident, name="王秀英")
    await open_member_accounts(database, community, owner.id, 10_000)
    callers: dict[str, Principal | None] = {
        "anonymous": None,
        "owner": owner.principal,
        "neighbour": (await org.person(community, Role.resident, name="邻居")).principal,
        "partner_admin": (await org.person(community, Role.partner_admin)).principal,
        "grid_worker": (await org.person(community, Role.grid_worker)).principal,
        "staff": staff.principal,
        "foreign_staff": (await org.person(elsewhere, Role.community_staff)).principal,
        "auditor": (await org.person(community, (Role.auditor, street))).principal,
        "street_admin": (await org.person(community, (Role.street_admin, street))).principal,
        "system": SYSTEM,
    }
    as_staff = headers_for(staff)

    async def made(url: str, body: dict[str, Any], who: dict[str, str] = as_staff) -> uuid.UUID:
        response = await client.post(url, json=body, headers=who)
        assert response.status_code == 201, response.text
        return uuid.UUID(response.json()["id"])

    station = await made(f"/v1/mall/communities/{community}/stations", {"id": str(uuid.uuid4()), "name": "爱心超市"})
    item = await made(
        f"/v1/mall/stations/{station}/items",
        {"id": str(uuid.uuid4()), "name": "大米", "category": "grain_oil", "price_points": 1, "source": "purchased"},
    )
    await client.post(
        f"/v1/mall/items/{item}/stock-movements",
        json={"id": str(uuid.uuid4()), "kind": "purchase_in", "quantity": 1000},
        headers=as_staff,
    )
    order = await made(
        f"/v1/mall/stations/{station}/orders",
        {"id": str(uuid.uuid4()), "person_id": str(owner.id), "lines": [{"item_id": str(item), "quantity": 1}]},
        headers_for(owner),
    )
    household = uuid.uuid4()
    async with database.pool.acquire() as connection, connection.transaction():
        await connection.execute("SELECT set_config('timebank.all_communities', 'on', true)")
        compound, building = uuid.uuid4(), uuid.uuid4()
        await connection.execute(
            "INSERT INTO compound (id, community_id, name) VALUES ($1, $2, '一区')", compound, community
        )
        await connection.execute(
            "INSERT INTO building (id, community_id, compound_id, name) VALUES ($1, $2, $3, '1号楼')",
            building, community, compound,
        )  # fmt: skip
        await connection.execute(
            "INSERT INTO household (id, community_id, building_id, room, kind) VALUES ($1, $2, $3, '101', 'hardship')",
            household, community, building,
        )  # fmt: skip
    grant = await made(
        f"/v1/mall/stations/{station}/grants",
        {
            "id": str(uuid.uuid4()),
            "household_id": str(household),
            "lines": [{"item_id": str(item), "quantity": 1}],
            "reason": "困难",
        },
    )
    return World(community, station, item, order, grant, owner.id, household, callers)


def _url(template: str, world: World) -> str:
    return template.format(
        community=world.community,
        station=world.station,
        item=world.item,
        order=world.order,
        grant=world.grant,
        owner=world.owner,
    )


def _policy_refusal(response: httpx.Response) -> int | None:
    """The status if the access policy refused the request, None if it let it through.

    A handler may refuse too (a four-eyes rule, a code that matches no order); the policy's refusals are told apart
    by what they carry: a 403 names the ``action``, a 404 says the target is "no such ..." thing.
    """
    status = response.status_code
    if status == 401:
        return 401
    if status == 403 and "action" in response.json():
        return 403
    if status == 404 and response.json()["detail"].startswith("no such "):
        return 404
    return None


async def test_every_mall_endpoint_lets_in_exactly_whom_the_policy_says(
    client: httpx.AsyncClient, world: World
) -> None:
    wrong: list[str] = []
    for method, template, body, allowed in ENDPOINTS:
        for caller in CALLERS:
            response = await client.request(
                method,
                _url(template, world),
                json=None if body is None else body(world),
                headers=headers_for(world.callers[caller]),
            )
            refusal = _policy_refusal(response)
            if caller in allowed:
                ok = refusal is None
            elif caller == "anonymous":
                ok = refusal == 401
            elif caller == "foreign_staff" and {"staff"} <= allowed:
                ok = refusal == 404  # staff of another community: the target does not exist for them
            else:
                ok = refusal in (403, 404)
            if not ok:
                wrong.append(f"{method} {template} as {caller}: {response.status_code} {response.text[:160]}")
    assert wrong == []


def test_every_mall_route_is_in_the_table(app: Any) -> None:
    """A new endpoint without an expectation here fails this test."""
    routes = {
        (method, route.path)
        for route in app.routes
        if route.path.startswith("/v1/mall/")
        for method in getattr(route, "methods", ())
        if method not in ("HEAD", "OPTIONS")
    }
    table = {(method, template.split("?")[0]) for method, template, _, _ in ENDPOINTS}
    normalised = {
        (method, path.replace("{community_id:uuid}", "{community}").replace("{station_id:uuid}", "{station}")
         .replace("{item_id:uuid}", "{item}").replace("{order_id:uuid}", "{order}")
         .replace("{grant_id:uuid}", "{grant}").replace("{person_id:uuid}", "{owner}"))
        for method, path in routes
    }  # fmt: skip
    assert normalised == table
