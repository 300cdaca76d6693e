"""Volunteering over HTTP: the whole path as the mini-app and the web console would walk it, who may do what, and
bad input answered with problem documents that name the field."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.auth_support import Org, Person, headers_for
from timebank.access.principal import Role, ScopeKind
from timebank.db import Database

PROBLEM = "application/problem+json"
V = "/v1/volunteering"


async def _people(org: Org) -> dict[str, Any]:
    community = await org.community()
    team = await org.team(community)
    return {
        "community": community,
        "team": team,
        "staff": await org.person(community, Role.community_staff, name="周敏"),
        "leader": await org.person(community, (Role.team_leader, ScopeKind.team, team), name="陈队长"),
        "other_leader": await org.person(community, Role.team_leader, name="别队队长"),
        "volunteer": await org.person(community, name="王秀英"),
        "neighbour": await org.person(community, name="李建国"),
    }


def _activity(who: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    body = {
        "id": str(uuid.uuid4()),
        "title": "为独居老人打扫卫生",
        "category": "助老服务",
        "place": "淮安里5号楼",
        "starts_at": (now - timedelta(minutes=90)).isoformat(),
        "ends_at": (now + timedelta(hours=2)).isoformat(),
        "capacity": 5,
        "leader_id": str(who["leader"].id),
        "organiser": "淮安里社区居民委员会",
        "team_id": str(who["team"]),
        "tags": ["三亮三比"],
    }
    return body | overrides


async def _post(client: httpx.AsyncClient, url: str, who: Person, body: Any = None) -> httpx.Response:
    return await client.post(url, json=body if body is not None else {}, headers=headers_for(who))


async def test_publish_to_credit_over_http(client: httpx.AsyncClient, org: Org, database: Database) -> None:
    who = await _people(org)
    community, leader, staff, volunteer = who["community"], who["leader"], who["staff"], who["volunteer"]
    body = _activity(who)
    first = await _post(client, f"{V}/communities/{community}/activities", leader, body)
    again = await _post(client, f"{V}/communities/{community}/activities", leader, body)
    assert (first.status_code, again.status_code) == (201, 200), first.text
    activity = body["id"]

    signup = await _post(client, f"{V}/activities/{activity}/signups", volunteer, {"person_id": str(volunteer.id)})
    assert (signup.status_code, signup.json()["status"]) == (201, "enrolled")
    code = await client.get(f"{V}/activities/{activity}/check-in-code", headers=headers_for(leader))
    assert code.status_code == 200
    scanned = await _post(
        client, f"{V}/check-ins", volunteer, {"person_id": str(volunteer.id), "code": code.json()["payload"]}
    )
    assert scanned.status_code == 200, scanned.text
    assert scanned.json()["checked_in_at"] is not None

    # The leader corrects the times before confirming (the volunteer came early and left before the end).
    now = datetime.now(UTC)
    times = {"checked_in_at": (now - timedelta(minutes=70)).isoformat(), "checked_out_at": now.isoformat()}
    recorded = await _post(client, f"{V}/activities/{activity}/attendance/{volunteer.id}", leader, times)
    assert recorded.status_code == 200, recorded.text
    confirmed = await _post(client, f"{V}/activities/{activity}/roster/confirm", leader)
    assert confirmed.status_code == 200, confirmed.text
    [line] = confirmed.json()
    assert line["outcome"] == "confirmed"

    approve = {"record_ids": [line["record_id"]]}
    for _ in range(2):
        approved = await _post(client, f"{V}/communities/{community}/service-records/approve", staff, approve)
        assert approved.status_code == 200
        assert approved.json()[0]["status"] == "credited"
    account = await client.get(
        f"{V}/communities/{community}/people/{volunteer.id}/time-bank", headers=headers_for(volunteer)
    )
    assert account.json()["balance"] == 60
    month = now.astimezone(UTC) + timedelta(hours=8)
    earnings = await client.get(
        f"{V}/communities/{community}/people/{volunteer.id}/earnings",
        params={"month": month.strftime("%Y-%m")},
        headers=headers_for(volunteer),
    )
    assert [(a["service_minutes"], a["time_coins"], a["points"]) for a in earnings.json()["activities"]] == [
        (60, 60, 1)
    ]
    day = month.date().isoformat()
    pdf = await client.get(
        f"{V}/communities/{community}/people/{volunteer.id}/certificate",
        params={"from": day, "to": day},
        headers=headers_for(volunteer),
    )
    assert (pdf.status_code, pdf.headers["content-type"]) == (200, "application/pdf")
    assert pdf.content.startswith(b"%PDF-")
    export = await client.get(
        f"{V}/communities/{community}/hours-export",
        params={"from": day, "to": day, "group_by": "team", "format": "xlsx"},
        headers=headers_for(staff),
    )
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("application/vnd.openxmlformats")


async def test_who_may_do_what(client: httpx.AsyncClient, org: Org) -> None:
    who = await _people(org)
    community, volunteer, neighbour = who["community"], who["volunteer"], who["neighbour"]
    body = _activity(who)
    assert (await _post(client, f"{V}/communities/{community}/activities", who["leader"], body)).status_code == 201
    activity = body["id"]
    # A resident cannot publish; a leader of another team cannot run this team's activity.
    refused = await _post(client, f"{V}/communities/{community}/activities", volunteer, _activity(who))
    assert (refused.status_code, refused.headers["content-type"]) == (403, PROBLEM)
    roster = await client.get(f"{V}/activities/{activity}/roster", headers=headers_for(who["other_leader"]))
    assert roster.status_code == 403
    # A resident signs up themselves, not a neighbour.
    other = await _post(client, f"{V}/activities/{activity}/signups", volunteer, {"person_id": str(neighbour.id)})
    assert other.status_code == 403
    approve = {"record_ids": [str(uuid.uuid4())]}
    assert (
        await _post(client, f"{V}/communities/{community}/service-records/approve", who["leader"], approve)
    ).status_code == 403
    # Another community's staff do not see this activity at all.
    elsewhere = await org.person(await org.community(), Role.community_staff)
    assert (await client.get(f"{V}/activities/{activity}", headers=headers_for(elsewhere))).status_code == 404
    assert (await client.get(f"{V}/activities/{activity}")).status_code == 401


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"capacity": 0}, 400, "capacity"),
        ({"title": ""}, 400, "title"),
        ({"starts_at": "yesterday"}, 400, "starts_at"),
        ({"surprise": 1}, 400, "surprise"),
        ({"ends_at": "2020-01-01T00:00:00Z"}, 422, "ends_at"),
        ({"leader_id": str(uuid.uuid4())}, 404, "leader_id"),
    ],
)
async def test_bad_activities_are_problems_naming_the_field(
    client: httpx.AsyncClient, org: Org, change: dict[str, Any], status: int, field: str
) -> None:
    who = await _people(org)
    response = await _post(
        client, f"{V}/communities/{who['community']}/activities", who["staff"], _activity(who, **change)
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert field in problem["field"] + problem["detail"]  # an unknown field is named in the detail


async def test_bad_codes_and_amounts_are_problems(client: httpx.AsyncClient, org: Org) -> None:
    who = await _people(org)
    volunteer, community = who["volunteer"], who["community"]
    scan = await _post(client, f"{V}/check-ins", volunteer, {"person_id": str(volunteer.id), "code": "not-a-code"})
    assert (scan.status_code, scan.json()["field"]) == (422, "code")
    gift = {"id": str(uuid.uuid4()), "from_person_id": str(volunteer.id), "to_person_id": str(who["neighbour"].id)}
    zero = await _post(client, f"{V}/communities/{community}/time-bank/gifts", volunteer, gift | {"amount": 0})
    assert (zero.status_code, zero.json()["field"]) == (400, "amount")
    stranger = await _post(client, f"{V}/communities/{community}/time-bank/gifts", volunteer, gift | {"amount": 5})
    assert (stranger.status_code, stranger.json()["field"]) == (422, "to_person_id")
    month = await client.get(
        f"{V}/communities/{community}/people/{volunteer.id}/earnings",
        params={"month": "2026-13"},
        headers=headers_for(volunteer),
    )
    assert (month.status_code, month.json()["field"]) == (422, "month")
