"""The access policy: one decision for every endpoint, from rules each capability declares.

A route names its *action*: ``opt={"action": "community.people.list"}`` on the handler, or, for handlers that name
none, their operation id (``GetAccount``). A :class:`Rule` says, for one or more actions, which roles may act and
within which scope, and how to find the *target* of a request (a resolver that reads the path, query or body and
loads the row's community and owner). The decision, in order:

1. no rule for the action: refused (fail closed; a test proves every route has one);
2. ``public`` rules need no principal; every other rule needs one (else 401);
3. the principal holds none of the rule's roles: 403, whatever the target (so nothing about it leaks);
4. a target in a community the principal cannot see, or a row that is not there: 404 (existence is not leaked);
5. some grant reaches every target at the rule's scope: allowed; otherwise 403.

Scopes, from the narrowest: ``self`` (the target belongs to the principal's person), ``team``/``grid``/``branch``/
``unit`` (the target lies in the team, grid, branch or unit the grant names), ``community`` (the target's community
is the grant's, or one of its street's), ``street`` (a street grant's communities), ``system`` (anything).

Capabilities add rules as modules of :mod:`timebank.access.rules` exporting ``RULES``; they are collected there.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, TypeVar

import asyncpg

from timebank.access.principal import Grant, Principal, Role, ScopeKind
from timebank.errors import Forbidden, NotFound

__all__ = [
    "Allow",
    "Decision",
    "Lookup",
    "Policy",
    "Resolver",
    "Rule",
    "Scope",
    "Target",
    "allow",
    "not_found",
    "permits",
]

T = TypeVar("T")


class Scope(StrEnum):
    """How far from the target a grant may be and still act on it."""

    self = "self"
    team = "team"
    grid = "grid"
    branch = "branch"
    unit = "unit"
    community = "community"
    street = "street"
    system = "system"


_PLACE_SCOPES = {
    Scope.team: ScopeKind.team,
    Scope.grid: ScopeKind.grid,
    Scope.branch: ScopeKind.branch,
    Scope.unit: ScopeKind.unit,
}


@dataclass(frozen=True, slots=True)
class Allow:
    """``role`` may act on targets within ``within`` of one of its grants."""

    role: Role
    within: Scope


def allow(*roles: Role, within: Scope) -> tuple[Allow, ...]:
    return tuple(Allow(role, within) for role in roles)


@dataclass(frozen=True, slots=True)
class Target:
    """What a request acts on: the community its row lives in, the people it belongs to (an account's owner, both
    sides of a transfer), and the teams, grids, branches or units it lies in (as ``(ScopeKind, id)`` pairs).

    ``community_id`` None means the target belongs to no community (only ``self`` and ``system`` reach it).
    ``missing`` and ``ref`` say what a caller who cannot see the target is told: exactly what they would be told if
    it did not exist (the resolver raises :func:`not_found` with the same words for a row that is not there).
    """

    community_id: uuid.UUID | None
    people: frozenset[uuid.UUID] = frozenset()
    places: frozenset[tuple[ScopeKind, uuid.UUID]] = frozenset()
    missing: str = "not found"
    ref: Mapping[str, str] = field(default_factory=dict)


def not_found(missing: str, **ref: str) -> NotFound:
    """The error for a target that is not there or not visible; the two must read the same."""
    return NotFound(missing, **ref)


class Lookup(Protocol):
    """What a resolver may read of the request. Malformed values fail as the handler itself would fail them (400)."""

    def path(self, name: str) -> Any:
        """A path parameter, already converted to its declared type."""
        ...

    def query(self, name: str, type_: type[T]) -> T | None:
        """A query parameter converted to ``type_``; None when absent."""
        ...

    def required_query(self, name: str, type_: type[T]) -> T:
        """A query parameter converted to ``type_``; absent fails as the handler would (400)."""
        ...

    async def body(self, type_: type[T]) -> T:
        """The JSON body decoded as ``type_`` (a Struct naming just the fields the resolver needs)."""
        ...


#: Loads the targets of a request on a connection bound to the principal's communities (row-level security on).
Resolver = Callable[[Lookup, asyncpg.Connection], Awaitable[Sequence[Target]]]


@dataclass(frozen=True, slots=True)
class Rule:
    """Who may perform ``actions``.

    Args:
        actions: the action names (or operation ids) this rule decides.
        allow: the roles that may act, each within a scope.
        target: loads what the request acts on; None for actions with no target (then holding a role suffices).
        public: anyone may call, without a token (login endpoints).
        authenticated: any principal may call (e.g. "who am I").
    """

    actions: tuple[str, ...]
    allow: tuple[Allow, ...] = ()
    target: Resolver | None = None
    public: bool = False
    authenticated: bool = False

    def __post_init__(self) -> None:
        if not self.actions:
            raise ValueError("a rule names at least one action")
        if sum((self.public, self.authenticated, bool(self.allow))) != 1:
            raise ValueError(f"rule {self.actions}: exactly one of public, authenticated or allow")

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(a.role for a in self.allow)


@dataclass(frozen=True, slots=True)
class Decision:
    """An allowed request: which rule allowed it and the targets it was checked against."""

    rule: Rule
    targets: Sequence[Target] = field(default_factory=tuple)


def _reaches(grant: Grant, principal: Principal, within: Scope, target: Target) -> bool:
    match within:
        case Scope.system:
            return True
        case Scope.self:
            return principal.person_id is not None and principal.person_id in target.people
        case Scope.community:
            return target.community_id is not None and target.community_id in grant.reach
        case Scope.street:
            return grant.scope_kind is ScopeKind.street and target.community_id in grant.communities
        case _:
            kind = _PLACE_SCOPES[within]
            return grant.scope_kind is kind and (kind, grant.scope_id) in target.places


def permits(rule: Rule, principal: Principal, target: Target) -> bool:
    """Whether some grant of the principal reaches ``target`` as one of the rule's allowances says."""
    return any(
        grant.role is allowance.role and _reaches(grant, principal, allowance.within, target)
        for allowance in rule.allow
        for grant in principal.grants
    )


class Policy:
    """Every rule, by action. Built once from :mod:`timebank.access.rules`."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self._rules: dict[str, Rule] = {}
        for rule in rules:
            for action in rule.actions:
                if action in self._rules:
                    raise ValueError(f"two rules for action {action!r}")
                self._rules[action] = rule

    @property
    def rules(self) -> Mapping[str, Rule]:
        return self._rules

    def rule_for(self, action: str | None) -> Rule | None:
        return None if action is None else self._rules.get(action)

    async def authorize(
        self,
        rule: Rule,
        principal: Principal,
        lookup: Lookup,
        connect: Callable[[Principal], AbstractAsyncContextManager[asyncpg.Connection]],
    ) -> Decision:
        """Decide a request for an authenticated ``principal`` (public rules never get here).

        Args:
            rule: the action's rule.
            principal: the caller.
            lookup: the request, for the resolver.
            connect: opens a transaction bound to the principal's communities (an async context manager).

        Raises:
            Forbidden: the principal may not perform the action (on this target).
            NotFound: the target is not there, or lies in a community the principal cannot see.
        """
        if rule.authenticated:
            return Decision(rule)
        held = principal.roles & rule.roles
        if not held:
            raise Forbidden("your roles do not allow this", action=rule.actions[0])
        if Role.system in held:
            # Reaches everything: no need to load the target.
            return Decision(rule)
        if rule.target is None:
            return Decision(rule)
        async with connect(principal) as connection:
            targets = await rule.target(lookup, connection)
        for target in targets:
            if target.community_id is not None and not principal.sees(target.community_id):
                raise not_found(target.missing, **target.ref)
        if not all(permits(rule, principal, target) for target in targets):
            raise Forbidden("your roles do not allow this here", action=rule.actions[0])
        return Decision(rule, targets)
