"""The points mall over HTTP: the counter flow end to end, problem documents that name the field, proxies."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.auth_support import Org, Person, headers_for
from tests.integration.rewards.support import open_member_accounts
from timebank.access.principal import Role
from timebank.community import family
from timebank.db import Database, bound


@dataclass(frozen=True)
class Counter:
    community: uuid.UUID
    station: str
    staff: Person
    second_staff: Person
    resident: Person


async def _counter(client: httpx.AsyncClient, org: Org, database: Database, points: int = 100) -> Counter:
    community = await org.community()
    staff = await org.person(community, Role.community_staff, name="社区干事")
    second = await org.person(community, Role.community_staff, name="社区主任")
    resident = await org.person(community, Role.resident, name="王秀英")
    await open_member_accounts(database, community, resident.id, points)
    station = str(uuid.uuid4())
    made = await client.post(
        f"/v1/mall/communities/{community}/stations",
        json={"id": station, "name": "爱心超市", "opening_hours": "每周五 9:00-11:00"},
        headers=headers_for(staff),
    )
    assert made.status_code == 201, made.text
    return Counter(community, station, staff, second, resident)


async def _item(client: httpx.AsyncClient, counter: Counter, *, price: int = 44, stock: int = 5, **fields: Any) -> str:
    item = str(uuid.uuid4())
    body = {
        "id": item,
        "name": f"大米{item[:4]}",
        "category": "grain_oil",
        "price_points": price,
        "source": "purchased",
    }
    made = await client.post(
        f"/v1/mall/stations/{counter.station}/items", json=body | fields, headers=headers_for(counter.staff)
    )
    assert made.status_code == 201, made.text
    if stock:
        moved = await client.post(
            f"/v1/mall/items/{item}/stock-movements",
            json={"id": str(uuid.uuid4()), "kind": "purchase_in", "quantity": stock},
            headers=headers_for(counter.staff),
        )
        assert moved.status_code == 201, moved.text
    return item


def _order_body(person: uuid.UUID, *lines: tuple[str, int]) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "person_id": str(person),
        "lines": [{"item_id": item, "quantity": quantity} for item, quantity in lines],
    }


async def test_order_approve_and_hand_over_at_the_counter(
    client: httpx.AsyncClient, org: Org, database: Database
) -> None:
    counter = await _counter(client, org, database)
    rice = await _item(client, counter)
    as_resident, as_staff = headers_for(counter.resident), headers_for(counter.staff)

    catalogue = await client.get(f"/v1/mall/stations/{counter.station}/items", headers=as_resident)
    assert [(i["id"], i["available"]) for i in catalogue.json()] == [(rice, 5)]
    body = _order_body(counter.resident.id, (rice, 2))
    placed = await client.post(f"/v1/mall/stations/{counter.station}/orders", json=body, headers=as_resident)
    replay = await client.post(f"/v1/mall/stations/{counter.station}/orders", json=body, headers=as_resident)
    assert (placed.status_code, replay.status_code) == (201, 200), placed.text
    order = placed.json()
    assert (order["status"], order["total_points"], order["pickup_code"]) == ("placed", 88, None)

    approved = await client.post(f"/v1/mall/orders/{order['id']}/approve", headers=as_staff)
    assert approved.status_code == 200, approved.text
    assert approved.json()["pickup_code"] is None  # staff never see the resident's code
    mine = (await client.get(f"/v1/mall/orders/{order['id']}", headers=as_resident)).json()
    code, qr = mine["pickup_code"], mine["pickup_qr"]
    assert len(code) == 6
    assert qr.startswith("TBP1.")

    found = await client.post(f"/v1/mall/stations/{counter.station}/counter/lookup", json={"qr": qr}, headers=as_staff)
    assert found.status_code == 200, found.text
    assert found.json()["id"] == order["id"]
    handed = await client.post(
        f"/v1/mall/orders/{order['id']}/hand-over",
        json={"code": code, "taken": [{"item_id": rice, "quantity": 1}]},
        headers=as_staff,
    )
    assert handed.status_code == 200, handed.text
    assert (handed.json()["status"], handed.json()["posted_points"]) == ("picked_up", 44)

    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    report = await client.get(
        f"/v1/mall/stations/{counter.station}/reconciliation", params={"since": since}, headers=as_staff
    )
    assert report.status_code == 200, report.text
    assert report.json()["balanced"] is True
    assert report.json()["points"]["posted"] == 44
    listed = await client.get(f"/v1/mall/people/{counter.resident.id}/orders", headers=as_resident)
    assert [o["id"] for o in listed.json()] == [order["id"]]


async def test_refusals_are_problem_documents_naming_the_field(
    client: httpx.AsyncClient, org: Org, database: Database
) -> None:
    counter = await _counter(client, org, database, points=50)
    rice = await _item(client, counter, stock=1)
    soap = await _item(client, counter, price=10, stock=10)
    as_resident, as_staff = headers_for(counter.resident), headers_for(counter.staff)
    url = f"/v1/mall/stations/{counter.station}/orders"

    oversold = await client.post(url, json=_order_body(counter.resident.id, (rice, 2)), headers=as_resident)
    overspent = await client.post(url, json=_order_body(counter.resident.id, (soap, 6)), headers=as_resident)
    zero = await client.post(url, json=_order_body(counter.resident.id, (soap, 0)), headers=as_resident)
    unknown = await client.post(
        url, json=_order_body(counter.resident.id, (soap, 1)) | {"discount": 5}, headers=as_resident
    )
    placed = (await client.post(url, json=_order_body(counter.resident.id, (soap, 1)), headers=as_resident)).json()
    await client.post(f"/v1/mall/orders/{placed['id']}/approve", headers=as_staff)
    wrong_code = await client.post(
        f"/v1/mall/orders/{placed['id']}/hand-over", json={"code": "000000"}, headers=as_staff
    )
    short_code = await client.post(
        f"/v1/mall/stations/{counter.station}/counter/lookup", json={"code": "12345"}, headers=as_staff
    )
    returned_unpicked = await client.post(
        f"/v1/mall/orders/{placed['id']}/returns",
        json={"id": str(uuid.uuid4()), "item_id": soap, "quantity": 1, "reason": "不要了"},
        headers=as_staff,
    )

    for response in (oversold, overspent, zero, unknown, wrong_code, short_code, returned_unpicked):
        assert response.headers["content-type"].startswith("application/problem+json"), response.text
    assert (oversold.status_code, oversold.json()["type"].rsplit("/", 1)[1]) == (422, "out-of-stock")
    assert (oversold.json()["field"], oversold.json()["available"]) == ("lines", 1)
    assert (overspent.status_code, overspent.json()["type"].rsplit("/", 1)[1]) == (422, "not-enough-points")
    assert overspent.json()["available"] == 50
    assert (zero.status_code, zero.json()["field"]) == (400, "lines[0].quantity")
    assert unknown.status_code == 400
    assert (wrong_code.status_code, wrong_code.json()["field"]) == (422, "code")
    assert (short_code.status_code, short_code.json()["field"]) == (400, "code")
    assert (returned_unpicked.status_code, returned_unpicked.json()["type"].rsplit("/", 1)[1]) == (409, "wrong-state")


async def test_a_verified_relative_orders_for_an_elder_and_strangers_cannot(
    client: httpx.AsyncClient, org: Org, database: Database
) -> None:
    counter = await _counter(client, org, database)
    soap = await _item(client, counter, price=10)
    child = await org.person(counter.community, Role.resident, name="赵明")
    url = f"/v1/mall/stations/{counter.station}/orders"
    elder = counter.resident.id

    before = await client.post(url, json=_order_body(elder, (soap, 1)), headers=headers_for(child))
    async with bound(database.pool, [counter.community]) as connection:
        link, _ = await family.request_link(
            connection, child.principal, id=uuid.uuid4(), person_id=child.id, relative_id=elder, relation="parent"
        )
        await family.verify_link(connection, counter.staff.principal, link.id)
    after = await client.post(url, json=_order_body(elder, (soap, 1)), headers=headers_for(child))

    assert before.status_code == 403
    assert after.status_code == 201, after.text
    assert (after.json()["person_id"], after.json()["placed_by"]) == (str(elder), str(child.id))
    await client.post(f"/v1/mall/orders/{after.json()['id']}/approve", headers=headers_for(counter.staff))
    seen = await client.get(f"/v1/mall/orders/{after.json()['id']}", headers=headers_for(child))
    assert seen.json()["pickup_code"] is not None


async def test_another_community_does_not_exist_and_item_changes_are_audited(
    client: httpx.AsyncClient, org: Org, database: Database
) -> None:
    counter = await _counter(client, org, database)
    rice = await _item(client, counter, limit_per_day=2)
    foreign_staff = await org.person(await org.community(), Role.community_staff)

    hidden = await client.get(f"/v1/mall/items/{rice}", headers=headers_for(foreign_staff))
    assert hidden.status_code == 404
    changed = await client.patch(
        f"/v1/mall/items/{rice}",
        json={"price_points": 40, "limit_per_day": None},
        headers=headers_for(counter.staff),
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["price_points"], changed.json()["limit_per_day"]) == (40, None)
    async with bound(database.pool, [counter.community]) as connection:
        events = await connection.fetch(
            "SELECT action, actor_id, before, after FROM audit_event WHERE entity = 'rewards_item' AND entity_id = $1 "
            "ORDER BY id",
            rice,
        )
    [created_event, updated] = events
    assert created_event["action"] == "create"
    assert (json.loads(updated["before"])["price_points"], json.loads(updated["after"])["price_points"]) == (44, 40)
    assert updated["actor_id"] == counter.staff.id
