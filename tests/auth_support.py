"""Helpers for tests that act as someone: build people with grants in SQL, and sign their access tokens.

    org = Org(database.pool)                       # or the ``org`` fixture
    community = await org.community()
    staff = await org.person(community, Role.community_staff)
    await client.get(url, headers=headers_for(staff))
    await client.get(url, headers=headers_for(SYSTEM))

Tokens are signed with the key of the test settings (``TEST_SECRET_KEY``), so the app under test accepts them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import asyncpg

from timebank.access.principal import Principal, Role, ScopeKind
from timebank.access.principals import load_principal
from timebank.access.rules import POLICY
from timebank.access.service import AccessService
from timebank.access.tokens import AccessTokens
from timebank.db import EVERY_COMMUNITY, bound
from timebank.keys import load_keys
from timebank.settings import Secret, Settings

__all__ = [
    "SYSTEM",
    "TEST_SECRET_KEY",
    "Org",
    "Person",
    "access_service",
    "app_settings",
    "headers_for",
    "token_for",
    "token_signed_for",
]

TEST_SECRET_KEY = "timebank-test-secret-key-0123456789abcdef"

#: A service account: every community, every action.
SYSTEM = Principal.system("tests")

#: The scope each role is granted on when a test names only the role.
DEFAULT_SCOPE: dict[Role, ScopeKind] = {
    Role.resident: ScopeKind.self,
    Role.volunteer: ScopeKind.community,
    Role.team_leader: ScopeKind.team,
    Role.grid_worker: ScopeKind.grid,
    Role.branch_secretary: ScopeKind.branch,
    Role.community_staff: ScopeKind.community,
    Role.partner_admin: ScopeKind.unit,
    Role.street_admin: ScopeKind.street,
    Role.auditor: ScopeKind.street,
}


def app_settings(**overrides: object) -> Settings:
    """Settings for an app under test: quiet logs, the test signing key, the development WeChat provider."""
    values: dict[str, object] = {"log_format": "json", "log_level": "warning", "secret_key": Secret(TEST_SECRET_KEY)}
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


_TOKENS = AccessTokens(lambda: load_keys(app_settings()).token_signing, lifetime=timedelta(minutes=15))


@dataclass(frozen=True, slots=True)
class Person:
    """A person made by :meth:`Org.person`, with the principal the service would load for them."""

    id: uuid.UUID
    community_id: uuid.UUID
    principal: Principal
    phone: str | None = None


def token_for(who: Principal | Person, *, lifetime: timedelta | None = None) -> str:
    principal = who.principal if isinstance(who, Person) else who
    return _TOKENS.issue(principal, lifetime=lifetime).token


def token_signed_for(settings: Settings, who: Principal | Person, *, lifetime: timedelta | None = None) -> str:
    """A token that a service started with ``settings`` accepts (e.g. a ``timebank serve`` subprocess whose key is
    generated in its data directory: calling this first creates the key there, and the service finds it)."""
    principal = who.principal if isinstance(who, Person) else who
    tokens = AccessTokens(lambda: load_keys(settings).token_signing, lifetime=timedelta(minutes=15))
    return tokens.issue(principal, lifetime=lifetime).token


def headers_for(who: Principal | Person | None) -> dict[str, str]:
    """The Authorization header acting as ``who`` (no header for None: anonymous)."""
    if who is None:
        return {}
    return {"Authorization": f"Bearer {token_for(who)}"}


GrantSpec = Role | tuple[Role, uuid.UUID] | tuple[Role, ScopeKind, uuid.UUID]


class Org:
    """Builds organisation rows directly in SQL, in a system transaction (every community)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def _execute(self, sql: str, *args: object) -> None:
        async with bound(self.pool, EVERY_COMMUNITY) as connection:
            await connection.execute(sql, *args)

    async def street(self) -> uuid.UUID:
        street_id = uuid.uuid4()
        await self._execute(
            "INSERT INTO street (id, code, name) VALUES ($1, $2, $3)", street_id, street_id.hex, "测试街道"
        )
        return street_id

    async def community(self, street_id: uuid.UUID | None = None) -> uuid.UUID:
        """A new community (on a new street unless one is given)."""
        street_id = street_id or await self.street()
        community_id = uuid.uuid4()
        await self._execute(
            "INSERT INTO community (id, street_id, code, name) VALUES ($1, $2, $3, $4)",
            community_id,
            street_id,
            community_id.hex,
            f"社区{community_id.hex[:6]}",
        )
        return community_id

    async def street_of(self, community_id: uuid.UUID) -> uuid.UUID:
        async with bound(self.pool, EVERY_COMMUNITY) as connection:
            street_id: uuid.UUID = await connection.fetchval(
                "SELECT street_id FROM community WHERE id = $1", community_id
            )
        return street_id

    async def team(self, community_id: uuid.UUID) -> uuid.UUID:
        team_id = uuid.uuid4()
        await self._execute(
            "INSERT INTO volunteer_team (id, community_id, name) VALUES ($1, $2, $3)",
            team_id,
            community_id,
            f"志愿队{team_id.hex[:6]}",
        )
        return team_id

    async def grid(self, community_id: uuid.UUID) -> uuid.UUID:
        grid_id = uuid.uuid4()
        await self._execute(
            "INSERT INTO grid (id, community_id, name) VALUES ($1, $2, $3)",
            grid_id,
            community_id,
            f"网格{grid_id.hex[:6]}",
        )
        return grid_id

    async def branch(self, community_id: uuid.UUID) -> uuid.UUID:
        """A party branch under the community's committee (made too if missing)."""
        branch_id = uuid.uuid4()
        async with bound(self.pool, EVERY_COMMUNITY) as connection:
            committee = await connection.fetchval(
                "SELECT id FROM party_org WHERE community_id = $1 AND level = 'committee'", community_id
            )
            if committee is None:
                committee = uuid.uuid4()
                await connection.execute(
                    "INSERT INTO party_org (id, community_id, level, name) VALUES ($1, $2, 'committee', '社区党委')",
                    committee,
                    community_id,
                )
            await connection.execute(
                "INSERT INTO party_org (id, community_id, parent_id, level, name) VALUES ($1, $2, $3, 'branch', $4)",
                branch_id,
                community_id,
                committee,
                f"支部{branch_id.hex[:6]}",
            )
        return branch_id

    async def unit(self, community_id: uuid.UUID) -> uuid.UUID:
        unit_id = uuid.uuid4()
        await self._execute(
            "INSERT INTO partner_unit (id, community_id, name) VALUES ($1, $2, $3)",
            unit_id,
            community_id,
            f"共建单位{unit_id.hex[:6]}",
        )
        return unit_id

    async def _default_scope(self, role: Role, community_id: uuid.UUID) -> uuid.UUID:
        """A scope for ``role`` when the test names none: a new team, grid, branch or unit, or the community."""
        match DEFAULT_SCOPE[role]:
            case ScopeKind.team:
                return await self.team(community_id)
            case ScopeKind.grid:
                return await self.grid(community_id)
            case ScopeKind.branch:
                return await self.branch(community_id)
            case ScopeKind.unit:
                return await self.unit(community_id)
            case ScopeKind.street:
                return await self.street_of(community_id)
            case _:
                return community_id

    async def person(
        self, community_id: uuid.UUID, *grants: GrantSpec, phone: str | None = None, name: str = "测试居民"
    ) -> Person:
        """A person living in ``community_id`` holding ``grants`` (in that community, or on its street).

        Each grant is a role (on a new team, grid, branch or unit, the community or its street, as the role
        fits), ``(role, scope_id)``, or ``(role, scope_kind, scope_id)``.
        """
        person_id = uuid.uuid4()
        rows: list[tuple[Role, ScopeKind, uuid.UUID]] = []
        for spec in grants:
            if isinstance(spec, Role):
                rows.append((spec, DEFAULT_SCOPE[spec], await self._default_scope(spec, community_id)))
            elif len(spec) == 2:
                rows.append((spec[0], DEFAULT_SCOPE[spec[0]], spec[1]))
            else:
                rows.append(spec)
        async with bound(self.pool, EVERY_COMMUNITY) as connection:
            await connection.execute(
                "INSERT INTO person (id, community_id, name, phone) VALUES ($1, $2, $3, $4)",
                person_id,
                community_id,
                name,
                phone,
            )
            for role, scope_kind, scope_id in rows:
                if role is Role.resident and scope_kind is ScopeKind.self:
                    scope_id = person_id
                await connection.execute(
                    "INSERT INTO role_grant (id, person_id, role, scope_kind, scope_id, community_id) "
                    "VALUES ($1, $2, $3, $4, $5, $6)",
                    uuid.uuid4(),
                    person_id,
                    role.value,
                    scope_kind.value,
                    scope_id,
                    None if scope_kind is ScopeKind.street else community_id,
                )
        return Person(person_id, community_id, await load_principal(self.pool, person_id), phone)


def access_service(pool: asyncpg.Pool, settings: Settings | None = None) -> AccessService:
    """An AccessService on the test database with the app's settings, e.g. to give someone a password."""
    return AccessService(settings or app_settings(), lambda: pool, policy=POLICY)
