"""The community API's rows of the endpoint × role walk (tests/http/test_authorization.py).

*mine* is the caller as a person (or the caller's community, for rows that belong to a community: places, teams,
units, the people list, the audit log, grants and memberships, so *mine* and *theirs* are the same community
there). Every person of the walk is also a resident of their home community, so resident rules apply to them all.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from tests.auth_support import Person
from timebank.access.principal import Principal
from timebank.community import family, people
from timebank.db import EVERY_COMMUNITY, bound

if TYPE_CHECKING:  # the walk's own module imports this one
    from tests.http.test_authorization import Request, World

ROLES = [
    "resident", "volunteer", "team_leader", "grid_worker", "branch_secretary", "community_staff", "partner_admin",
    "street_admin", "auditor", "system", "anonymous",
]  # fmt: skip
_ACTOR = Principal.system("community-access-walk")


def _table(default: str, **by_role: str) -> dict[str, str]:
    table = dict.fromkeys(ROLES, default)
    table.update(system="ok ok ok", anonymous="401 401 401")
    table.update(by_role)
    return table


_NONE = "403 403 403"
_COMMUNITY = "ok ok 404"
_OWN = "ok 403 404"
_CARERS = dict.fromkeys(
    ("community_staff", "grid_worker", "branch_secretary", "team_leader", "street_admin", "auditor"), _COMMUNITY
)

EXPECTED: dict[str, dict[str, str]] = {
    "community.list": _table("ok ok ok"),
    "community.create": _table(_NONE),
    **dict.fromkeys(("community.places.read", "community.teams.read", "community.units.read"), _table(_COMMUNITY)),
    "community.people.list": _table(_NONE, **_CARERS),
    "community.audit.read": _table(
        _NONE, community_staff=_COMMUNITY, street_admin=_COMMUNITY, auditor=_COMMUNITY
    ),
    **dict.fromkeys(
        ("community.places.write", "community.people.write", "community.memberships.write", "community.teams.write",
         "community.units.write", "community.grants.write", "community.membership.end", "community.grant.revoke"),
        _table(_NONE, community_staff=_COMMUNITY),
    ),
    # A verification names the member of staff who answers for it: a service account cannot give one.
    "community.family.verify": _table(_NONE, community_staff=_COMMUNITY, system=_NONE),
    "community.person.read": _table(_OWN, **_CARERS),
    "community.family.request": _table(_OWN, community_staff=_COMMUNITY),
    # Any person may report to a partner unit's community, wherever it is; a service account is nobody.
    "community.dual_registration": _table("ok ok ok", system=_NONE),
}  # fmt: skip


def _new() -> str:
    return str(uuid.uuid4())


async def _person(w: World, community: uuid.UUID) -> uuid.UUID:
    return (await w.org.person(community)).id


async def _list(w: World, o: Person) -> Request:
    return "GET", "/v1/communities", None, None


async def _create(w: World, o: Person) -> Request:
    street = await w.org.street_of(o.community_id)
    body = {"id": _new(), "street_id": str(street), "code": uuid.uuid4().hex[:20], "name": "新社区"}
    return "POST", "/v1/communities", body, None


def _in_community(suffix: str, method: str = "GET", body: dict[str, object] | None = None):  # type: ignore[no-untyped-def]
    async def build(w: World, o: Person) -> Request:
        payload = None if body is None else {key: (_new() if value is None else value) for key, value in body.items()}
        return method, f"/v1/communities/{o.community_id}/{suffix}", payload, None

    return build


async def _register(w: World, o: Person) -> Request:
    return "POST", f"/v1/communities/{o.community_id}/people", {"id": _new(), "name": "新居民"}, None


async def _membership(w: World, o: Person) -> Request:
    body = {"id": _new(), "person_id": str(await _person(w, o.community_id)), "kind": "volunteer"}
    return "POST", f"/v1/communities/{o.community_id}/memberships", body, None


async def _agreement(w: World, o: Person) -> Request:
    body = {"id": _new(), "unit_id": str(await w.org.unit(o.community_id)), "starts_on": "2026-01-01",
            "ends_on": "2026-12-31", "commitments": ["每月一次志愿服务"]}  # fmt: skip
    return "POST", f"/v1/communities/{o.community_id}/agreements", body, None


async def _grant(w: World, o: Person) -> Request:
    body = {"id": _new(), "person_id": str(await _person(w, o.community_id)), "role": "team_leader",
            "scope_id": str(await w.org.team(o.community_id))}  # fmt: skip
    return "POST", f"/v1/communities/{o.community_id}/role-grants", body, None


async def _read_person(w: World, o: Person) -> Request:
    return "GET", f"/v1/people/{o.id}", None, None


async def _request_link(w: World, o: Person) -> Request:
    body = {"id": _new(), "person_id": str(o.id), "relative_id": str(await _person(w, o.community_id)),
            "relation": "parent"}  # fmt: skip
    return "POST", "/v1/family-links", body, None


async def _link(w: World, o: Person) -> uuid.UUID:
    """A link between two other people of the owner's community (staff never verify their own family)."""
    child, elder = await _person(w, o.community_id), await _person(w, o.community_id)
    async with bound(w.database.pool, EVERY_COMMUNITY) as connection:
        link, _ = await family.request_link(
            connection, _ACTOR, id=uuid.uuid4(), person_id=child, relative_id=elder, relation="parent"
        )
    return link.id


async def _verify_link(w: World, o: Person) -> Request:
    return "POST", f"/v1/family-links/{await _link(w, o)}/verify", None, None


async def _end_membership(w: World, o: Person) -> Request:
    person = await _person(w, o.community_id)
    async with bound(w.database.pool, EVERY_COMMUNITY) as connection:
        membership, _ = await people.join(
            connection, _ACTOR, o.community_id,
            people.NewMembership(id=uuid.uuid4(), person_id=person, kind="volunteer"),
        )  # fmt: skip
    return "POST", f"/v1/memberships/{membership.id}/end", {}, None


async def _revoke_grant(w: World, o: Person) -> Request:
    grant_id = uuid.uuid4()
    async with bound(w.database.pool, EVERY_COMMUNITY) as connection:
        await connection.execute(
            "INSERT INTO role_grant (id, person_id, role, scope_kind, scope_id, community_id) "
            "VALUES ($1, $2, 'team_leader', 'team', $3, $4)",
            grant_id, await _person(w, o.community_id), await w.org.team(o.community_id), o.community_id,
        )  # fmt: skip
    return "POST", f"/v1/role-grants/{grant_id}/revoke", None, None


async def _dual_registration(w: World, o: Person) -> Request:
    body = {"id": _new(), "community_id": str(o.community_id), "unit_id": str(await w.org.unit(o.community_id))}
    return "POST", "/v1/me/dual-registrations", body, None


BUILDERS = {
    "community.list": _list,
    "community.create": _create,
    "community.places.read": _in_community("places"),
    "community.places.write": _in_community("places", "POST", {"id": None, "kind": "compound", "name": None}),
    "community.teams.read": _in_community("teams"),
    "community.teams.write": _in_community("teams", "POST", {"id": None, "name": None}),
    "community.units.read": _in_community("partner-units"),
    "community.units.write": _agreement,
    "community.people.list": _in_community("people"),
    "community.people.write": _register,
    "community.memberships.write": _membership,
    "community.grants.write": _grant,
    "community.audit.read": _in_community("audit"),
    "community.person.read": _read_person,
    "community.family.request": _request_link,
    "community.family.verify": _verify_link,
    "community.membership.end": _end_membership,
    "community.grant.revoke": _revoke_grant,
    "community.dual_registration": _dual_registration,
}
