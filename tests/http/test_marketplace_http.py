"""The three lists and the order cycle over HTTP: the whole path as the mini-app and the console walk it, the race's
loser told 409, and bad input answered with problem documents that name the field."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from tests.auth_support import headers_for
from tests.integration.marketplace.conftest import Neighbourhood, give_coins
from tests.integration.marketplace.conftest import fx_hood as fx_hood  # the same neighbourhood, over HTTP
from timebank.access.principal import Principal
from timebank.db import Database

M = "/v1/marketplace"
PROBLEM = "application/problem+json"


async def _post(client: httpx.AsyncClient, url: str, who: Principal, body: Any) -> httpx.Response:
    return await client.post(url, json=body, headers=headers_for(who))


def _need(hood: Neighbourhood, **overrides: Any) -> dict[str, Any]:
    body = {
        "id": str(uuid.uuid4()),
        "category": "repair",
        "title": "厨房水龙头漏水",
        "skills": ["水电维修"],
        "household_id": str(hood.household),
        "est_minutes": 60,
        "settlement": "time_bank",
    }
    return body | overrides


async def test_need_to_credits_over_http(client: httpx.AsyncClient, database: Database, hood: Neighbourhood) -> None:
    await give_coins(database, hood, hood.requester, 60)
    community = f"{M}/communities/{hood.community}"
    body = _need(hood)
    raised = await _post(client, f"{community}/needs", hood.requester, body)
    assert raised.status_code == 201, raised.text
    assert (await _post(client, f"{community}/needs", hood.requester, body)).status_code == 200
    need_id = raised.json()["id"]

    suggestions = await client.get(f"{M}/needs/{need_id}/suggestions", headers=headers_for(hood.staff))
    assert suggestions.status_code == 200, suggestions.text
    best = suggestions.json()[0]
    assert (best["kind"], best["id"]) == ("member", str(hood.helper.person_id))
    assert {"code": "same_building", "text": "lives in the same building"} in best["reasons"]

    order_body = {
        "id": str(uuid.uuid4()),
        "mode": "directed",
        "assignee_kind": "person",
        "assignee_id": str(hood.helper.person_id),
    }
    placed = await _post(client, f"{M}/needs/{need_id}/orders", hood.staff, order_body)
    assert placed.status_code == 201, placed.text
    order = f"{M}/orders/{placed.json()['id']}"

    claim = {"id": str(uuid.uuid4())}
    claimed = await _post(client, f"{order}/claims", hood.helper, claim)
    assert (claimed.status_code, claimed.json()["status"]) == (201, "accepted")
    assert (await _post(client, f"{order}/claims", hood.helper, claim)).status_code == 200
    done = await _post(client, f"{order}/done", hood.helper, {"minutes": 45, "proof_text": "换了阀芯"})
    assert (done.status_code, done.json()["status"]) == (200, "done")
    rated = await _post(client, f"{order}/rating", hood.requester, {"rating": 5, "comment": "很满意"})
    assert rated.status_code == 200, rated.text
    assert (rated.json()["status"], rated.json()["rating"], len(rated.json()["credit_transfer_ids"])) == (
        "closed",
        5,
        1,
    )
    transfer = rated.json()["credit_transfer_ids"][0]
    paid = await client.get(f"/v1/ledger/transfers/{transfer}", headers=headers_for(hood.staff))
    assert (paid.status_code, paid.json()["amount"]) == (200, 45)

    events = await client.get(f"{order}/events", headers=headers_for(hood.requester))
    assert [e["action"] for e in events.json()] == ["dispatch", "claim", "done", "rate"]
    assert events.json()[1]["actor_id"] == str(hood.helper.person_id)


async def test_the_second_claimer_is_told_409(client: httpx.AsyncClient, hood: Neighbourhood) -> None:
    need = _need(hood, settlement="public_good", category="companionship", title="陪老人聊天", skills=[])
    raised = await _post(client, f"{M}/communities/{hood.community}/needs", hood.requester, need)
    placed = await _post(
        client, f"{M}/needs/{raised.json()['id']}/orders", hood.staff, {"id": str(uuid.uuid4()), "mode": "open"}
    )
    order = f"{M}/orders/{placed.json()['id']}"
    first = await _post(client, f"{order}/claims", hood.helper, {"id": str(uuid.uuid4())})
    second = await _post(client, f"{order}/claims", hood.neighbour, {"id": str(uuid.uuid4())})
    assert first.status_code == 201
    assert (second.status_code, second.headers["content-type"]) == (409, PROBLEM)
    assert second.json()["type"].endswith("/already-claimed")


async def test_bad_input_is_a_problem_naming_the_field(client: httpx.AsyncClient, hood: Neighbourhood) -> None:
    needs_url = f"{M}/communities/{hood.community}/needs"
    cases = [
        (_need(hood, est_minutes=-1), 400, "est_minutes"),
        (_need(hood, colour="red"), 400, "colour"),
        (_need(hood, kind="micro_wish", settlement="public_good", value_yuan=500), 422, "value_yuan"),
        (_need(hood, kind="micro_wish", settlement="public_good"), 422, "value_yuan"),
        (_need(hood, household_id=str(uuid.uuid4()), settlement="public_good"), 404, "household_id"),
        (_need(hood, title="漏\u0000水"), 400, "title"),
        (_need(hood, settlement="time_bank", est_minutes=0), 422, "est_minutes"),
    ]
    for body, status, field in cases:
        response = await _post(client, needs_url, hood.staff, body)
        assert (response.status_code, response.headers["content-type"]) == (status, PROBLEM), response.text
        document = response.json()
        named = [document.get("field"), *(e.get("key") for e in document.get("errors", []))]
        assert field in named or f"`{field}`" in document["detail"], document

    raised = await _post(client, needs_url, hood.requester, _need(hood, settlement="public_good"))
    placed = await _post(
        client, f"{M}/needs/{raised.json()['id']}/orders", hood.staff, {"id": str(uuid.uuid4()), "mode": "open"}
    )
    order = f"{M}/orders/{placed.json()['id']}"
    await _post(client, f"{order}/claims", hood.helper, {"id": str(uuid.uuid4())})
    no_proof = await _post(client, f"{order}/done", hood.helper, {"minutes": 30})
    assert (no_proof.status_code, no_proof.json()["field"]) == (422, "proof_text")
    bad_url = await _post(client, f"{order}/done", hood.helper, {"minutes": 30, "proof_urls": ["ftp://x"]})
    assert bad_url.status_code == 400
    too_early = await _post(client, f"{order}/rating", hood.requester, {"rating": 5})
    assert (too_early.status_code, too_early.json()["type"].rsplit("/", 1)[1]) == (409, "order-not-in-state")
    out_of_range = await _post(client, f"{order}/rating", hood.requester, {"rating": 6})
    assert out_of_range.status_code == 400


async def test_who_may_do_what(client: httpx.AsyncClient, hood: Neighbourhood) -> None:
    raised = await _post(
        client, f"{M}/communities/{hood.community}/needs", hood.requester, _need(hood, settlement="public_good")
    )
    need = f"{M}/needs/{raised.json()['id']}"
    order_body = {"id": str(uuid.uuid4()), "mode": "open"}
    assert (await _post(client, f"{need}/orders", hood.requester, order_body)).status_code == 403
    assert (await client.get(need, headers=headers_for(hood.outsider))).status_code == 404
    assert (await _post(client, f"{need}/orders", hood.outsider, order_body)).status_code == 404
    seen = await client.get(need, headers=headers_for(hood.neighbour))
    assert (seen.status_code, seen.json()["requester_name"]) == (200, "王**")
    assert (await client.get(f"{need}/suggestions", headers=headers_for(hood.helper))).status_code == 403
    assert (await client.get(need)).status_code == 401


async def test_lists_over_http(client: httpx.AsyncClient, hood: Neighbourhood) -> None:
    community = f"{M}/communities/{hood.community}"
    resource = {
        "id": str(uuid.uuid4()),
        "owner_kind": "unit",
        "owner_id": str(hood.unit),
        "category": "repair",
        "title": "物业水电维修",
        "skills": ["水电维修"],
        "weekdays": [1, 2, 3, 4, 5],
    }
    published = await _post(client, f"{community}/resources", hood.unit_admin, resource)
    assert published.status_code == 201, published.text
    foreign_owner = await _post(
        client, f"{community}/resources", hood.team_leader, resource | {"id": str(uuid.uuid4())}
    )
    assert foreign_owner.status_code == 403
    edited = await client.patch(
        f"{M}/resources/{resource['id']}",
        json={"capacity": 3, "available_until": None},
        headers=headers_for(hood.unit_admin),
    )
    assert (edited.status_code, edited.json()["capacity"]) == (200, 3)
    listed = await client.get(
        f"{community}/resources", params={"category": "repair"}, headers=headers_for(hood.requester)
    )
    assert [r["id"] for r in listed.json()["items"]] == [resource["id"]]
    bad_category = await client.get(
        f"{community}/resources", params={"category": "magic"}, headers=headers_for(hood.requester)
    )
    assert bad_category.status_code == 400

    project = {
        "id": str(uuid.uuid4()),
        "unit_id": str(hood.unit),
        "category": "elder_care",
        "title": "爱心理发进社区",
        "starts_on": date.today().isoformat(),
        "ends_on": (date.today() + timedelta(days=90)).isoformat(),
        "slots": 10,
        "points_budget": 200,
    }
    assert (await _post(client, f"{community}/projects", hood.unit_admin, project)).status_code == 201
    update = {"id": str(uuid.uuid4()), "body": "第一次理发服务12人", "progress_percent": 20}
    posted = await _post(client, f"{M}/projects/{project['id']}/updates", hood.unit_admin, update)
    assert posted.status_code == 201, posted.text
    detail = await client.get(f"{M}/projects/{project['id']}", headers=headers_for(hood.requester))
    assert (detail.json()["progress_percent"], [u["body"] for u in detail.json()["updates"]]) == (20, [update["body"]])
    openings = await client.get(f"{M}/units/{hood.unit}/openings", headers=headers_for(hood.unit_admin))
    assert openings.status_code == 200

    since = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    figures = await client.get(f"{community}/metrics", params={"since": since}, headers=headers_for(hood.staff))
    assert figures.status_code == 200, figures.text
    too_long = {"version": 2, "valid_from": datetime.now(UTC).isoformat(), "street_limit": "P400D"}
    refused = await _post(client, f"{community}/policy", hood.staff, too_long)
    assert (refused.status_code, refused.json()["field"]) == (422, "street_limit")
    policy = await client.get(f"{community}/policy", headers=headers_for(hood.requester))
    assert (policy.json()["wish_value_cap_yuan"], policy.json()["compound_limit"]) == (300, "P1D")


async def test_the_policy_of_a_community_that_does_not_exist_is_not_found(client: httpx.AsyncClient) -> None:
    system = Principal.system("tests")
    response = await client.get(f"/v1/marketplace/communities/{uuid.uuid4()}/policy", headers=headers_for(system))
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
