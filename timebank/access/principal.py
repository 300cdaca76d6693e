"""The authenticated caller of a request: a person (or a service) and the roles they hold, each within a scope."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ["Grant", "Principal", "Role", "ScopeKind"]


class Role(StrEnum):
    resident = "resident"
    volunteer = "volunteer"
    team_leader = "team_leader"
    grid_worker = "grid_worker"
    branch_secretary = "branch_secretary"
    community_staff = "community_staff"
    partner_admin = "partner_admin"
    street_admin = "street_admin"
    auditor = "auditor"
    #: Service accounts and jobs minted by ``timebank token --system``: every community, every action.
    system = "system"


class ScopeKind(StrEnum):
    self = "self"
    team = "team"
    grid = "grid"
    branch = "branch"
    community = "community"
    unit = "unit"
    street = "street"


@dataclass(frozen=True, slots=True)
class Grant:
    """One role within one scope. ``community_id`` is where the scope lies (None for a street)."""

    role: Role
    scope_kind: ScopeKind
    scope_id: uuid.UUID
    community_id: uuid.UUID | None


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request acts for.

    ``communities`` are the communities the principal may see at all (its home, the communities of its grants, and
    every community of a street it administers); everything outside them does not exist for it.
    """

    subject: str
    person_id: uuid.UUID | None
    home_community_id: uuid.UUID | None
    grants: tuple[Grant, ...] = ()
    communities: frozenset[uuid.UUID] = field(default_factory=frozenset)

    @property
    def is_system(self) -> bool:
        return any(grant.role is Role.system for grant in self.grants)

    def holds(self, role: Role, *, community_id: uuid.UUID | None = None, scope_id: uuid.UUID | None = None) -> bool:
        """Whether a grant of ``role`` covers the given community (or exact scope)."""
        for grant in self.grants:
            if grant.role is not role:
                continue
            if scope_id is not None and grant.scope_id != scope_id:
                continue
            if (
                community_id is not None
                and grant.scope_kind is not ScopeKind.street
                and grant.community_id != community_id
            ):
                continue
            if (
                community_id is not None
                and grant.scope_kind is ScopeKind.street
                and community_id not in self.communities
            ):
                continue
            return True
        return False
