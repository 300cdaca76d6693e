"""Who may use the volunteering and time bank API.

Team leaders publish and run the activities of their team (roster, check-in codes, attendance, confirmation);
staff of the community do all of that for any activity, and alone approve, amend and reject records, decide
corrections, write the earning policy, grant from the pool and export hours. A resident signs themselves up, scans
codes, asks for corrections of their own records, reads their own statements and certificate, and gifts or donates
their own coins. Street admins and auditors read.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg
import msgspec

from timebank.access.policy import Lookup, Resolver, Rule, Scope, Target, allow, not_found
from timebank.access.principal import Role, ScopeKind

__all__ = ["RULES"]

_SYSTEM = allow(Role.system, within=Scope.system)
_STREET_READERS = (*allow(Role.street_admin, Role.auditor, within=Scope.street), *_SYSTEM)
_STAFF = (*allow(Role.community_staff, within=Scope.community), *_SYSTEM)
_MEMBERS = (
    *allow(
        Role.resident,
        Role.volunteer,
        Role.team_leader,
        Role.grid_worker,
        Role.branch_secretary,
        Role.community_staff,
        Role.partner_admin,
        within=Scope.community,
    ),
    *_STREET_READERS,
)
_LEADERS = (*allow(Role.team_leader, within=Scope.team), *_STAFF)
_THEMSELVES = allow(Role.resident, Role.volunteer, within=Scope.self)


def _team(team_id: uuid.UUID | None) -> frozenset[tuple[ScopeKind, uuid.UUID]]:
    return frozenset() if team_id is None else frozenset({(ScopeKind.team, team_id)})


async def _community(lookup: Lookup, connection: asyncpg.Connection) -> Sequence[Target]:
    community_id: uuid.UUID = lookup.path("community_id")
    return [Target(community_id, missing="no such community", ref={"community_id": str(community_id)})]


async def _activity(
    connection: asyncpg.Connection, activity_id: uuid.UUID, people: frozenset[uuid.UUID] = frozenset()
) -> Target:
    row = await connection.fetchrow("SELECT community_id, team_id FROM volunteer_activity WHERE id = $1", activity_id)
    ref = {"activity_id": str(activity_id)}
    if row is None:
        raise not_found("no such activity", **ref)
    return Target(row["community_id"], people, _team(row["team_id"]), missing="no such activity", ref=ref)


async def _activity_in_path(lookup: Lookup, connection: asyncpg.Connection) -> Sequence[Target]:
    return [await _activity(connection, lookup.path("activity_id"))]


class _NamesTeam(msgspec.Struct):
    team_id: uuid.UUID | None = None


async def _publish(lookup: Lookup, connection: asyncpg.Connection) -> Sequence[Target]:
    community_id: uuid.UUID = lookup.path("community_id")
    body = await lookup.body(_NamesTeam)
    return [Target(community_id, places=_team(body.team_id), missing="no such community")]


class _NamesPerson(msgspec.Struct):
    person_id: uuid.UUID


async def _signup_in_body(lookup: Lookup, connection: asyncpg.Connection) -> Sequence[Target]:
    body = await lookup.body(_NamesPerson)
    return [await _activity(connection, lookup.path("activity_id"), frozenset({body.person_id}))]


async def _signup_in_path(lookup: Lookup, connection: asyncpg.Connection) -> Sequence[Target]:
    return [await _activity(connection, lookup.path("activity_id"), frozenset({lookup.path("person_id")}))]


async def _person(connection: asyncpg.Connection, person_id: uuid.UUID, community_id: uuid.UUID | None) -> Target:
    ref = {"person_id": str(person_id)}
    found = await connection.fetchval(
        """
        SELECT coalesce($2, p.community_id) FROM person p
        WHERE p.id = $1 AND ($2::uuid IS NULL OR p.community_id = $2 OR EXISTS (
            SELECT 1 FROM membership m WHERE m.person_id = p.id AND m.community_id = $2))
        """,
        person_id,
        community_id,
    )
    if found is None:
        raise not_found("no such person", **ref)
    return Target(found, frozenset({person_id}), missing="no such person", ref=ref)


async def _scanner(lookup: Lookup, connection: asyncpg.Connection) -> Sequence[Target]:
    body = await lookup.body(_NamesPerson)
    return [await _person(connection, body.person_id, None)]


async def _person_in_path(lookup: Lookup, connection: asyncpg.Connection) -> Sequence[Target]:
    return [await _person(connection, lookup.path("person_id"), lookup.path("community_id"))]


async def _person_in_body(lookup: Lookup, connection: asyncpg.Connection) -> Sequence[Target]:
    body = await lookup.body(_NamesPerson)
    return [await _person(connection, body.person_id, lookup.path("community_id"))]


class _NamesGiver(msgspec.Struct):
    from_person_id: uuid.UUID


async def _giver_in_body(lookup: Lookup, connection: asyncpg.Connection) -> Sequence[Target]:
    body = await lookup.body(_NamesGiver)
    return [await _person(connection, body.from_person_id, lookup.path("community_id"))]


async def _record_in_path(lookup: Lookup, connection: asyncpg.Connection) -> Sequence[Target]:
    record_id: uuid.UUID = lookup.path("record_id")
    row = await connection.fetchrow(
        """
        SELECT r.community_id, r.person_id, a.team_id FROM service_record r
        JOIN volunteer_activity a ON a.id = r.activity_id WHERE r.id = $1
        """,
        record_id,
    )
    ref = {"record_id": str(record_id)}
    if row is None:
        raise not_found("no such service record", **ref)
    return [
        Target(
            row["community_id"],
            frozenset({row["person_id"]}),
            _team(row["team_id"]),
            missing="no such service record",
            ref=ref,
        )
    ]


def _row_in_path(table: str, parameter: str, missing: str) -> Resolver:
    async def resolve(lookup: Lookup, connection: asyncpg.Connection) -> Sequence[Target]:
        row_id: uuid.UUID = lookup.path(parameter)
        community_id = await connection.fetchval(f"SELECT community_id FROM {table} WHERE id = $1", row_id)
        if community_id is None:
            raise not_found(missing, **{parameter: str(row_id)})
        return [Target(community_id, missing=missing, ref={parameter: str(row_id)})]

    return resolve


RULES = (
    Rule(("volunteering.activities.read", "volunteering.policy.read"), allow=_MEMBERS, target=_community),
    Rule(("volunteering.activity.read",), allow=_MEMBERS, target=_activity_in_path),
    Rule(("volunteering.activity.publish",), allow=_LEADERS, target=_publish),
    Rule(
        (
            "volunteering.activity.cancel",
            "volunteering.roster.read",
            "volunteering.roster.confirm",
            "volunteering.check_in_code",
            "volunteering.attendance.record",
        ),
        allow=_LEADERS,
        target=_activity_in_path,
    ),
    Rule(("volunteering.signup.create",), allow=(*_THEMSELVES, *_LEADERS), target=_signup_in_body),
    Rule(("volunteering.signup.cancel",), allow=(*_THEMSELVES, *_LEADERS), target=_signup_in_path),
    Rule(("volunteering.scan",), allow=(*_THEMSELVES, *_SYSTEM), target=_scanner),
    Rule(
        ("volunteering.records.read", "volunteering.hours.export"),
        allow=(*allow(Role.community_staff, within=Scope.community), *_STREET_READERS),
        target=_community,
    ),
    Rule(
        ("volunteering.records.approve", "volunteering.policy.write", "volunteering.grants.read"),
        allow=_STAFF,
        target=_community,
    ),
    Rule(
        ("volunteering.record.read",),
        allow=(*_THEMSELVES, *allow(Role.team_leader, within=Scope.team), *_STAFF, *_STREET_READERS),
        target=_record_in_path,
    ),
    Rule(("volunteering.record.amend", "volunteering.record.reject"), allow=_STAFF, target=_record_in_path),
    Rule(("volunteering.correction.request",), allow=_THEMSELVES, target=_record_in_path),
    Rule(
        ("volunteering.correction.decide",),
        allow=_STAFF,
        target=_row_in_path("record_correction", "correction_id", "no such correction"),
    ),
    Rule(
        ("volunteering.person.read",),
        allow=(*_THEMSELVES, *_STAFF, *_STREET_READERS),
        target=_person_in_path,
    ),
    Rule(("volunteering.gift",), allow=(*_THEMSELVES, *_STAFF), target=_giver_in_body),
    Rule(("volunteering.donation",), allow=(*_THEMSELVES, *_STAFF), target=_person_in_body),
    Rule(("volunteering.grant",), allow=_STAFF, target=_person_in_body),
)
