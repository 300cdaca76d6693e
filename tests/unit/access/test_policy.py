"""The policy's decisions, without a database: scopes, 404 before 403, fail closed."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from timebank.access.policy import Policy, Rule, Scope, Target, allow, permits
from timebank.access.principal import Grant, Principal, Role, ScopeKind
from timebank.access.rules import POLICY
from timebank.errors import Forbidden, NotFound

HOME, OTHER, STREET, TEAM, ME, YOU = (uuid.uuid4() for _ in range(6))
LEADER = Grant(Role.team_leader, ScopeKind.team, TEAM, HOME)


def _person(*grants: Grant, communities: frozenset[uuid.UUID] = frozenset({HOME})) -> Principal:
    return Principal(str(ME), ME, HOME, (Grant(Role.resident, ScopeKind.self, ME, HOME), *grants), communities)


RULE = Rule(
    ("thing.read",),
    allow=(
        *allow(Role.resident, within=Scope.self),
        *allow(Role.team_leader, within=Scope.team),
        *allow(Role.community_staff, within=Scope.community),
        *allow(Role.auditor, within=Scope.street),
        *allow(Role.system, within=Scope.system),
    ),
)


@pytest.mark.parametrize(
    ("principal", "target", "allowed"),
    [
        (_person(), Target(HOME, frozenset({ME})), True),
        (_person(), Target(HOME, frozenset({YOU})), False),
        (_person(LEADER), Target(HOME, places=frozenset({(ScopeKind.team, TEAM)})), True),
        (_person(LEADER), Target(HOME, places=frozenset({(ScopeKind.team, uuid.uuid4())})), False),
        (_person(Grant(Role.community_staff, ScopeKind.community, HOME, HOME)), Target(HOME), True),
        (_person(Grant(Role.community_staff, ScopeKind.community, HOME, HOME)), Target(OTHER), False),
        (_person(Grant(Role.auditor, ScopeKind.street, STREET, None, frozenset({HOME, OTHER}))), Target(OTHER), True),
        (Principal.system("x"), Target(OTHER), True),
    ],
)  # fmt: skip
def test_scopes(principal: Principal, target: Target, allowed: bool) -> None:
    assert permits(RULE, principal, target) is allowed


def _rule_with(targets: Sequence[Target]) -> Rule:
    async def resolve(lookup: Any, connection: Any) -> Sequence[Target]:
        return targets

    return Rule(RULE.actions, allow=RULE.allow, target=resolve)


@contextlib.asynccontextmanager
async def _no_database(principal: Principal) -> AsyncIterator[Any]:
    yield None


async def test_invisible_is_404_and_visible_but_not_allowed_is_403() -> None:
    policy = Policy([])
    hidden = _rule_with([Target(OTHER, frozenset({ME}), missing="no such thing", ref={"thing_id": "1"})])
    with pytest.raises(NotFound) as caught:
        await policy.authorize(hidden, _person(), None, _no_database)  # type: ignore[arg-type]
    assert (caught.value.detail, caught.value.fields) == ("no such thing", {"thing_id": "1"})
    with pytest.raises(Forbidden):
        await policy.authorize(_rule_with([Target(HOME, frozenset({YOU}))]), _person(), None, _no_database)  # type: ignore[arg-type]
    await policy.authorize(_rule_with([Target(HOME, frozenset({ME}))]), _person(), None, _no_database)  # type: ignore[arg-type]


async def test_roles_the_rule_never_allows_are_403_before_any_lookup() -> None:
    def explode(principal: Principal) -> Any:
        raise AssertionError("no target should be loaded")

    volunteer = Principal("v", ME, HOME, (Grant(Role.volunteer, ScopeKind.community, HOME, HOME),), frozenset({HOME}))
    with pytest.raises(Forbidden):
        await Policy([]).authorize(_rule_with([Target(OTHER)]), volunteer, None, explode)  # type: ignore[arg-type]
    await Policy([]).authorize(_rule_with([Target(OTHER)]), Principal.system("s"), None, explode)  # type: ignore[arg-type]


def test_rules_are_well_formed_and_unique() -> None:
    with pytest.raises(ValueError, match="two rules"):
        Policy([Rule(("a",), public=True), Rule(("a",), authenticated=True)])
    with pytest.raises(ValueError, match="exactly one"):
        Rule(("a",), public=True, authenticated=True)
    with pytest.raises(ValueError, match="exactly one"):
        Rule(("a",))
    assert POLICY.rule_for("GetAccount") is not None
    assert POLICY.rule_for("NoSuchAction") is None
    assert POLICY.rule_for(None) is None
