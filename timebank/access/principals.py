"""Loading a person's principal from the database: their active grants and the communities they may see."""

from __future__ import annotations

import uuid

import asyncpg

from timebank.access.principal import Grant, Principal, Role, ScopeKind
from timebank.db import EVERY_COMMUNITY, bound
from timebank.errors import NotFound

__all__ = ["load_principal", "principal_of"]


async def load_principal(pool: asyncpg.Pool, person_id: uuid.UUID) -> Principal:
    """The principal of ``person_id``, read in a system transaction of its own.

    Raises:
        NotFound: no such person.
    """
    async with bound(pool, EVERY_COMMUNITY) as connection:
        return await principal_of(connection, person_id)


async def principal_of(connection: asyncpg.Connection, person_id: uuid.UUID) -> Principal:
    """The principal of ``person_id`` on a connection bound to every community (a login or refresh transaction).

    Every person is a ``resident`` of their home community (scope: themselves). Street grants reach every community
    of their street. The principal sees its home, the communities of its grants and memberships (a dual-registered
    party member sees both of their communities), and every community of a street it holds a grant on.

    Raises:
        NotFound: no such person.
    """
    home = await connection.fetchval("SELECT community_id FROM person WHERE id = $1", person_id)
    if home is None:
        raise NotFound("no such person", person_id=str(person_id))
    rows = await connection.fetch(
        """
        SELECT g.role, g.scope_kind, g.scope_id, g.community_id,
               coalesce(array_agg(c.id ORDER BY c.id) FILTER (WHERE c.id IS NOT NULL), '{}') AS street_communities
        FROM role_grant g
        LEFT JOIN community c ON g.scope_kind = 'street' AND c.street_id = g.scope_id
        WHERE g.person_id = $1 AND g.revoked_at IS NULL
        GROUP BY g.id
        """,
        person_id,
    )
    grants = {Grant(Role.resident, ScopeKind.self, person_id, home)}
    for row in rows:
        grants.add(
            Grant(
                Role(row["role"]),
                ScopeKind(row["scope_kind"]),
                row["scope_id"],
                row["community_id"],
                frozenset(row["street_communities"]),
            )
        )
    memberships = await connection.fetch(
        "SELECT DISTINCT community_id FROM membership WHERE person_id = $1 AND left_on IS NULL", person_id
    )
    communities = {home, *(row["community_id"] for row in memberships)}
    for grant in grants:
        communities.update(grant.reach)
    return Principal(
        subject=str(person_id),
        person_id=person_id,
        home_community_id=home,
        grants=tuple(sorted(grants, key=lambda g: (g.role.value, g.scope_kind.value, str(g.scope_id)))),
        communities=frozenset(communities),
    )
