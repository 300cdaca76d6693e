"""The party assessment's rows of the endpoint × role walk (tests/http/test_authorization.py).

*mine* is the caller's own score card: the first time the walk needs one, every person of the walk's home community
joins the party in the branch the walk's branch secretary leads (the foreign stranger in a branch of their own
community) and is enrolled in an open 2026 period, and a closed 2025 period's rating list goes on notice. For rows of
a community (catalogues, periods, lists) *mine* and *theirs* are the same community. Records an action changes
(reports to decide, pledges to assess, objections to resolve, periods to close) are made fresh for each request,
through the services. Deciding anything about oneself answers 422 (``scoring-self-assessment``) after the policy let
the caller through; a system account is refused the decisions a person must answer for (403).
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from tests.auth_support import Person
from tests.integration.scoring.support import standard_catalogue
from timebank.access.principal import Principal, Role
from timebank.community import people
from timebank.db import EVERY_COMMUNITY, bound
from timebank.scoring import campaign, catalogue, periods, ratings, recording

if TYPE_CHECKING:  # the walk's own module imports this one
    from tests.http.test_authorization import Request, World

S = "/v1/scoring"
_ACTOR = Principal.system("scoring-access-walk")

ROLES = [
    "resident", "volunteer", "team_leader", "grid_worker", "branch_secretary", "community_staff", "partner_admin",
    "street_admin", "auditor", "system", "anonymous",
]  # fmt: skip


def _table(default: str, **by_role: str) -> dict[str, str]:
    """``default`` for every role not named; system reaches everything, anonymous is asked to log in."""
    table = dict.fromkeys(ROLES, default)
    table.update(system="ok ok ok", anonymous="401 401 401")
    table.update(by_role)
    return table


_NONE = "403 403 403"
_COMMUNITY = "ok ok 404"
_OWN = "ok 403 404"
_SELF_DECIDES = "422 ok 404"  # the policy lets a leader through on their own card; the service refuses (422)
_NO_JOB = "403 403 403"  # a system account is no person

_MEMBERS = _table(_COMMUNITY)
_STAFF = _table(_NONE, community_staff=_COMMUNITY)
_BRANCH = _table(_NONE, branch_secretary=_SELF_DECIDES, community_staff=_SELF_DECIDES)
_BRANCH_PERSON = _table(_NONE, branch_secretary=_SELF_DECIDES, community_staff=_SELF_DECIDES, system=_NO_JOB)
_SELF = _table(_OWN, system=_NO_JOB)
_MEMBER_READ = _table(
    _OWN, branch_secretary=_COMMUNITY, community_staff=_COMMUNITY, street_admin=_COMMUNITY, auditor=_COMMUNITY
)

EXPECTED: dict[str, dict[str, str]] = {
    "scoring.community.read": _MEMBERS,
    "scoring.period.read": _MEMBERS,
    "scoring.ratings.read": _MEMBERS,
    "scoring.catalogue.write": _STAFF,
    "scoring.period.open": _STAFF,
    "scoring.period.close": _STAFF,
    "scoring.ratings.draft": _STAFF,
    "scoring.ratings.write": _STAFF,
    "scoring.entries.read": _table(
        _NONE,
        branch_secretary=_COMMUNITY,
        community_staff=_COMMUNITY,
        street_admin=_COMMUNITY,
        auditor=_COMMUNITY,
    ),
    "scoring.entry.reverse": _table(_NONE, community_staff=_SELF_DECIDES),
    "scoring.member.score": _BRANCH,
    "scoring.pledge.assess": _BRANCH,
    "scoring.entry.decide": _BRANCH_PERSON,
    "scoring.objection.resolve": _BRANCH_PERSON,
    "scoring.member.self": _SELF,
    "scoring.pledge.report": _SELF,
    "scoring.member.read": _MEMBER_READ,
    # Anyone of the community reviews a member, never themselves.
    "scoring.member.review": _table("422 ok 404", system=_NO_JOB),
    # Anyone of the community objects to a rating, their own included.
    "scoring.objection.file": _table(_COMMUNITY, system=_NO_JOB),
}


@dataclass
class _Scoring:
    """The walk's assessment rows: per community, the open year and the noticed list; who leads whom."""

    year: dict[uuid.UUID, uuid.UUID]
    noticed: dict[uuid.UUID, uuid.UUID]
    leader: dict[uuid.UUID, Person]  # community → a leader who reviews pledges there
    objector: dict[uuid.UUID, Person]  # community → who files the objections to resolve


_SETUPS: dict[uuid.UUID, _Scoring] = {}
_MONTHS = itertools.count()
_DAYS = itertools.count(1)


def _month() -> tuple[date, date]:
    """A month of its own for a period made for one request (2030 on, clear of 2025 and 2026)."""
    n = next(_MONTHS)
    year, month = 2030 + n // 12, n % 12 + 1
    following = date(year + month // 12, month % 12 + 1, 1)
    return date(year, month, 1), date.fromordinal(following.toordinal() - 1)


async def _setup(w: World) -> _Scoring:
    if (done := _SETUPS.get(w.home)) is not None:
        return done
    secretary = w.callers["branch_secretary"]
    assert isinstance(secretary, Person)
    [branch] = [g.scope_id for g in secretary.principal.grants if g.role is Role.branch_secretary]
    assert w.neighbour is not None
    assert w.stranger is not None
    home_people = [p for p in (*w.callers.values(), w.neighbour) if isinstance(p, Person)]
    foreign_branch = await w.org.branch(w.foreign)
    foreign_leader = await w.org.person(w.foreign, (Role.branch_secretary, foreign_branch))
    members = [(p, w.home, branch) for p in home_people] + [(w.stranger, w.foreign, foreign_branch)]
    setup = _Scoring(
        year={},
        noticed={},
        leader={w.home: secretary, w.foreign: foreign_leader},
        objector={w.home: w.neighbour, w.foreign: w.stranger},
    )
    async with bound(w.database.pool, EVERY_COMMUNITY) as connection:
        for person, community, party_org in members:
            await people.join(
                connection,
                _ACTOR,
                community,
                people.NewMembership(
                    id=uuid.uuid4(),
                    person_id=person.id,
                    kind="party_member",
                    member_type="community_managed",
                    party_org_id=party_org,
                    joined_on=date(2024, 1, 1),
                ),
            )
        for community in (w.home, w.foreign):
            await catalogue.publish_catalogue(
                connection, _ACTOR, community, standard_catalogue(effective_from=date(2025, 1, 1))
            )
            last, _ = await periods.open_period(
                connection, _ACTOR, community, id=uuid.uuid4(), name="2025", starts_on=date(2025, 1, 1),
                ends_on=date(2025, 12, 31),
            )  # fmt: skip
            await periods.close_period(connection, _ACTOR, last.id)
            setup.noticed[community] = uuid.uuid4()
            await ratings.draft_list(connection, _ACTOR, last.id, id=setup.noticed[community])
            await ratings.publish_list(connection, _ACTOR, setup.noticed[community])
            year, _ = await periods.open_period(
                connection, _ACTOR, community, id=uuid.uuid4(), name="2026", starts_on=date(2026, 1, 1),
                ends_on=date(2026, 12, 31),
            )  # fmt: skip
            setup.year[community] = year.id
    _SETUPS[w.home] = setup
    return setup


async def _member(w: World, o: Person, tail: str) -> str:
    setup = await _setup(w)
    return f"{S}/periods/{setup.year[o.community_id]}/members/{o.id}/{tail}"


async def _system(w: World, run: Any) -> Any:
    async with bound(w.database.pool, EVERY_COMMUNITY) as connection:
        return await run(connection)


async def _fresh_period(w: World, community: uuid.UUID, *, closed: bool) -> uuid.UUID:
    await _setup(w)
    starts, ends = _month()

    async def run(connection: Any) -> uuid.UUID:
        period, _ = await periods.open_period(
            connection, _ACTOR, community, id=uuid.uuid4(), name=f"m{starts}", starts_on=starts, ends_on=ends
        )
        if closed:
            await periods.close_period(connection, _ACTOR, period.id)
        return period.id

    made: uuid.UUID = await _system(w, run)
    return made


async def _pledge(w: World, o: Person, *, reported: bool = False) -> uuid.UUID:
    setup = await _setup(w)
    period = setup.year[o.community_id]
    leader = setup.leader[o.community_id]
    if leader.id == o.id:  # the secretary's own pledge is reviewed by staff
        staff = w.callers["community_staff"]
        assert isinstance(staff, Person)
        leader = staff

    async def run(connection: Any) -> uuid.UUID:
        pledge, _ = await campaign.publish_pledge(
            connection, o.principal, period, id=uuid.uuid4(), content="每周送餐", due_on=date(2026, 6, 30)
        )
        if reported:
            await campaign.report_fulfilment(connection, o.principal, pledge.id, evidence=("记录",))
            await campaign.review(
                connection, leader.principal, id=uuid.uuid4(), period_id=period, person_id=o.id,
                pledge_id=pledge.id, score=90,
            )  # fmt: skip
        return pledge.id

    made: uuid.UUID = await _system(w, run)
    return made


async def _entry(w: World, o: Person, *, reported: bool) -> uuid.UUID:
    setup = await _setup(w)
    period = setup.year[o.community_id]

    async def run(connection: Any) -> uuid.UUID:
        if reported:
            entry, _ = await recording.submit_item(
                connection, o.principal, period, id=uuid.uuid4(), item_code="party_day", occurred_on=date(2026, 3, 1)
            )
        else:
            entry, _ = await recording.record_item(
                connection, _ACTOR, period, id=uuid.uuid4(), person_id=o.id, item_code="missed_meeting",
                occurred_on=date(2026, 3, 1),
            )  # fmt: skip
        return entry.id

    made: uuid.UUID = await _system(w, run)
    return made


async def _objection(w: World, o: Person) -> uuid.UUID:
    setup = await _setup(w)
    objector = setup.objector[o.community_id]

    async def run(connection: Any) -> uuid.UUID:
        objection, _ = await ratings.file_objection(
            connection, objector.principal, setup.noticed[o.community_id], id=uuid.uuid4(), person_id=o.id,
            reason="复核",
        )  # fmt: skip
        return objection.id

    made: uuid.UUID = await _system(w, run)
    return made


def _new() -> str:
    return str(uuid.uuid4())


async def _community_read(w: World, o: Person) -> Request:
    await _setup(w)
    return "GET", f"{S}/communities/{o.community_id}/periods", None, None


async def _period_read(w: World, o: Person) -> Request:
    setup = await _setup(w)
    return "GET", f"{S}/periods/{setup.year[o.community_id]}/leaderboard", None, None


async def _ratings_read(w: World, o: Person) -> Request:
    setup = await _setup(w)
    return "GET", f"{S}/rating-lists/{setup.noticed[o.community_id]}", None, None


async def _catalogue_write(w: World, o: Person) -> Request:
    await _setup(w)
    effective = date.fromordinal(date(2040, 1, 1).toordinal() + next(_DAYS))
    item = {"code": "party_day", "name": "主题党日", "kind": "bonus", "source": "manual", "points": 2}
    body = {"id": _new(), "effective_from": effective.isoformat(), "base_score": 60, "items": [item]}
    return "POST", f"{S}/communities/{o.community_id}/catalogues", body, None


async def _period_open(w: World, o: Person) -> Request:
    await _setup(w)
    starts, ends = _month()
    body = {"id": _new(), "name": f"m{starts}", "starts_on": starts.isoformat(), "ends_on": ends.isoformat()}
    return "POST", f"{S}/communities/{o.community_id}/periods", body, None


async def _period_close(w: World, o: Person) -> Request:
    return "POST", f"{S}/periods/{await _fresh_period(w, o.community_id, closed=False)}/close", None, None


async def _ratings_draft(w: World, o: Person) -> Request:
    period = await _fresh_period(w, o.community_id, closed=True)
    return "POST", f"{S}/periods/{period}/rating-list", {"id": _new()}, None


async def _ratings_write(w: World, o: Person) -> Request:
    setup = await _setup(w)
    return "POST", f"{S}/rating-lists/{setup.noticed[o.community_id]}/publish", None, None


async def _entries_read(w: World, o: Person) -> Request:
    setup = await _setup(w)
    return "GET", f"{S}/periods/{setup.year[o.community_id]}/entries", None, None


async def _entry_reverse(w: World, o: Person) -> Request:
    return "POST", f"{S}/entries/{await _entry(w, o, reported=False)}/reverse", {"reason": "记错"}, None


async def _member_score(w: World, o: Person) -> Request:
    body = {"id": _new(), "item_code": "party_day", "occurred_on": "2026-05-04"}
    return "POST", await _member(w, o, "entries"), body, None


async def _pledge_assess(w: World, o: Person) -> Request:
    return "POST", f"{S}/pledges/{await _pledge(w, o, reported=True)}/assessment", None, None


async def _entry_decide(w: World, o: Person) -> Request:
    return "POST", f"{S}/entries/{await _entry(w, o, reported=True)}/approve", {}, None


async def _objection_resolve(w: World, o: Person) -> Request:
    body = {"upheld": False, "resolution": "得分有据"}
    return "POST", f"{S}/objections/{await _objection(w, o)}/resolution", body, None


async def _member_self(w: World, o: Person) -> Request:
    return "POST", await _member(w, o, "pledges"), {"id": _new(), "content": "送餐", "due_on": "2026-09-30"}, None


async def _pledge_report(w: World, o: Person) -> Request:
    return "POST", f"{S}/pledges/{await _pledge(w, o)}/fulfilment", {"evidence": ["记录"]}, None


async def _member_read(w: World, o: Person) -> Request:
    return "GET", await _member(w, o, "standing"), None, None


async def _member_review(w: World, o: Person) -> Request:
    body = {"id": _new(), "pledge_id": str(await _pledge(w, o)), "score": 80}
    return "POST", await _member(w, o, "reviews"), body, None


async def _objection_file(w: World, o: Person) -> Request:
    setup = await _setup(w)
    body = {"id": _new(), "person_id": str(o.id), "reason": "复核"}
    return "POST", f"{S}/rating-lists/{setup.noticed[o.community_id]}/objections", body, None


BUILDERS = {
    "scoring.community.read": _community_read,
    "scoring.period.read": _period_read,
    "scoring.ratings.read": _ratings_read,
    "scoring.catalogue.write": _catalogue_write,
    "scoring.period.open": _period_open,
    "scoring.period.close": _period_close,
    "scoring.ratings.draft": _ratings_draft,
    "scoring.ratings.write": _ratings_write,
    "scoring.entries.read": _entries_read,
    "scoring.entry.reverse": _entry_reverse,
    "scoring.member.score": _member_score,
    "scoring.pledge.assess": _pledge_assess,
    "scoring.entry.decide": _entry_decide,
    "scoring.objection.resolve": _objection_resolve,
    "scoring.member.self": _member_self,
    "scoring.pledge.report": _pledge_report,
    "scoring.member.read": _member_read,
    "scoring.member.review": _member_review,
    "scoring.objection.file": _objection_file,
}
