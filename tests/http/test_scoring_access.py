"""Every party-assessment endpoint × every kind of caller, against an explicit table.

The callers stand around one party member (``member``, of branch 1): a fellow member of the branch (``peer``), a
resident who is no party member, the branch's secretary, the secretary of another branch of the community, community
staff, an auditor of the street, staff of a community on another street (``outsider``), a system account, and
nobody. Each request acts on ``member``'s records, made fresh where the action changes them, so an allowed caller
gets the success status. A walk over the app's routes proves every scoring route is in the table.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute

from tests.auth_support import SYSTEM, Org, Person, headers_for
from tests.integration.scoring.support import member, standard_catalogue
from timebank.access.principal import Principal, Role
from timebank.db import EVERY_COMMUNITY, Database, bound
from timebank.http.auth import action_of
from timebank.scoring import campaign, catalogue, periods, ratings, recording

CALLERS = (
    "member", "peer", "resident", "secretary", "other_secretary", "staff", "auditor", "outsider", "system", "anonymous",
)  # fmt: skip

_COMMUNITY = "ok ok ok ok ok ok ok 404 ok 401"
_STAFF_ONLY = "403 403 403 403 403 ok 403 404 ok 401"
_BRANCH = "403 403 403 ok 403 ok 403 404 ok 401"
# Decisions someone answers for (a member's report, an objection) are a person's: a system account gets 403.
_BRANCH_PERSON = "403 403 403 ok 403 ok 403 404 403 401"
_SELF = "ok 403 403 403 403 403 403 404 403 401"
_MEMBER_READ = "ok 403 403 ok 403 ok ok 404 ok 401"
_LEADERS_READ = "403 403 403 ok ok ok ok 404 ok 401"
# Anyone of the community reviews and objects; the member cannot review themselves (422), a system account is no
# person (403).
_REVIEW = "422 ok ok ok ok ok ok 404 403 401"
_OBJECT = "ok ok ok ok ok ok ok 404 403 401"

EXPECTED: dict[str, str] = {
    "ListScoringCatalogues": _COMMUNITY,
    "ListScoringPeriods": _COMMUNITY,
    "GetScoringPeriod": _COMMUNITY,
    "GetScoringLeaderboard": _COMMUNITY,
    "ListDisplays": _COMMUNITY,
    "ListPledges": _COMMUNITY,
    "GetRatingList": _COMMUNITY,
    "PublishScoringCatalogue": _STAFF_ONLY,
    "OpenScoringPeriod": _STAFF_ONLY,
    "CloseScoringPeriod": _STAFF_ONLY,
    "DraftRatingList": _STAFF_ONLY,
    "PublishRatingList": _STAFF_ONLY,
    # The notice period is still running: the rule lets staff through, the list refuses (409).
    "FinaliseRatingList": "403 403 403 403 403 409 403 404 409 401",
    "ReverseScoreEntry": _STAFF_ONLY,
    "ListPeriodEntries": _LEADERS_READ,
    "RecordScoreItem": _BRANCH,
    "RecordAppraisal": _BRANCH,
    "VetoRating": _BRANCH,
    "ApproveScoreEntry": _BRANCH_PERSON,
    "RejectScoreEntry": _BRANCH_PERSON,
    "AssessPledge": _BRANCH,
    "ResolveObjection": _BRANCH_PERSON,
    "ReportScoreItem": _SELF,
    "PublishDisplay": _SELF,
    "PublishPledge": _SELF,
    "ReportPledgeKept": _SELF,
    "ListScoreEntries": _MEMBER_READ,
    "GetScoreStanding": _MEMBER_READ,
    "ListMemberReviews": _MEMBER_READ,
    "ReviewMember": _REVIEW,
    "FileObjection": _OBJECT,
}


@dataclass
class World:
    database: Database
    community: uuid.UUID
    branch: uuid.UUID
    period: uuid.UUID
    noticed_list: uuid.UUID
    member: Person
    callers: dict[str, Person | Principal | None] = field(default_factory=dict)
    months: itertools.count[int] = field(default_factory=lambda: itertools.count(0))
    days: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def month(self) -> tuple[date, date]:
        """A fresh month for a period of its own (2030 on, clear of the year the tests score in)."""
        n = next(self.months)
        year, month = 2030 + n // 12, n % 12 + 1
        end = date(year + (month == 12), month % 12 + 1, 1).toordinal() - 1
        return date(year, month, 1), date.fromordinal(end)


async def _system(world: World, run: Callable[[Any], Awaitable[Any]]) -> Any:
    async with bound(world.database.pool, EVERY_COMMUNITY) as connection:
        return await run(connection)


@pytest.fixture(name="world", scope="module")
async def fx_world(database: Database) -> World:
    org = Org(database.pool)
    street = await org.street()
    community = await org.community(street)
    branch, other_branch = await org.branch(community), await org.branch(community)
    outsider_home = await org.community()
    the_member = await member(org, database, community, branch, name="党员")
    world = World(database, community, branch, uuid.uuid4(), uuid.uuid4(), the_member)
    world.callers = {
        "member": the_member,
        "peer": await member(org, database, community, branch, name="同支部党员"),
        "resident": await org.person(community, name="居民"),
        "secretary": await member(org, database, community, branch, grants=((Role.branch_secretary, branch),)),
        "other_secretary": await member(
            org, database, community, other_branch, grants=((Role.branch_secretary, other_branch),)
        ),
        "staff": await org.person(community, Role.community_staff),
        "auditor": await org.person(community, Role.auditor),
        "outsider": await org.person(outsider_home, Role.community_staff),
        "system": SYSTEM,
        "anonymous": None,
    }

    async def setup(connection: Any) -> None:
        await catalogue.publish_catalogue(connection, SYSTEM, community, standard_catalogue())
        await periods.open_period(
            connection, SYSTEM, community, id=world.period, name="2026", starts_on=date(2026, 1, 1),
            ends_on=date(2026, 12, 31),
        )  # fmt: skip
        starts, ends = world.month()
        closed, _ = await periods.open_period(
            connection, SYSTEM, community, id=uuid.uuid4(), name="noticed", starts_on=starts, ends_on=ends
        )
        await periods.close_period(connection, SYSTEM, closed.id)
        await ratings.draft_list(connection, SYSTEM, closed.id, id=world.noticed_list)
        await ratings.publish_list(connection, SYSTEM, world.noticed_list)

    await _system(world, setup)
    return world


Request = tuple[str, str, dict[str, Any] | None]
Builder = Callable[[World], Awaitable[Request]]


def _member_path(w: World, tail: str) -> str:
    return f"/v1/scoring/periods/{w.period}/members/{w.member.id}/{tail}"


async def _fresh_period(w: World, *, closed: bool = False) -> uuid.UUID:
    starts, ends = w.month()

    async def run(connection: Any) -> uuid.UUID:
        period, _ = await periods.open_period(
            connection, SYSTEM, w.community, id=uuid.uuid4(), name=f"m{starts}", starts_on=starts, ends_on=ends
        )
        if closed:
            await periods.close_period(connection, SYSTEM, period.id)
        return period.id

    result: uuid.UUID = await _system(w, run)
    return result


async def _report(w: World) -> uuid.UUID:
    async def run(connection: Any) -> uuid.UUID:
        entry, _ = await recording.submit_item(
            connection, w.member.principal, w.period, id=uuid.uuid4(), item_code="party_day",
            occurred_on=date(2026, 3, 1),
        )  # fmt: skip
        return entry.id

    result: uuid.UUID = await _system(w, run)
    return result


async def _posted(w: World) -> uuid.UUID:
    async def run(connection: Any) -> uuid.UUID:
        entry, _ = await recording.record_item(
            connection, SYSTEM, w.period, id=uuid.uuid4(), person_id=w.member.id, item_code="missed_meeting",
            occurred_on=date(2026, 3, 1),
        )  # fmt: skip
        return entry.id

    result: uuid.UUID = await _system(w, run)
    return result


async def _pledge(w: World, *, reviewed: bool = False) -> uuid.UUID:
    async def run(connection: Any) -> uuid.UUID:
        pledge, _ = await campaign.publish_pledge(
            connection, w.member.principal, w.period, id=uuid.uuid4(), content="送餐", due_on=date(2026, 6, 30)
        )
        if reviewed:
            await campaign.report_fulfilment(connection, w.member.principal, pledge.id, evidence=("记录",))
            staff = w.callers["staff"]
            assert isinstance(staff, Person)
            await campaign.review(
                connection, staff.principal, id=uuid.uuid4(), period_id=w.period, person_id=w.member.id,
                pledge_id=pledge.id, score=90,
            )  # fmt: skip
        return pledge.id

    result: uuid.UUID = await _system(w, run)
    return result


async def _objection(w: World) -> uuid.UUID:
    resident = w.callers["resident"]
    assert isinstance(resident, Person)

    async def run(connection: Any) -> uuid.UUID:
        objection, _ = await ratings.file_objection(
            connection, resident.principal, w.noticed_list, id=uuid.uuid4(), person_id=w.member.id, reason="复核"
        )
        return objection.id

    result: uuid.UUID = await _system(w, run)
    return result


def _catalogue_body(w: World) -> dict[str, Any]:
    effective = date(2040, 1, 1).toordinal() + next(w.days)
    return {
        "id": str(uuid.uuid4()),
        "effective_from": date.fromordinal(effective).isoformat(),
        "base_score": 60,
        "items": [{"code": "party_day", "name": "主题党日", "kind": "bonus", "source": "manual", "points": 2}],
    }


BUILDERS: dict[str, Builder] = {}


def builder(action: str) -> Callable[[Builder], Builder]:
    def register(fn: Builder) -> Builder:
        BUILDERS[action] = fn
        return fn

    return register


@builder("ListScoringCatalogues")
async def _(w: World) -> Request:
    return "GET", f"/v1/scoring/communities/{w.community}/catalogues", None


@builder("ListScoringPeriods")
async def _(w: World) -> Request:
    return "GET", f"/v1/scoring/communities/{w.community}/periods", None


@builder("GetScoringPeriod")
async def _(w: World) -> Request:
    return "GET", f"/v1/scoring/periods/{w.period}", None


@builder("GetScoringLeaderboard")
async def _(w: World) -> Request:
    return "GET", f"/v1/scoring/periods/{w.period}/leaderboard", None


@builder("ListDisplays")
async def _(w: World) -> Request:
    return "GET", f"/v1/scoring/periods/{w.period}/displays", None


@builder("ListPledges")
async def _(w: World) -> Request:
    return "GET", f"/v1/scoring/periods/{w.period}/pledges", None


@builder("GetRatingList")
async def _(w: World) -> Request:
    return "GET", f"/v1/scoring/rating-lists/{w.noticed_list}", None


@builder("PublishScoringCatalogue")
async def _(w: World) -> Request:
    return "POST", f"/v1/scoring/communities/{w.community}/catalogues", _catalogue_body(w)


@builder("OpenScoringPeriod")
async def _(w: World) -> Request:
    starts, ends = w.month()
    body = {"id": str(uuid.uuid4()), "name": f"m{starts}", "starts_on": str(starts), "ends_on": str(ends)}
    return "POST", f"/v1/scoring/communities/{w.community}/periods", body


@builder("CloseScoringPeriod")
async def _(w: World) -> Request:
    return "POST", f"/v1/scoring/periods/{await _fresh_period(w)}/close", None


@builder("DraftRatingList")
async def _(w: World) -> Request:
    period = await _fresh_period(w, closed=True)
    return "POST", f"/v1/scoring/periods/{period}/rating-list", {"id": str(uuid.uuid4())}


@builder("PublishRatingList")
async def _(w: World) -> Request:
    return "POST", f"/v1/scoring/rating-lists/{w.noticed_list}/publish", None


@builder("FinaliseRatingList")
async def _(w: World) -> Request:
    return "POST", f"/v1/scoring/rating-lists/{w.noticed_list}/finalise", None


@builder("ReverseScoreEntry")
async def _(w: World) -> Request:
    return "POST", f"/v1/scoring/entries/{await _posted(w)}/reverse", {"reason": "记错"}


@builder("ListPeriodEntries")
async def _(w: World) -> Request:
    return "GET", f"/v1/scoring/periods/{w.period}/entries", None


@builder("RecordScoreItem")
async def _(w: World) -> Request:
    body = {"id": str(uuid.uuid4()), "item_code": "party_day", "occurred_on": "2026-05-04"}
    return "POST", _member_path(w, "entries"), body


@builder("RecordAppraisal")
async def _(w: World) -> Request:
    return "POST", _member_path(w, "appraisal"), {"points": 12}


@builder("VetoRating")
async def _(w: World) -> Request:
    return "POST", _member_path(w, "veto"), {"reason": "违反纪律"}


@builder("ApproveScoreEntry")
async def _(w: World) -> Request:
    return "POST", f"/v1/scoring/entries/{await _report(w)}/approve", {}


@builder("RejectScoreEntry")
async def _(w: World) -> Request:
    return "POST", f"/v1/scoring/entries/{await _report(w)}/reject", {"reason": "证据不足"}


@builder("AssessPledge")
async def _(w: World) -> Request:
    return "POST", f"/v1/scoring/pledges/{await _pledge(w, reviewed=True)}/assessment", None


@builder("ResolveObjection")
async def _(w: World) -> Request:
    body = {"upheld": False, "resolution": "得分有据"}
    return "POST", f"/v1/scoring/objections/{await _objection(w)}/resolution", body


@builder("ReportScoreItem")
async def _(w: World) -> Request:
    body = {"id": str(uuid.uuid4()), "item_code": "party_day", "occurred_on": "2026-05-04"}
    return "POST", _member_path(w, "reports"), body


@builder("PublishDisplay")
async def _(w: World) -> Request:
    return "PUT", _member_path(w, "displays/identity"), {"content": "党员中心户"}


@builder("PublishPledge")
async def _(w: World) -> Request:
    return "POST", _member_path(w, "pledges"), {"id": str(uuid.uuid4()), "content": "送餐", "due_on": "2026-09-30"}


@builder("ReportPledgeKept")
async def _(w: World) -> Request:
    return "POST", f"/v1/scoring/pledges/{await _pledge(w)}/fulfilment", {"evidence": ["记录"]}


@builder("ListScoreEntries")
async def _(w: World) -> Request:
    return "GET", _member_path(w, "entries"), None


@builder("GetScoreStanding")
async def _(w: World) -> Request:
    return "GET", _member_path(w, "standing"), None


@builder("ListMemberReviews")
async def _(w: World) -> Request:
    return "GET", _member_path(w, "reviews"), None


@builder("ReviewMember")
async def _(w: World) -> Request:
    body = {"id": str(uuid.uuid4()), "pledge_id": str(await _pledge(w)), "score": 80}
    return "POST", _member_path(w, "reviews"), body


@builder("FileObjection")
async def _(w: World) -> Request:
    body = {"id": str(uuid.uuid4()), "person_id": str(w.member.id), "reason": "复核"}
    return "POST", f"/v1/scoring/rating-lists/{w.noticed_list}/objections", body


def _scoring_operations(app: Litestar) -> set[str]:
    found = set()
    for route in app.routes:
        if isinstance(route, HTTPRoute) and route.path.startswith("/v1/scoring"):
            for handler in route.route_handlers:
                if action_of(handler) is not None:
                    found.add(handler.operation_id)
    return {str(op) for op in found}


def test_every_scoring_route_is_in_the_table(app: Litestar) -> None:
    assert _scoring_operations(app) == EXPECTED.keys() == BUILDERS.keys()


@pytest.mark.parametrize("operation", sorted(EXPECTED))
async def test_scoring_endpoint_by_caller(client: httpx.AsyncClient, world: World, operation: str) -> None:
    got = {}
    for caller in CALLERS:
        method, path, body = await BUILDERS[operation](world)
        response = await client.request(method, path, json=body, headers=headers_for(world.callers[caller]))
        assert response.status_code < 500, response.text
        if not response.is_success:
            assert response.headers["content-type"] == "application/problem+json"
        got[caller] = "ok" if response.is_success else str(response.status_code)
    assert got == dict(zip(CALLERS, EXPECTED[operation].split(), strict=True))
