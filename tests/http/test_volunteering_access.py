"""Every volunteering endpoint × every kind of caller, against an explicit table.

A = let through by the access policy (any status but 401, 403 and 404: the handler may still refuse the request on
its merits), F = 403, N = 404 (the row lies in a community the caller cannot see), U = 401 (no token). Callers, in
order: anonymous, the volunteer (acting on their own rows), a neighbour (a resident acting on the volunteer's rows),
the leader of the activity's team, the leader of another team, staff of the community, staff of a community on
another street, the street's auditor, a system account.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute

from tests.auth_support import SYSTEM, Org, Person, headers_for
from timebank.access.principal import Principal, Role, ScopeKind
from timebank.db import Database
from timebank.ledger import LedgerService
from timebank.volunteering.activities import NewActivity
from timebank.volunteering.service import Volunteering

CALLERS = ("anonymous", "self", "neighbour", "leader", "other_leader", "staff", "foreign_staff", "auditor", "system")
V = "/v1/volunteering"

_LEADERS = "U F F A F A N F A"
_STAFF = "U F F F F A N F A"
_MEMBERS = "U A A A A A N A A"
_PERSON = "U A F F F A N A A"
_RECORDS = "U F F F F A N A A"
_SCAN = "U A F F F F N F A"

#: operation id → (method, path, body, query, expectation)
TABLE: dict[str, tuple[str, str, dict[str, Any] | None, dict[str, str] | None, str]] = {
    "PublishActivity": ("POST", "/communities/{c}/activities", {"activity": None}, None, _LEADERS),
    "ListActivities": ("GET", "/communities/{c}/activities", None, None, _MEMBERS),
    "GetActivity": ("GET", "/activities/{a}", None, None, _MEMBERS),
    "CancelActivity": ("POST", "/activities/{spare}/cancel", {}, None, _LEADERS),
    "SignUp": ("POST", "/activities/{a}/signups", {"person_id": "{v}"}, None, "U A F A F A N F A"),
    "CancelSignup": ("POST", "/activities/{a}/signups/{v}/cancel", {}, None, "U A F A F A N F A"),
    "GetRoster": ("GET", "/activities/{a}/roster", None, None, _LEADERS),
    "GetCheckInCode": ("GET", "/activities/{a}/check-in-code", None, None, _LEADERS),
    "CheckIn": ("POST", "/check-ins", {"person_id": "{v}", "code": "x"}, None, _SCAN),
    "CheckOut": ("POST", "/check-outs", {"person_id": "{v}", "code": "x"}, None, _SCAN),
    "RecordAttendance": (
        "POST", "/activities/{a}/attendance/{v}", {"checked_in_at": "{past}"}, None, _LEADERS,
    ),
    "ConfirmRoster": ("POST", "/activities/{a}/roster/confirm", {}, None, _LEADERS),
    "ListServiceRecords": ("GET", "/communities/{c}/service-records", None, None, _RECORDS),
    "ApproveServiceRecords": (
        "POST", "/communities/{c}/service-records/approve", {"record_ids": ["{r}"]}, None, _STAFF,
    ),
    "GetServiceRecord": ("GET", "/service-records/{r}", None, None, "U A F A F A N A A"),
    "AmendServiceRecord": (
        "POST", "/service-records/{r}/amend", {"started_at": "{past}", "ended_at": "{past}"}, None, _STAFF,
    ),
    "RejectServiceRecord": ("POST", "/service-records/{r}/reject", {"note": "不是志愿服务"}, None, _STAFF),
    "RequestCorrection": (
        "POST", "/service-records/{r}/corrections",
        {"id": "{new}", "started_at": "{past}", "ended_at": "{now}", "reason": "少记了"}, None, "U A F F F F N F F",
    ),
    "ApproveCorrection": ("POST", "/corrections/{x}/approve", {}, None, _STAFF),
    "RejectCorrection": ("POST", "/corrections/{x}/reject", {"note": "不符"}, None, _STAFF),
    "ListEarningPolicyVersions": ("GET", "/communities/{c}/earning-policy", None, None, _MEMBERS),
    "WriteEarningPolicyVersion": (
        "POST", "/communities/{c}/earning-policy", {"version": 1, "valid_from": "{past}"}, None, _STAFF,
    ),
    "GetCoinAccount": ("GET", "/communities/{c}/people/{v}/time-bank", None, None, _PERSON),
    "GiftCoins": (
        "POST", "/communities/{c}/time-bank/gifts",
        {"id": "{new}", "from_person_id": "{v}", "to_person_id": "{w}", "amount": 1}, None, "U A F F F A N F A",
    ),
    "DonateCoins": (
        "POST", "/communities/{c}/time-bank/donations", {"id": "{new}", "person_id": "{v}", "amount": 1}, None,
        "U A F F F A N F A",
    ),
    "GrantCoins": (
        "POST", "/communities/{c}/time-bank/grants", {"id": "{new}", "person_id": "{v}", "amount": 1}, None, _STAFF,
    ),
    "ListGrantCandidates": ("GET", "/communities/{c}/time-bank/grant-candidates", None, None, _STAFF),
    "GetMonthEarnings": ("GET", "/communities/{c}/people/{v}/earnings", None, {"month": "2026-03"}, _PERSON),
    "GetBalanceHistory": ("GET", "/communities/{c}/people/{v}/balance-history", None, None, _PERSON),
    "GetServiceCertificate": (
        "GET", "/communities/{c}/people/{v}/certificate", None, {"from": "2026-01-01", "to": "{today}"}, _PERSON,
    ),
    "ExportHours": (
        "GET", "/communities/{c}/hours-export", None, {"from": "2026-01-01", "to": "{today}"}, _RECORDS,
    ),
}  # fmt: skip


@dataclass
class World:
    values: dict[str, str]
    callers: dict[str, Person | Principal | None]


def _activity(leader: uuid.UUID, team: uuid.UUID) -> NewActivity:
    now = datetime.now(UTC)
    return NewActivity(
        id=uuid.uuid4(), title="楼道清扫", category="环境", place="3号楼", starts_at=now - timedelta(hours=2),
        ends_at=now + timedelta(hours=2), capacity=10, leader_id=leader, organiser="居委会", team_id=team,
    )  # fmt: skip


@pytest.fixture(name="world", scope="module")
async def fx_world(database: Database) -> World:
    org = Org(database.pool)
    street = await org.street()
    community = await org.community(street)
    team = await org.team(community)
    leader = await org.person(community, (Role.team_leader, ScopeKind.team, team))
    volunteer, relative = await org.person(community), await org.person(community)
    callers: dict[str, Person | Principal | None] = {
        "anonymous": None,
        "self": volunteer,
        "neighbour": await org.person(community),
        "leader": leader,
        "other_leader": await org.person(community, Role.team_leader),
        "staff": await org.person(community, Role.community_staff),
        "foreign_staff": await org.person(await org.community(), Role.community_staff),
        "auditor": await org.person(community, Role.auditor),
        "system": SYSTEM,
    }
    service = Volunteering(database.pool, LedgerService(database.pool), check_in_key=b"k" * 32)
    activity, spare = _activity(leader.id, team), _activity(leader.id, team)
    for new in (activity, spare):
        await service.publish(SYSTEM, community, new)
    await service.sign_up(SYSTEM, activity.id, volunteer.id)
    now = datetime.now(UTC)
    await service.record_times(SYSTEM, activity.id, volunteer.id, now - timedelta(minutes=90), now)
    [line] = await service.confirm_roster(leader.principal, activity.id)
    assert line.record_id is not None
    await service.approve_one(SYSTEM, line.record_id)
    correction, _ = await service.request_correction(
        volunteer.principal, id=uuid.uuid4(), record_id=line.record_id, started_at=now - timedelta(minutes=60),
        ended_at=now, reason="少记了",
    )  # fmt: skip
    values = {
        "c": str(community), "a": str(activity.id), "spare": str(spare.id), "v": str(volunteer.id),
        "w": str(relative.id), "r": str(line.record_id), "x": str(correction.id),
        "past": (now - timedelta(hours=1)).isoformat(), "now": now.isoformat(), "today": date.today().isoformat(),
    }  # fmt: skip
    values["activity"] = ""
    return World(values, callers)


def _fill(value: Any, world: World) -> Any:
    if isinstance(value, str):
        return value.format(**world.values, new=uuid.uuid4()) if "{" in value else value
    if isinstance(value, list):
        return [_fill(item, world) for item in value]
    if isinstance(value, dict):
        return {key: _fill(item, world) for key, item in value.items()}
    return value


def _publish_body(world: World) -> dict[str, Any]:
    now = datetime.now(UTC)
    leader = world.callers["leader"]
    assert isinstance(leader, Person)
    team = next(g.scope_id for g in leader.principal.grants if g.role is Role.team_leader)
    return {
        "id": str(uuid.uuid4()), "title": "义诊", "category": "健康", "place": "活动室", "capacity": 3,
        "starts_at": now.isoformat(), "ends_at": (now + timedelta(hours=1)).isoformat(), "team_id": str(team),
        "leader_id": str(leader.id), "organiser": "居委会",
    }  # fmt: skip


def test_the_table_covers_every_volunteering_route(app: Litestar) -> None:
    served = {
        handler.operation_id
        for route in app.routes
        if isinstance(route, HTTPRoute) and route.path.startswith(V)
        for handler in route.route_handlers
        if handler.operation_id
    }
    assert served == set(TABLE)


@pytest.mark.parametrize("operation", sorted(TABLE))
async def test_who_may_call(operation: str, world: World, client: httpx.AsyncClient) -> None:
    method, path, body, query, expectation = TABLE[operation]
    got = []
    for caller in CALLERS:
        payload = _publish_body(world) if operation == "PublishActivity" else _fill(body, world)
        response = await client.request(
            method,
            V + _fill(path, world),
            json=payload,
            params=_fill(query, world),
            headers=headers_for(world.callers[caller]),
        )
        got.append({401: "U", 403: "F", 404: "N"}.get(response.status_code, "A"))
        assert response.status_code < 500, (caller, response.text)
    assert " ".join(got) == expectation, dict(zip(CALLERS, got, strict=True))
