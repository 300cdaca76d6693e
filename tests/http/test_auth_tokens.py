"""Sessions: refresh rotation, reuse detection, logout; and every way a bad access token is turned away (401)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest

from tests.auth_support import Org, Person, headers_for, token_for
from timebank.access.principal import Principal, Role
from timebank.db import EVERY_COMMUNITY, Database, bound

PROBLEM = "application/problem+json"


async def _session(client: httpx.AsyncClient, org: Org) -> tuple[Person, dict[str, Any]]:
    """A resident logged in from the mini-app (bound by an invitation)."""
    community = await org.community()
    resident = await org.person(community)
    staff = await org.person(community, Role.community_staff)
    invitation = await client.post(
        "/v1/auth/invitations", json={"person_id": str(resident.id)}, headers=headers_for(staff)
    )
    login = await client.post(
        "/v1/auth/wechat", json={"code": uuid.uuid4().hex, "invitation_code": invitation.json()["code"]}
    )
    assert login.status_code == 200, login.text
    return resident, dict(login.json())


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_refresh_rotates_and_reuse_revokes_the_family(client: httpx.AsyncClient, org: Org) -> None:
    _, first = await _session(client, org)
    second = await client.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200, second.text
    assert second.json()["refresh_token"] != first["refresh_token"]
    assert second.json()["access_token"] != first["access_token"]
    third = await client.post("/v1/auth/refresh", json={"refresh_token": second.json()["refresh_token"]})
    assert third.status_code == 200

    # The first token again: someone kept a copy. The whole family dies, including the newest token.
    reused = await client.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401
    assert reused.json()["type"].endswith("/refresh-token-reused")
    assert reused.json()["field"] == "refresh_token"
    newest = await client.post("/v1/auth/refresh", json={"refresh_token": third.json()["refresh_token"]})
    assert newest.status_code == 401
    assert newest.json()["type"].endswith("/invalid-token")


async def test_refresh_picks_up_new_grants(client: httpx.AsyncClient, org: Org, database: Database) -> None:
    resident, session = await _session(client, org)
    team = await org.team(resident.community_id)
    async with bound(database.pool, EVERY_COMMUNITY) as connection:
        await connection.execute(
            "INSERT INTO role_grant (id, person_id, role, scope_kind, scope_id, community_id) "
            "VALUES ($1, $2, 'team_leader', 'team', $3, $4)",
            uuid.uuid4(), resident.id, team, resident.community_id,
        )  # fmt: skip
    refreshed = await client.post("/v1/auth/refresh", json={"refresh_token": session["refresh_token"]})
    assert {g["role"] for g in refreshed.json()["me"]["grants"]} == {"resident", "team_leader"}


async def test_logout_revokes_the_session(client: httpx.AsyncClient, org: Org) -> None:
    _, session = await _session(client, org)
    rotated = (await client.post("/v1/auth/refresh", json={"refresh_token": session["refresh_token"]})).json()
    out = await client.post("/v1/auth/logout", json={"refresh_token": session["refresh_token"]})
    assert out.status_code == 204
    after = await client.post("/v1/auth/refresh", json={"refresh_token": rotated["refresh_token"]})
    assert after.status_code == 401
    # Logging out twice, or with a token nobody knows, is no error (and tells nothing).
    assert (await client.post("/v1/auth/logout", json={"refresh_token": "nonsense"})).status_code == 204


async def test_unknown_and_expired_refresh_tokens(client: httpx.AsyncClient, org: Org, database_url: str) -> None:
    unknown = await client.post("/v1/auth/refresh", json={"refresh_token": "x" * 43})
    assert unknown.status_code == 401
    assert unknown.json()["field"] == "refresh_token"
    resident, session = await _session(client, org)
    import asyncpg

    owner = await asyncpg.connect(database_url)
    try:
        await owner.execute(
            "UPDATE access_refresh_token SET issued_at = now() - interval '31 days', "
            "expires_at = now() - interval '1 day' WHERE person_id = $1",
            resident.id,
        )
    finally:
        await owner.close()
    expired = await client.post("/v1/auth/refresh", json={"refresh_token": session["refresh_token"]})
    assert expired.status_code == 401


async def test_missing_token_is_401_with_a_challenge(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/auth/me")
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["www-authenticate"] == 'Bearer realm="timebank"'
    assert response.json()["type"].endswith("/unauthenticated")
    assert (await client.get(f"/v1/ledger/accounts/{uuid.uuid4()}")).status_code == 401


def _claims(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(lambda p: f"Bearer {token_for(p, lifetime=timedelta(seconds=-60))}", id="expired"),
        pytest.param(lambda p: f"Bearer {token_for(p)[:-4]}AAAA", id="bad-signature"),
        pytest.param(lambda p: f"Bearer {jwt.encode(_claims(token_for(p)), 'x' * 32, algorithm='HS256')}",
                     id="other-key"),
        pytest.param(lambda p: f"Bearer {jwt.encode(_claims(token_for(p)), None, algorithm='none')}", id="alg-none"),
        pytest.param(lambda p: f"Basic {token_for(p)}", id="not-bearer"),
        pytest.param(lambda p: "Bearer", id="empty"),
        pytest.param(lambda p: "Bearer not.a.jwt", id="garbage"),
    ],
)  # fmt: skip
async def test_bad_tokens_are_401(client: httpx.AsyncClient, org: Org, header: Any) -> None:
    staff = await org.person(await org.community(), Role.community_staff)
    response = await client.get("/v1/auth/me", headers={"Authorization": header(staff)})
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["www-authenticate"].startswith('Bearer realm="timebank", error="invalid_token"')


async def test_expired_token_says_so(client: httpx.AsyncClient, org: Org) -> None:
    person = await org.person(await org.community())
    response = await client.get("/v1/auth/me", headers=_bearer(token_for(person, lifetime=timedelta(seconds=-60))))
    assert response.json()["reason"] == "expired"
    assert "expired" in response.headers["www-authenticate"]


async def test_a_token_cannot_grant_itself_more(client: httpx.AsyncClient, org: Org) -> None:
    resident = await org.person(await org.community())
    claims = _claims(token_for(resident))
    claims["grants"].append({"role": "system", "scope_kind": "system", "scope_id": str(uuid.UUID(int=0))})
    forged = jwt.encode(claims, "guessed-key-guessed-key-guessed-key", algorithm="HS256")
    assert (await client.get("/v1/auth/me", headers=_bearer(forged))).status_code == 401


async def test_me_shows_a_system_principal(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/auth/me", headers=headers_for(Principal.system("nightly")))
    assert response.status_code == 200
    assert response.json()["subject"] == "system:nightly"
    assert response.json()["grants"][0]["role"] == "system"
