"""Password login: tokens that work, the same answer for a wrong name and a wrong password, lockout, rehash."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.auth_support import Org, Person, access_service
from timebank.access.principal import Role
from timebank.access.service import AccessService
from timebank.db import EVERY_COMMUNITY, Database, bound

PROBLEM = "application/problem+json"
PASSWORD = "correct horse battery"


@pytest.fixture(name="access")
def fx_access(database: Database) -> AccessService:
    return access_service(database.pool)


@pytest.fixture(name="staff")
async def fx_staff(org: Org, access: AccessService) -> Person:
    staff = await org.person(await org.community(), Role.community_staff)
    await access.set_password(staff.id, f"Staff-{staff.id.hex[:8]}", PASSWORD)
    return staff


def _login_of(person: Person) -> str:
    return f"staff-{person.id.hex[:8]}"


async def test_login_returns_working_tokens(client: httpx.AsyncClient, staff: Person) -> None:
    response = await client.post("/v1/auth/login", json={"login": _login_of(staff).upper(), "password": PASSWORD})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert 0 < body["expires_in"] <= 15 * 60
    assert body["me"]["person_id"] == str(staff.id)
    assert {g["role"] for g in body["me"]["grants"]} == {"resident", "community_staff"}
    me = await client.get("/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["communities"] == [str(staff.community_id)]


@pytest.mark.parametrize("who", ["wrong password", "unknown login"])
async def test_wrong_name_or_password_answer_alike(client: httpx.AsyncClient, staff: Person, who: str) -> None:
    login = _login_of(staff) if who == "wrong password" else "nobody-here"
    started = time.perf_counter()
    response = await client.post("/v1/auth/login", json={"login": login, "password": "not the password"})
    took = time.perf_counter() - started
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"].endswith("/invalid-credentials")
    assert response.json()["field"] == "password"
    assert response.json()["detail"] == "the login name or password is wrong"
    # An unknown login is checked against a dummy hash: it costs a full argon2id verification too.
    assert took > 0.02


async def test_five_wrong_passwords_lock_the_login(
    client: httpx.AsyncClient, staff: Person, database: Database
) -> None:
    wrong = {"login": _login_of(staff), "password": "not the password"}
    answers = [(await client.post("/v1/auth/login", json=wrong)).status_code for _ in range(5)]
    assert answers == [401, 401, 401, 401, 429]
    locked = await client.post("/v1/auth/login", json={"login": _login_of(staff), "password": PASSWORD})
    assert locked.status_code == 429
    assert locked.json()["type"].endswith("/login-locked")
    assert 14 * 60 < int(locked.headers["retry-after"]) <= 15 * 60
    assert locked.json()["retry_after"] == int(locked.headers["retry-after"])

    # Fifteen minutes later the right password works again and the count starts over.
    async with bound(database.pool, EVERY_COMMUNITY) as connection:
        await connection.execute(
            "UPDATE access_password SET locked_until = now() - interval '1 second' WHERE person_id = $1", staff.id
        )
    assert (await client.post("/v1/auth/login", json={"login": _login_of(staff), "password": PASSWORD})).is_success
    assert (await client.post("/v1/auth/login", json=wrong)).status_code == 401


async def test_a_success_resets_the_count(client: httpx.AsyncClient, staff: Person) -> None:
    wrong = {"login": _login_of(staff), "password": "not the password"}
    right = {"login": _login_of(staff), "password": PASSWORD}
    for _ in range(4):
        assert (await client.post("/v1/auth/login", json=wrong)).status_code == 401
    assert (await client.post("/v1/auth/login", json=right)).status_code == 200
    for _ in range(4):
        assert (await client.post("/v1/auth/login", json=wrong)).status_code == 401
    assert (await client.post("/v1/auth/login", json=right)).status_code == 200


async def test_weak_hashes_are_upgraded_at_login(client: httpx.AsyncClient, staff: Person, database: Database) -> None:
    from argon2 import PasswordHasher

    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    async with bound(database.pool, EVERY_COMMUNITY) as connection:
        await connection.execute("UPDATE access_password SET password_hash = $2 WHERE person_id = $1", staff.id, weak)
    assert (await client.post("/v1/auth/login", json={"login": _login_of(staff), "password": PASSWORD})).is_success
    async with bound(database.pool, EVERY_COMMUNITY) as connection:
        stored = await connection.fetchval("SELECT password_hash FROM access_password WHERE person_id = $1", staff.id)
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


async def test_bad_login_bodies_name_the_field(client: httpx.AsyncClient) -> None:
    missing = await client.post("/v1/auth/login", json={"login": "someone"})
    assert missing.status_code == 400
    # The shared validation mapping names a missing field in the detail (its "field" is the body itself).
    assert "password" in missing.json()["detail"]
    extra = await client.post("/v1/auth/login", json={"login": "a", "password": "b", "otp": "1"})
    assert extra.status_code == 400
    assert "otp" in extra.json()["detail"]
    too_long = await client.post("/v1/auth/login", json={"login": "a" * 65, "password": "b"})
    assert too_long.json()["field"] == "login"


async def test_set_password_refuses_taken_names_and_weak_passwords(
    org: Org, access: AccessService, staff: Person
) -> None:
    from timebank.access.errors import LoginTaken
    from timebank.errors import InvalidInput

    other = await org.person(staff.community_id)
    with pytest.raises(LoginTaken):
        await access.set_password(other.id, _login_of(staff), PASSWORD)
    with pytest.raises(InvalidInput) as short:
        await access.set_password(other.id, "someone-else", "short")
    assert short.value.fields["field"] == "password"
    with pytest.raises(InvalidInput) as bad_name:
        await access.set_password(other.id, "no spaces allowed", PASSWORD)
    assert bad_name.value.fields["field"] == "login"
