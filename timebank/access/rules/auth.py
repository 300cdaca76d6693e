"""Who may use the login API: logging in, refreshing and logging out need no access token (the credential is in
the body); "who am I" needs any; invitations are made by community staff for people of their community."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg
import msgspec

from timebank.access.policy import Lookup, Rule, Scope, Target, allow, not_found
from timebank.access.principal import Role

__all__ = ["RULES"]


class _PersonRef(msgspec.Struct):
    person_id: uuid.UUID


async def _person_in_body(lookup: Lookup, connection: asyncpg.Connection) -> Sequence[Target]:
    person_id = (await lookup.body(_PersonRef)).person_id
    # Row-level security: a person of a community the caller cannot see is not found.
    community_id = await connection.fetchval("SELECT community_id FROM person WHERE id = $1", person_id)
    if community_id is None:
        raise not_found("no such person", person_id=str(person_id))
    return [Target(community_id, frozenset({person_id}), missing="no such person", ref={"person_id": str(person_id)})]


RULES = (
    Rule(("auth.login", "auth.wechat", "auth.phone_challenge", "auth.refresh", "auth.logout"), public=True),
    Rule(("auth.me",), authenticated=True),
    Rule(
        ("auth.invitation.create",),
        allow=(*allow(Role.community_staff, within=Scope.community), *allow(Role.system, within=Scope.system)),
        target=_person_in_body,
    ),
)
