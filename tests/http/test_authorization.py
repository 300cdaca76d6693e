"""Every endpoint × every role, against an explicit table of what each may do.

The test walks the app's routes (not a list kept by hand): a route whose action has no policy rule fails, and so
does a non-public route missing from the table. The ledger's and the login API's rows are here; other capabilities
add theirs as modules of tests/http/authz/ (see its docstring), which is also where actions still awaiting a rule
or their rows are named. Each role acts on three rows: its own (``mine``), a neighbour's
in the same community (``theirs``), and a row of a community on another street (``foreign``), which must answer
404, never 403, to anyone who could act there if it were theirs. System accounts and anonymous callers have no
rows of their own; for them ``mine`` is the neighbour's row.

Fixture data is built in SQL (tests/auth_support.py) and with the ledger service, once for the module.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute

from tests.auth_support import SYSTEM, Org, Person, headers_for
from tests.http.authz import case_modules
from timebank.access.principal import Principal, Role
from timebank.access.rules import POLICY
from timebank.db import Database
from timebank.http.auth import action_of
from timebank.ledger import AccountFlags, Asset, LedgerService, NewAccount, Result, Transfer

ROLES = [
    "resident", "volunteer", "team_leader", "grid_worker", "branch_secretary", "community_staff", "partner_admin",
    "street_admin", "auditor", "system", "anonymous",
]  # fmt: skip
CASES = ("mine", "theirs", "foreign")

# What each role gets for (mine, theirs, foreign): "ok" is any 2xx.
_READ_OWN = "ok 403 404"
_READ_COMMUNITY = "ok ok 404"
_DENIED = "403 403 403"
_ANYWHERE = "ok ok ok"
_ANONYMOUS = "401 401 401"


def _reads() -> dict[str, str]:
    return {
        **dict.fromkeys(ROLES, _READ_OWN),
        "community_staff": _READ_COMMUNITY,
        "auditor": _READ_COMMUNITY,
        "system": _ANYWHERE,
        "anonymous": _ANONYMOUS,
    }


def _staff_writes() -> dict[str, str]:
    return {
        **dict.fromkeys(ROLES, _DENIED),
        "community_staff": _READ_COMMUNITY,
        "system": _ANYWHERE,
        "anonymous": _ANONYMOUS,
    }


EXPECTED: dict[str, dict[str, str]] = {
    # ledger: residents read their own; staff and auditors their community's; only staff and system write.
    "GetAccount": _reads(),
    "GetStatement": _reads(),
    "GetBalanceAt": _reads(),
    "ListAccountsOfOwner": _reads(),
    "GetTransfer": _reads(),
    "OpenAccounts": _staff_writes(),
    "CloseAccount": _staff_writes(),
    "CreateTransfer": _staff_writes(),
    "CreateTransfers": _staff_writes(),
    "ReverseTransfer": _staff_writes(),
    # auth
    "auth.me": {**dict.fromkeys(ROLES, _ANYWHERE), "anonymous": _ANONYMOUS},
    "auth.invitation.create": _staff_writes(),
}


@dataclass
class World:
    """Two communities on one street (home, sibling) and one on another street (foreign)."""

    database: Database
    org: Org
    home: uuid.UUID
    sibling: uuid.UUID
    foreign: uuid.UUID
    callers: dict[str, Person | Principal | None] = field(default_factory=dict)
    neighbour: Person | None = None
    stranger: Person | None = None
    issuance: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)
    account: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)
    transfer: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)
    ledger: LedgerService | None = None

    async def open(self, community: uuid.UUID, owner: uuid.UUID | None) -> uuid.UUID:
        assert self.ledger is not None
        account = NewAccount(
            id=uuid.uuid4(), community_id=community, asset=Asset.points, label=uuid.uuid4().hex[:12],
            **({"owner_kind": "person", "owner_id": owner, "flags": AccountFlags.debits_must_not_exceed_credits}
               if owner else {"system_role": "issuance"}),
        )  # fmt: skip
        await self.ledger.open_accounts([account])
        return account.id

    async def earn(self, community: uuid.UUID, account: uuid.UUID, amount: int = 10) -> uuid.UUID:
        assert self.ledger is not None
        transfer_id = uuid.uuid4()
        [result] = await self.ledger.create_transfers(
            [Transfer(id=transfer_id, debit_account_id=self.issuance[community], credit_account_id=account,
                      amount=amount, code=1)]
        )  # fmt: skip
        assert result is Result.ok
        return transfer_id


@pytest.fixture(name="world", scope="module")
async def fx_world(database: Database) -> World:
    org = Org(database.pool)
    street = await org.street()
    home, sibling = await org.community(street), await org.community(street)
    foreign = await org.community()
    world = World(database, org, home, sibling, foreign, ledger=LedgerService(database.pool))
    for community in (home, sibling, foreign):
        world.issuance[community] = await world.open(community, None)
    for role in Role:
        if role is not Role.system:
            world.callers[role.value] = await org.person(home, *(() if role is Role.resident else (role,)))
    world.callers["system"] = SYSTEM
    world.callers["anonymous"] = None
    world.neighbour = await org.person(home)
    world.stranger = await org.person(foreign)
    for who in [*world.callers.values(), world.neighbour, world.stranger]:
        if isinstance(who, Person):
            world.account[who.id] = await world.open(who.community_id, who.id)
            world.transfer[who.id] = await world.earn(who.community_id, world.account[who.id])
    return world


def _owner(world: World, role: str, case: str) -> Person:
    """Whose row a case acts on."""
    caller = world.callers[role]
    if case == "mine" and isinstance(caller, Person):
        return caller
    chosen = world.stranger if case == "foreign" else world.neighbour
    assert chosen is not None
    return chosen


Request = tuple[str, str, dict[str, Any] | None, dict[str, str] | None]
Builder = Callable[[World, Person], Awaitable[Request]]


def _transfer_body(world: World, owner: Person) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "debit_account_id": str(world.issuance[owner.community_id]),
        "credit_account_id": str(world.account[owner.id]),
        "amount": 1,
        "code": 1,
    }


async def _get_account(w: World, o: Person) -> Request:
    return "GET", f"/v1/ledger/accounts/{w.account[o.id]}", None, None


async def _statement(w: World, o: Person) -> Request:
    return "GET", f"/v1/ledger/accounts/{w.account[o.id]}/statement", None, None


async def _balance(w: World, o: Person) -> Request:
    return "GET", f"/v1/ledger/accounts/{w.account[o.id]}/balance", None, {"at": datetime.now(UTC).isoformat()}


async def _list(w: World, o: Person) -> Request:
    query = {"community_id": str(o.community_id), "owner_kind": "person", "owner_id": str(o.id)}
    return "GET", "/v1/ledger/accounts", None, query


async def _get_transfer(w: World, o: Person) -> Request:
    return "GET", f"/v1/ledger/transfers/{w.transfer[o.id]}", None, None


async def _open_accounts(w: World, o: Person) -> Request:
    account = {"id": str(uuid.uuid4()), "community_id": str(o.community_id), "asset": "time_coins",
               "owner_kind": "person", "owner_id": str(o.id), "label": uuid.uuid4().hex[:12]}  # fmt: skip
    return "POST", "/v1/ledger/accounts", {"accounts": [account]}, None


async def _close(w: World, o: Person) -> Request:
    return "POST", f"/v1/ledger/accounts/{await w.open(o.community_id, o.id)}/close", None, None


async def _create_transfer(w: World, o: Person) -> Request:
    return "POST", "/v1/ledger/transfer", _transfer_body(w, o), None


async def _create_transfers(w: World, o: Person) -> Request:
    return "POST", "/v1/ledger/transfers", {"transfers": [_transfer_body(w, o)]}, None


async def _reverse(w: World, o: Person) -> Request:
    transfer_id = await w.earn(o.community_id, w.account[o.id])
    return "POST", f"/v1/ledger/transfers/{transfer_id}/reverse", {"reversal_id": str(uuid.uuid4())}, None


async def _me(w: World, o: Person) -> Request:
    return "GET", "/v1/auth/me", None, None


async def _invite(w: World, o: Person) -> Request:
    return "POST", "/v1/auth/invitations", {"person_id": str(o.id)}, None


BUILDERS: dict[str, Builder] = {
    "GetAccount": _get_account,
    "GetStatement": _statement,
    "GetBalanceAt": _balance,
    "ListAccountsOfOwner": _list,
    "GetTransfer": _get_transfer,
    "OpenAccounts": _open_accounts,
    "CloseAccount": _close,
    "CreateTransfer": _create_transfer,
    "CreateTransfers": _create_transfers,
    "ReverseTransfer": _reverse,
    "auth.me": _me,
    "auth.invitation.create": _invite,
}


AWAITING_RULES: frozenset[str] = frozenset()
AWAITING_MATRIX: frozenset[str] = frozenset()
for _module in case_modules():
    EXPECTED.update(getattr(_module, "EXPECTED", {}))
    BUILDERS.update(getattr(_module, "BUILDERS", {}))
    AWAITING_RULES |= getattr(_module, "AWAITING_RULES", frozenset())
    AWAITING_MATRIX |= getattr(_module, "AWAITING_MATRIX", frozenset())


def _api_routes(app: Litestar) -> list[tuple[str, str, str | None]]:
    """(method, path template, action) of every API route the app serves."""
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or not route.path.startswith("/v1"):
            continue
        for handler in route.route_handlers:
            # Litestar adds an OPTIONS handler to every path by itself; the guard refuses it (no rule), as it should.
            for method in sorted(handler.http_methods - {"OPTIONS"}):
                found.append((method, route.path, action_of(handler)))
    return found


def test_every_route_has_a_rule_and_an_expectation(app: Litestar) -> None:
    routes = _api_routes(app)
    assert routes
    without_rule = [(m, p, a) for m, p, a in routes if POLICY.rule_for(a) is None and a not in AWAITING_RULES]
    assert not without_rule, f"routes with no access rule (add one in timebank/access/rules/): {without_rule}"
    ruled = AWAITING_RULES & set(POLICY.rules)
    assert not ruled, f"these actions have rules now: move them from AWAITING_RULES into EXPECTED: {ruled}"
    guarded = {a for _, _, a in routes if a is not None and a in POLICY.rules and not POLICY.rules[a].public}
    assert guarded - EXPECTED.keys() - AWAITING_MATRIX == set(), "add these actions' rows (tests/http/authz/)"
    assert EXPECTED.keys() - guarded == set(), "EXPECTED names actions no route performs"
    assert EXPECTED.keys() == BUILDERS.keys()
    written = AWAITING_MATRIX & EXPECTED.keys()
    assert not written, f"these actions have rows now: take them out of AWAITING_MATRIX: {written}"
    public = {a for _, _, a in routes if a in POLICY.rules and POLICY.rules[a].public}
    assert public == {"auth.login", "auth.wechat", "auth.phone_challenge", "auth.refresh", "auth.logout"}


async def test_actions_awaiting_rules_are_refused_to_everyone(app: Litestar, client: httpx.AsyncClient) -> None:
    awaiting = [(m, p) for m, p, a in _api_routes(app) if a in AWAITING_RULES]
    assert {a for _, _, a in _api_routes(app) if a in AWAITING_RULES} == AWAITING_RULES
    for method, template in awaiting:
        path = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), template)
        body = {} if method == "POST" else None
        response = await client.request(method, path, json=body, headers=headers_for(SYSTEM))
        assert response.status_code == 403, (method, path, response.text)
        assert response.json()["detail"] == "this endpoint has no access rule"


def _matches(template: str, method: str, path: str, routes: list[tuple[str, str, str | None]], action: str) -> bool:
    for route_method, route_path, route_action in routes:
        if route_action == action and route_method == method:
            pattern = re.sub(r"\{[^}]+\}", "[^/]+", route_path)
            if re.fullmatch(pattern, path):
                return True
    return False


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", sorted(EXPECTED))
async def test_endpoint_by_role(app: Litestar, client: httpx.AsyncClient, world: World, action: str, role: str) -> None:
    routes = _api_routes(app)
    expected = dict(zip(CASES, EXPECTED[action][role].split(), strict=True))
    caller = world.callers[role]
    got = {}
    for case in CASES:
        method, path, body, query = await BUILDERS[action](world, _owner(world, role, case))
        assert _matches(action, method, path, routes, action), f"{method} {path} is not the route of {action}"
        response = await client.request(method, path, json=body, params=query, headers=headers_for(caller))
        got[case] = "ok" if response.is_success else str(response.status_code)
        if not response.is_success:
            assert response.headers["content-type"] == "application/problem+json"
        assert response.status_code < 500, response.text
    assert got == expected, f"{role} on {action}"


async def test_partner_admin_reads_the_units_accounts(client: httpx.AsyncClient, org: Org, world: World) -> None:
    admin = world.callers["partner_admin"]
    assert isinstance(admin, Person)
    [unit] = [g.scope_id for g in admin.principal.grants if g.role is Role.partner_admin]
    other_unit = await org.unit(world.home)
    assert world.ledger is not None
    ours, theirs = (
        NewAccount(id=uuid.uuid4(), community_id=world.home, asset=Asset.points, owner_kind="unit", owner_id=u)
        for u in (unit, other_unit)
    )
    await world.ledger.open_accounts([ours, theirs])
    assert (await client.get(f"/v1/ledger/accounts/{ours.id}", headers=headers_for(admin))).status_code == 200
    assert (await client.get(f"/v1/ledger/accounts/{theirs.id}", headers=headers_for(admin))).status_code == 403


async def test_street_grants_reach_every_community_of_the_street(client: httpx.AsyncClient, world: World) -> None:
    account = await world.open(world.sibling, uuid.uuid4())
    auditor, staff = world.callers["auditor"], world.callers["community_staff"]
    assert (await client.get(f"/v1/ledger/accounts/{account}", headers=headers_for(auditor))).status_code == 200
    # Staff of the home community do not see the sibling community at all.
    assert (await client.get(f"/v1/ledger/accounts/{account}", headers=headers_for(staff))).status_code == 404


async def test_foreign_rows_read_exactly_like_missing_ones(client: httpx.AsyncClient, world: World) -> None:
    assert world.stranger is not None
    staff = headers_for(world.callers["community_staff"])
    foreign = await client.get(f"/v1/ledger/accounts/{world.account[world.stranger.id]}", headers=staff)
    missing_id = uuid.uuid4()
    missing = await client.get(f"/v1/ledger/accounts/{missing_id}", headers=staff)
    assert foreign.status_code == missing.status_code == 404
    strip = ("instance", "request_id", "account_id")
    assert {k: v for k, v in foreign.json().items() if k not in strip} == {
        k: v for k, v in missing.json().items() if k not in strip
    }


async def test_a_batch_naming_a_foreign_account_is_404_and_writes_nothing(
    client: httpx.AsyncClient, world: World
) -> None:
    assert world.stranger is not None
    assert world.neighbour is not None
    staff = headers_for(world.callers["community_staff"])
    ok = _transfer_body(world, world.neighbour)
    sneaky = {**_transfer_body(world, world.neighbour), "credit_account_id": str(world.account[world.stranger.id])}
    response = await client.post("/v1/ledger/transfers", json={"transfers": [ok, sneaky]}, headers=staff)
    assert response.status_code == 404
    written = await client.get(f"/v1/ledger/transfers/{ok['id']}", headers=headers_for(SYSTEM))
    assert written.status_code == 404


async def test_resolver_validation_matches_the_handlers(client: httpx.AsyncClient, world: World) -> None:
    staff = headers_for(world.callers["community_staff"])
    bad = await client.get("/v1/ledger/accounts", params={"community_id": "nope"}, headers=staff)
    assert bad.status_code == 400
    assert bad.json()["field"] == "community_id"
    not_json = await client.post(
        "/v1/ledger/transfer", content=b"{", headers={**staff, "content-type": "application/json"}
    )
    assert not_json.status_code == 400
    wrong_type = await client.post("/v1/ledger/transfer", json={"id": 1, "debit_account_id": 7}, headers=staff)
    assert wrong_type.status_code == 400
    assert wrong_type.json()["field"] == "debit_account_id"
