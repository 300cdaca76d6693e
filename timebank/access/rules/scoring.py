"""Who may use the party-assessment API.

Everyone with a role in a community reads its catalogues, periods, leaderboards, displays, pledges and rating
lists (the 公示 is public to the community), reviews its members (三评) and objects to ratings; the street's admins
and auditors read them too. Community staff run catalogues, periods and rating lists and reverse entries. The
secretary of a member's branch (or staff) scores the member's items, decides their reports, records appraisal and
veto, assesses their pledges and resolves objections about them. A member reports, pledges and shows for
themselves, and reads their own entries and standing, as their branch and staff may.

The services refuse what no role may do: deciding, reviewing or resolving anything about oneself.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg

from timebank.access.policy import Lookup, Rule, Scope, Target, allow, not_found
from timebank.access.principal import Role, ScopeKind

__all__ = ["RULES"]

_SYSTEM = allow(Role.system, within=Scope.system)
_STREET = (*allow(Role.street_admin, Role.auditor, within=Scope.street), *_SYSTEM)
_IN_COMMUNITY = allow(
    Role.resident,
    Role.volunteer,
    Role.team_leader,
    Role.grid_worker,
    Role.branch_secretary,
    Role.community_staff,
    Role.partner_admin,
    within=Scope.community,
)
_COMMUNITY = (*_IN_COMMUNITY, *_STREET)
_REVIEWERS = (*_IN_COMMUNITY, *_SYSTEM)
_STAFF = (*allow(Role.community_staff, within=Scope.community), *_SYSTEM)
_BRANCH = (*allow(Role.branch_secretary, within=Scope.branch), *_STAFF)
_SELF = (*allow(Role.resident, within=Scope.self), *_SYSTEM)
_MEMBER_READ = (
    *allow(Role.resident, within=Scope.self),
    *allow(Role.branch_secretary, within=Scope.branch),
    *allow(Role.community_staff, within=Scope.community),
    *_STREET,
)


def _card_target(
    community_id: uuid.UUID, person_id: uuid.UUID, branch_id: uuid.UUID | None, missing: str, ref: dict[str, str]
) -> Target:
    places = frozenset({(ScopeKind.branch, branch_id)}) if branch_id is not None else frozenset()
    return Target(community_id, frozenset({person_id}), places, missing=missing, ref=ref)


async def _community_in_path(lookup: Lookup, connection: asyncpg.Connection) -> Sequence[Target]:
    community_id: uuid.UUID = lookup.path("community_id")
    return [Target(community_id, missing="no such community", ref={"community_id": str(community_id)})]


async def _period_in_path(lookup: Lookup, connection: asyncpg.Connection) -> Sequence[Target]:
    period_id: uuid.UUID = lookup.path("period_id")
    community_id = await connection.fetchval("SELECT community_id FROM scoring_period WHERE id = $1", period_id)
    ref = {"period_id": str(period_id)}
    if community_id is None:
        raise not_found("no such assessment period", **ref)
    return [Target(community_id, missing="no such assessment period", ref=ref)]


async def _member_in_path(lookup: Lookup, connection: asyncpg.Connection) -> Sequence[Target]:
    """The member of a period: their branch comes from their score card (none yet: the period's community only)."""
    period_id: uuid.UUID = lookup.path("period_id")
    person_id: uuid.UUID = lookup.path("person_id")
    row = await connection.fetchrow(
        """
        SELECT p.community_id, c.branch_id FROM scoring_period p
        LEFT JOIN scoring_card c ON c.period_id = p.id AND c.person_id = $2
        WHERE p.id = $1
        """,
        period_id,
        person_id,
    )
    ref = {"period_id": str(period_id)}
    if row is None:
        raise not_found("no such assessment period", **ref)
    return [_card_target(row["community_id"], person_id, row["branch_id"], "no such assessment period", ref)]


async def _card_of_row(
    connection: asyncpg.Connection, table: str, parameter: str, row_id: uuid.UUID, missing: str
) -> Sequence[Target]:
    row = await connection.fetchrow(
        f"""
        SELECT r.community_id, r.person_id, c.branch_id FROM {table} r
        JOIN scoring_card c ON c.period_id = r.period_id AND c.person_id = r.person_id
        WHERE r.id = $1
        """,
        row_id,
    )
    ref = {parameter: str(row_id)}
    if row is None:
        raise not_found(missing, **ref)
    return [_card_target(row["community_id"], row["person_id"], row["branch_id"], missing, ref)]


async def _entry_in_path(lookup: Lookup, connection: asyncpg.Connection) -> Sequence[Target]:
    return await _card_of_row(connection, "scoring_entry", "entry_id", lookup.path("entry_id"), "no such score entry")


async def _pledge_in_path(lookup: Lookup, connection: asyncpg.Connection) -> Sequence[Target]:
    return await _card_of_row(connection, "scoring_pledge", "pledge_id", lookup.path("pledge_id"), "no such pledge")


async def _list_in_path(lookup: Lookup, connection: asyncpg.Connection) -> Sequence[Target]:
    list_id: uuid.UUID = lookup.path("list_id")
    community_id = await connection.fetchval("SELECT community_id FROM scoring_rating_list WHERE id = $1", list_id)
    ref = {"list_id": str(list_id)}
    if community_id is None:
        raise not_found("no such rating list", **ref)
    return [Target(community_id, missing="no such rating list", ref=ref)]


async def _objection_in_path(lookup: Lookup, connection: asyncpg.Connection) -> Sequence[Target]:
    objection_id: uuid.UUID = lookup.path("objection_id")
    row = await connection.fetchrow(
        """
        SELECT o.community_id, o.person_id, c.branch_id FROM scoring_objection o
        JOIN scoring_rating_list l ON l.id = o.list_id
        JOIN scoring_card c ON c.period_id = l.period_id AND c.person_id = o.person_id
        WHERE o.id = $1
        """,
        objection_id,
    )
    ref = {"objection_id": str(objection_id)}
    if row is None:
        raise not_found("no such objection", **ref)
    return [_card_target(row["community_id"], row["person_id"], row["branch_id"], "no such objection", ref)]


RULES = (
    Rule(("scoring.community.read",), allow=_COMMUNITY, target=_community_in_path),
    Rule(("scoring.catalogue.write", "scoring.period.open"), allow=_STAFF, target=_community_in_path),
    Rule(("scoring.period.read",), allow=_COMMUNITY, target=_period_in_path),
    Rule(("scoring.period.close", "scoring.ratings.draft"), allow=_STAFF, target=_period_in_path),
    Rule(
        ("scoring.entries.read",),
        allow=(*allow(Role.branch_secretary, Role.community_staff, within=Scope.community), *_STREET),
        target=_period_in_path,
    ),
    Rule(("scoring.member.score",), allow=_BRANCH, target=_member_in_path),
    Rule(("scoring.member.self",), allow=_SELF, target=_member_in_path),
    Rule(("scoring.member.read",), allow=_MEMBER_READ, target=_member_in_path),
    Rule(("scoring.member.review",), allow=_REVIEWERS, target=_member_in_path),
    Rule(("scoring.entry.decide",), allow=_BRANCH, target=_entry_in_path),
    Rule(("scoring.entry.reverse",), allow=_STAFF, target=_entry_in_path),
    Rule(("scoring.pledge.report",), allow=_SELF, target=_pledge_in_path),
    Rule(("scoring.pledge.assess",), allow=_BRANCH, target=_pledge_in_path),
    Rule(("scoring.ratings.read",), allow=_COMMUNITY, target=_list_in_path),
    Rule(("scoring.ratings.write",), allow=_STAFF, target=_list_in_path),
    Rule(("scoring.objection.file",), allow=_REVIEWERS, target=_list_in_path),
    Rule(("scoring.objection.resolve",), allow=_BRANCH, target=_objection_in_path),
)
