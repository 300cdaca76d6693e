"""Who could take a need: resources, projects, teams, units and members, ranked, each with its reasons.

Candidates come from the need's community. Members are scored on their stated skills (of every membership they
hold here), where they live, whether a live order of theirs already takes the need's preferred time, their ratings
and how many orders they hold now; teams and units on their members, resources and projects. Time-bank help is
claimed by one person, so only members (and a member's own resources) are suggested for it.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

import asyncpg

from timebank.errors import NotFound
from timebank.marketplace.fit import (
    Distance,
    Reason,
    Score,
    category_of_skill,
    distance_score,
    load_score,
    matching_skills,
    rating_score,
)
from timebank.marketplace.model import Category, Settlement

__all__ = ["Suggestion", "suggest_for_need"]

#: Needs anyone willing can answer: a registered volunteer fits them without a stated skill.
_GENERAL = frozenset({Category.errands, Category.companionship, Category.cleaning, Category.other})


@dataclass(frozen=True, slots=True, kw_only=True)
class Suggestion:
    kind: str
    id: uuid.UUID
    name: str
    score: float
    fits: bool
    reasons: tuple[Reason, ...]


@dataclass(slots=True)
class _Need:
    id: uuid.UUID
    community_id: uuid.UUID
    category: Category
    skills: tuple[str, ...]
    building_id: uuid.UUID | None
    compound_id: uuid.UUID | None
    requester_id: uuid.UUID | None
    settlement: Settlement
    preferred_on: date | None


@dataclass(slots=True)
class _Member:
    id: uuid.UUID
    name: str
    home_community: uuid.UUID
    building_id: uuid.UUID | None
    compound_id: uuid.UUID | None
    skills: tuple[str, ...]
    volunteer: bool
    teams: tuple[uuid.UUID, ...]
    units: tuple[uuid.UUID, ...]


@dataclass(slots=True)
class _Stats:
    """What the community's orders say about each worker (person, team or unit id)."""

    load: dict[uuid.UUID, int] = field(default_factory=dict)
    ratings: dict[uuid.UUID, tuple[int, int]] = field(default_factory=dict)
    busy_then: set[uuid.UUID] = field(default_factory=set)


async def _load_need(connection: asyncpg.Connection, need_id: uuid.UUID) -> _Need:
    row = await connection.fetchrow(
        """
        SELECT id, community_id, category, skills, building_id, compound_id, requester_id, settlement,
            preferred_from::date AS preferred_on
        FROM need WHERE id = $1
        """,
        need_id,
    )
    if row is None:
        raise NotFound("no such need", need_id=str(need_id))
    values = dict(row)
    values["category"] = Category(values["category"])
    values["settlement"] = Settlement(values["settlement"])
    values["skills"] = tuple(values["skills"])
    return _Need(**values)


async def _members(connection: asyncpg.Connection, need: _Need) -> list[_Member]:
    """Everyone with more than a resident's membership here (volunteers, party members, team and unit people), with
    the skills, teams and units of all those memberships, and where they live."""
    rows = await connection.fetch(
        """
        WITH workers AS (
            SELECT m.person_id,
                coalesce(array_agg(DISTINCT s.skill) FILTER (WHERE s.skill IS NOT NULL), '{}') AS skills,
                coalesce(array_agg(DISTINCT m.team_id) FILTER (WHERE m.team_id IS NOT NULL), '{}') AS teams,
                coalesce(array_agg(DISTINCT m.unit_id) FILTER (WHERE m.unit_id IS NOT NULL), '{}') AS units
            FROM membership m
            LEFT JOIN LATERAL unnest(m.skills) AS s(skill) ON true
            WHERE m.community_id = $1 AND m.left_on IS NULL AND m.kind <> 'resident'
            GROUP BY m.person_id
        )
        SELECT p.id, p.name, p.community_id AS home_community, h.building_id, b.compound_id, w.skills,
            true AS volunteer, w.teams, w.units
        FROM workers w
        JOIN person p ON p.id = w.person_id
        LEFT JOIN household h ON h.id = p.household_id AND h.community_id = $1
        LEFT JOIN building b ON b.id = h.building_id
        WHERE p.id IS DISTINCT FROM $2
        """,
        need.community_id,
        need.requester_id,
    )
    members = []
    for row in rows:
        values = dict(row)
        for key in ("skills", "teams", "units"):
            values[key] = tuple(values[key])
        members.append(_Member(**values))
    return members


async def _stats(connection: asyncpg.Connection, need: _Need) -> _Stats:
    stats = _Stats()
    live = await connection.fetch(
        """
        SELECT worker, count(DISTINCT claim_id) AS n FROM (
            SELECT c.id AS claim_id, unnest(array_append(array_agg(op.person_id), c.claimant_id)) AS worker
            FROM order_claim c LEFT JOIN order_participant op ON op.claim_id = c.id
            WHERE c.community_id = $1 AND c.status = 'live'
            GROUP BY c.id
        ) x WHERE worker IS NOT NULL GROUP BY worker
        """,
        need.community_id,
    )
    stats.load = {row["worker"]: row["n"] for row in live}
    rated = await connection.fetch(
        """
        SELECT worker, sum(rating)::int AS total, count(*)::int AS n FROM (
            SELECT DISTINCT c.id, o.rating, w.worker
            FROM order_claim c
            JOIN service_order o ON o.id = c.order_id AND o.status = 'closed'
            LEFT JOIN order_participant op ON op.claim_id = c.id
            CROSS JOIN LATERAL (VALUES (op.person_id), (c.claimant_id)) AS w(worker)
            WHERE c.community_id = $1 AND c.status = 'completed' AND w.worker IS NOT NULL
        ) x GROUP BY worker
        """,
        need.community_id,
    )
    stats.ratings = {row["worker"]: (row["total"], row["n"]) for row in rated}
    if need.preferred_on is not None:
        busy = await connection.fetch(
            """
            SELECT DISTINCT op.person_id FROM order_claim c
            JOIN order_participant op ON op.claim_id = c.id
            JOIN service_order o ON o.id = c.order_id
            JOIN need n ON n.id = o.need_id
            WHERE c.community_id = $1 AND c.status = 'live' AND n.preferred_from::date = $2
            """,
            need.community_id,
            need.preferred_on,
        )
        stats.busy_then = {row["person_id"] for row in busy}
    return stats


def _skill_fit(need: _Need, skills: tuple[str, ...], score: Score, *, who: str) -> None:
    wanted = matching_skills(need.skills, skills) if need.skills else []
    if wanted:
        score.fit = 1.0
        score.because("skill", f"{who} {', '.join(wanted[:3])}, which the need asks for")
        return
    in_category = [skill for skill in skills if category_of_skill(skill, need.category)]
    if in_category:
        score.fit = 0.8
        score.because("category", f"{who} {', '.join(in_category[:3])} ({need.category.value.replace('_', ' ')})")


def _member(need: _Need, member: _Member, stats: _Stats) -> Score:
    score = Score()
    _skill_fit(need, member.skills, score, who="states the skill")
    if not score.fits and member.volunteer and need.category in _GENERAL:
        score.fit = 0.3
        score.because("general", "a registered volunteer; this kind of help needs no special skill")
    where = Distance(
        same_building=need.building_id is not None and member.building_id == need.building_id,
        same_compound=need.compound_id is not None and member.compound_id == need.compound_id,
        same_community=member.home_community == need.community_id,
    )
    distance_score(where, score, who="lives")
    _availability(member.id in stats.busy_then, score)
    rating_score(*stats.ratings.get(member.id, (0, 0)), score)
    load_score(stats.load.get(member.id, 0), score)
    return score


def _availability(busy: bool, score: Score) -> None:
    if busy:
        score.because("busy", "already holds an order for the preferred day")
    else:
        score.availability = 1.0
        score.because("available", "free at the preferred time")


def _group(need: _Need, members: list[_Member], stats: _Stats, group_id: uuid.UUID, offers: tuple[str, ...]) -> Score:
    """A team or unit: what it offers itself (a unit's resources and projects, a team's name), else the share of its
    members who state a fitting skill (a team built around the skill beats one with a member or two who have it)."""
    score = Score()
    _skill_fit(need, offers, score, who="offers")
    if not score.fits:
        fitting: dict[str, int] = {}
        for member in members:
            probe = Score()
            _skill_fit(need, member.skills, probe, who="")
            if probe.fits:
                fitting[probe.reasons[0].code] = fitting.get(probe.reasons[0].code, 0) + 1
        count = sum(fitting.values())
        if count:
            skill = "skill" in fitting
            score.fit = (1.0 if skill else 0.8) * (0.7 + 0.3 * count / len(members))
            wanted = ", ".join(need.skills[:3]) if skill else need.category.value.replace("_", " ")
            score.because(
                "skill" if skill else "category",
                f"{count} of its {len(members)} members {'state' if count != 1 else 'states'} {wanted}",
            )
    near_building = sum(1 for m in members if need.building_id is not None and m.building_id == need.building_id)
    near_compound = sum(1 for m in members if need.compound_id is not None and m.compound_id == need.compound_id)
    if near_building:
        score.distance = 1.0
        score.because("same_building", f"{_members_live(near_building)} in the same building")
    elif near_compound:
        score.distance = 0.75
        score.because("same_compound", f"{_members_live(near_compound)} in the same compound")
    else:
        score.distance = 0.5
        score.because("same_community", "works across this community")
    score.availability = 1.0 if members else 0.0
    score.because("members", f"{len(members)} member{'s' * (len(members) != 1)} to send")
    rating_score(*stats.ratings.get(group_id, (0, 0)), score)
    load_score(stats.load.get(group_id, 0), score)
    return score


def _members_live(count: int) -> str:
    return "1 of its members lives" if count == 1 else f"{count} of its members live"


async def suggest_for_need(connection: asyncpg.Connection, need_id: uuid.UUID, *, limit: int = 10) -> list[Suggestion]:
    """The best candidates for a need, best first: only those whose category or skills fit (or, for help anyone
    can give, volunteers), each with its reasons.

    Raises:
        NotFound: no such need in the caller's communities.
    """
    need = await _load_need(connection, need_id)
    members = await _members(connection, need)
    stats = await _stats(connection, need)
    scored: list[tuple[str, uuid.UUID, str, Score]] = [
        ("member", member.id, member.name, _member(need, member, stats)) for member in members
    ]
    scored += await _resources(connection, need, stats)
    if need.settlement is not Settlement.time_bank:
        scored += await _groups(connection, need, members, stats)
        scored += await _projects(connection, need, stats)
    fitting = [entry for entry in scored if entry[3].fits]
    fitting.sort(key=lambda entry: (-entry[3].total, entry[2], entry[1]))
    return [
        Suggestion(kind=kind, id=id_, name=name, score=score.total, fits=score.fits, reasons=tuple(score.reasons))
        for kind, id_, name, score in fitting[:limit]
    ]


async def _groups(
    connection: asyncpg.Connection, need: _Need, members: list[_Member], stats: _Stats
) -> list[tuple[str, uuid.UUID, str, Score]]:
    by_team: dict[uuid.UUID, list[_Member]] = defaultdict(list)
    by_unit: dict[uuid.UUID, list[_Member]] = defaultdict(list)
    for member in members:
        for team in member.teams:
            by_team[team].append(member)
        for unit in member.units:
            by_unit[unit].append(member)
    teams = await connection.fetch("SELECT id, name FROM volunteer_team WHERE community_id = $1", need.community_id)
    units = await connection.fetch(
        """
        SELECT u.id, u.name,
            ARRAY(SELECT r.category FROM resource r WHERE r.unit_id = u.id AND r.status = 'published')
            || ARRAY(SELECT unnest(r.skills) FROM resource r WHERE r.unit_id = u.id AND r.status = 'published')
            || ARRAY(SELECT p.category FROM project p WHERE p.unit_id = u.id AND p.status = 'active')
            || ARRAY(SELECT unnest(p.skills) FROM project p WHERE p.unit_id = u.id AND p.status = 'active') AS offers
        FROM partner_unit u WHERE u.community_id = $1
        """,
        need.community_id,
    )
    found = [
        ("team", row["id"], row["name"], _group(need, by_team[row["id"]], stats, row["id"], (row["name"],)))
        for row in teams
    ]
    found += [
        ("unit", row["id"], row["name"], _group(need, by_unit[row["id"]], stats, row["id"], tuple(row["offers"])))
        for row in units
    ]
    return found


async def _resources(
    connection: asyncpg.Connection, need: _Need, stats: _Stats
) -> list[tuple[str, uuid.UUID, str, Score]]:
    rows = await connection.fetch(
        """
        SELECT id, title, category, skills, capacity, weekdays, building_id, compound_id, owner_kind,
            coalesce(unit_id, team_id, person_id) AS owner_id,
            (available_from IS NULL OR available_from <= coalesce($3, current_date))
                AND (available_until IS NULL OR available_until >= coalesce($3, current_date)) AS in_period
        FROM resource
        WHERE community_id = $1 AND status = 'published' AND (category = $2 OR skills && $4::text[])
          AND ($5 OR owner_kind = 'person')
        """,
        need.community_id,
        need.category.value,
        need.preferred_on,
        list(need.skills),
        need.settlement is not Settlement.time_bank,
    )
    found = []
    for row in rows:
        score = Score()
        if row["category"] == need.category:
            score.fit = 1.0
            score.because("category", f"offers {need.category.value.replace('_', ' ')}: {row['title']}")
        else:
            score.fit = 0.8
            score.because("skill", f"offers {', '.join(matching_skills(need.skills, tuple(row['skills']))[:3])}")
        if row["building_id"] is None and row["compound_id"] is None:
            score.distance = 0.5
            score.because("same_community", "serves the whole community")
        else:
            where = Distance(
                same_building=row["building_id"] is not None and row["building_id"] == need.building_id,
                same_compound=row["compound_id"] == need.compound_id,
                same_community=True,
            )
            distance_score(where, score, who="serves an area")
        owner = row["owner_id"]
        live = stats.load.get(owner, 0) if owner is not None else 0
        weekday_ok = need.preferred_on is None or need.preferred_on.isoweekday() in row["weekdays"]
        if row["in_period"] and weekday_ok and live < row["capacity"]:
            score.availability = 1.0
            score.because("available", "offered at the preferred time, with capacity free")
        else:
            score.because("unavailable", "not offered then, or fully taken")
        rating_score(*stats.ratings.get(owner, (0, 0)) if owner is not None else (0, 0), score)
        load_score(live, score)
        found.append(("resource", row["id"], row["title"], score))
    return found


async def _projects(
    connection: asyncpg.Connection, need: _Need, stats: _Stats
) -> list[tuple[str, uuid.UUID, str, Score]]:
    rows = await connection.fetch(
        """
        SELECT p.id, p.title, p.unit_id, p.slots, p.category, p.building_id, p.compound_id,
            (SELECT count(*) FROM service_order o WHERE o.project_id = p.id
             AND o.status IN ('dispatched', 'open', 'accepted', 'done'))::int AS taken
        FROM project p
        WHERE p.community_id = $1 AND p.status = 'active' AND (p.category = $2 OR p.skills && $3::text[])
          AND coalesce($4, current_date) BETWEEN p.starts_on AND p.ends_on
        """,
        need.community_id,
        need.category.value,
        list(need.skills),
        need.preferred_on,
    )
    found = []
    for row in rows:
        score = Score(fit=1.0)
        score.because("category", f"a co-building project for {need.category.value.replace('_', ' ')}")
        if row["compound_id"] is None:
            score.distance = 0.5
            score.because("same_community", "serves the whole community")
        else:
            where = Distance(
                same_building=row["building_id"] is not None and row["building_id"] == need.building_id,
                same_compound=row["compound_id"] == need.compound_id,
            )
            distance_score(where, score, who="runs")
        free = row["slots"] - row["taken"]
        score.availability = 1.0 if free > 0 else 0.0
        score.because("slots", f"{free} of {row['slots']} slots free")
        rating_score(*stats.ratings.get(row["unit_id"], (0, 0)), score)
        load_score(row["taken"], score)
        found.append(("project", row["id"], row["title"], score))
    return found
