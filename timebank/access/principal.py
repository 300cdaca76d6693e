"""The authenticated caller of a request: a person (or a service) and the roles they hold, each within a scope."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ["NO_SCOPE", "Grant", "Principal", "Role", "ScopeKind"]

#: The scope id of grants that have no place (a service account's ``system`` grant).
NO_SCOPE = uuid.UUID(int=0)


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
    #: Only for ``Role.system``: service accounts, never stored in ``role_grant``.
    system = "system"


@dataclass(frozen=True, slots=True)
class Grant:
    """One role within one scope. ``community_id`` is where the scope lies (None for a street).

    ``communities`` lists, for a street grant, the communities of that street (what the grant reaches).
    """

    role: Role
    scope_kind: ScopeKind
    scope_id: uuid.UUID
    community_id: uuid.UUID | None
    communities: frozenset[uuid.UUID] = frozenset()

    @property
    def reach(self) -> frozenset[uuid.UUID]:
        """The communities this grant acts in: its own, or every community of its street."""
        if self.scope_kind is ScopeKind.street:
            return self.communities
        return frozenset() if self.community_id is None else frozenset((self.community_id,))


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

    @classmethod
    def system(cls, name: str) -> Principal:
        """A service account (``timebank token --system NAME``): every community, every action."""
        return cls(
            subject=f"system:{name}",
            person_id=None,
            home_community_id=None,
            grants=(Grant(Role.system, ScopeKind.system, NO_SCOPE, None),),
        )

    @property
    def is_system(self) -> bool:
        return any(grant.role is Role.system for grant in self.grants)

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(grant.role for grant in self.grants)

    def sees(self, community_id: uuid.UUID) -> bool:
        """Whether rows of ``community_id`` exist for this principal at all."""
        return self.is_system or community_id in self.communities

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
