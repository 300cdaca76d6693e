"""Who may act for whom on a list item or an order, beyond what the access policy lets a role do at all.

The access policy decides whether a role may call an action; these checks decide whether this caller may do it to
this row (the unit's own resources, the requester's own order, the claimer's own claim).
"""

from __future__ import annotations

import uuid

import asyncpg

from timebank.access.principal import Principal, Role
from timebank.community import family
from timebank.errors import Forbidden

__all__ = [
    "can_dispatch",
    "is_member",
    "is_staff",
    "require",
    "speaks_for_requester",
    "speaks_for_team",
    "speaks_for_unit",
]


def is_staff(principal: Principal, community_id: uuid.UUID) -> bool:
    """Community staff (or a system job) run the lists and the orders; street admins and auditors only read them."""
    return principal.is_system or principal.holds(Role.community_staff, community_id=community_id)


def can_dispatch(principal: Principal, community_id: uuid.UUID) -> bool:
    """Staff and branch secretaries dispatch orders (组织派单) and verify micro-wishes."""
    return is_staff(principal, community_id) or principal.holds(Role.branch_secretary, community_id=community_id)


def speaks_for_unit(principal: Principal, unit_id: uuid.UUID) -> bool:
    return principal.holds(Role.partner_admin, scope_id=unit_id)


async def speaks_for_team(connection: asyncpg.Connection, principal: Principal, team_id: uuid.UUID) -> bool:
    """The team's leader, by grant or by a leader membership."""
    if principal.holds(Role.team_leader, scope_id=team_id):
        return True
    return principal.person_id is not None and bool(
        await connection.fetchval(
            """
            SELECT EXISTS (SELECT 1 FROM membership WHERE person_id = $1 AND team_id = $2 AND kind = 'team_leader'
                           AND left_on IS NULL)
            """,
            principal.person_id,
            team_id,
        )
    )


async def speaks_for_requester(
    connection: asyncpg.Connection, principal: Principal, community_id: uuid.UUID, requester_id: uuid.UUID | None
) -> bool:
    """The requester, a verified lineal relative acting for them, or staff and grid workers as their proxy."""
    if is_staff(principal, community_id) or principal.holds(Role.grid_worker, community_id=community_id):
        return True
    if principal.person_id is None or requester_id is None:
        return False
    if principal.person_id == requester_id:
        return True
    return await family.can_act_for(connection, principal.person_id, requester_id)


async def is_member(connection: asyncpg.Connection, person_id: uuid.UUID, community_id: uuid.UUID) -> bool:
    """Whether the person holds any active membership in the community (so has accounts there)."""
    return bool(
        await connection.fetchval(
            """
            SELECT EXISTS (SELECT 1 FROM membership WHERE person_id = $1 AND community_id = $2 AND left_on IS NULL)
            """,
            person_id,
            community_id,
        )
    )


def require(allowed: bool, detail: str) -> None:
    """Raise Forbidden with ``detail`` unless ``allowed``."""
    if not allowed:
        raise Forbidden(detail)
