"""Who may use the community API.

Everyone with a role in a community reads its places, teams and partner units; staff of the community (and system
accounts) change them, register people, give memberships and roles, and verify family links. People lists and the
audit log are for those who look after residents: staff, grid workers, branch secretaries and team leaders of the
community, and the street's admins and auditors. A person reads themselves; a member asks for their own family links.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg
import msgspec

from timebank.access.policy import Lookup, Resolver, Rule, Scope, Target, allow, not_found
from timebank.access.principal import Role

__all__ = ["RULES"]

_STREET_READERS = (
    *allow(Role.street_admin, Role.auditor, within=Scope.street),
    *allow(Role.system, within=Scope.system),
)
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
_CARERS = (
    *allow(Role.community_staff, Role.grid_worker, Role.branch_secretary, Role.team_leader, within=Scope.community),
    *_STREET_READERS,
)
_STAFF = (*allow(Role.community_staff, within=Scope.community), *allow(Role.system, within=Scope.system))


async def _community_in_path(lookup: Lookup, connection: asyncpg.Connection) -> Sequence[Target]:
    community_id: uuid.UUID = lookup.path("community_id")
    return [Target(community_id, missing="no such community", ref={"community_id": str(community_id)})]


async def _person(connection: asyncpg.Connection, person_id: uuid.UUID, *, field: str | None = None) -> Target:
    # A dual-registered member lives in one community and serves in another: the target's community is the one the
    # caller is bound to (row-level security shows only those), the home community first.
    community_id = await connection.fetchval(
        """
        SELECT CASE WHEN community_visible(p.community_id) THEN p.community_id
                    ELSE (SELECT m.community_id FROM membership m WHERE m.person_id = p.id LIMIT 1) END
        FROM person p WHERE p.id = $1
        """,
        person_id,
    )
    ref = {"person_id": str(person_id)} | ({"field": field} if field else {})
    if community_id is None:
        raise not_found("no such person", **ref)
    return Target(community_id, frozenset({person_id}), missing="no such person", ref=ref)


async def _person_in_path(lookup: Lookup, connection: asyncpg.Connection) -> Sequence[Target]:
    return [await _person(connection, lookup.path("person_id"))]


class _NamesPerson(msgspec.Struct):
    person_id: uuid.UUID


async def _person_in_body(lookup: Lookup, connection: asyncpg.Connection) -> Sequence[Target]:
    body = await lookup.body(_NamesPerson)
    return [await _person(connection, body.person_id, field="person_id")]


def _row_in_path(table: str, parameter: str, missing: str) -> Resolver:
    async def resolve(lookup: Lookup, connection: asyncpg.Connection) -> Sequence[Target]:
        row_id: uuid.UUID = lookup.path(parameter)
        community_id = await connection.fetchval(f"SELECT community_id FROM {table} WHERE id = $1", row_id)
        if community_id is None:
            raise not_found(missing, **{parameter: str(row_id)})
        return [Target(community_id, missing=missing, ref={parameter: str(row_id)})]

    return resolve


RULES = (
    Rule(("community.list",), authenticated=True),
    Rule(("community.create",), allow=allow(Role.system, within=Scope.system)),
    Rule(
        ("community.places.read", "community.teams.read", "community.units.read"),
        allow=_MEMBERS,
        target=_community_in_path,
    ),
    Rule(("community.people.list",), allow=_CARERS, target=_community_in_path),
    Rule(
        ("community.audit.read",),
        allow=(*allow(Role.community_staff, within=Scope.community), *_STREET_READERS),
        target=_community_in_path,
    ),
    Rule(
        (
            "community.places.write",
            "community.people.write",
            "community.memberships.write",
            "community.teams.write",
            "community.units.write",
            "community.grants.write",
        ),
        allow=_STAFF,
        target=_community_in_path,
    ),
    Rule(
        ("community.person.read",),
        allow=(*allow(Role.resident, within=Scope.self), *_CARERS),
        target=_person_in_path,
    ),
    Rule(
        ("community.family.request",),
        allow=(*allow(Role.resident, within=Scope.self), *_STAFF),
        target=_person_in_body,
    ),
    Rule(
        ("community.family.verify",),
        allow=_STAFF,
        target=_row_in_path("family_link", "link_id", "no such family link"),
    ),
    Rule(
        ("community.membership.end",),
        allow=_STAFF,
        target=_row_in_path("membership", "membership_id", "no such membership"),
    ),
    Rule(
        ("community.grant.revoke",),
        allow=_STAFF,
        target=_row_in_path("role_grant", "grant_id", "no such role grant"),
    ),
    # Any person reports to the community paired with their unit; the handler checks the pairing.
    Rule(("community.dual_registration",), allow=allow(Role.resident, within=Scope.self)),
)
