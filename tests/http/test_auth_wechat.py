"""Mini-app login with the development provider: first login binds by invitation code or phone, later ones don't."""

from __future__ import annotations

import random
import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from tests.auth_support import SYSTEM, Org, Person, headers_for
from timebank.access.principal import Role
from timebank.db import EVERY_COMMUNITY, Database, bound

PROBLEM = "application/problem+json"


def _phone() -> str:
    return f"1{random.choice('3456789')}{random.randrange(10**9):09d}"


def _code() -> str:
    """A wx.login() code: with the development provider, the same code is the same WeChat user."""
    return f"wx-{uuid.uuid4().hex}"


async def _invite(client: httpx.AsyncClient, by: Any, person: Person) -> dict[str, Any]:
    response = await client.post("/v1/auth/invitations", json={"person_id": str(person.id)}, headers=headers_for(by))
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_first_login_by_invitation_then_by_code_alone(
    client: httpx.AsyncClient, org: Org, database: Database
) -> None:
    community = await org.community()
    staff = await org.person(community, Role.community_staff)
    resident = await org.person(community)
    invitation = await _invite(client, staff, resident)
    assert invitation["person_id"] == str(resident.id)
    code = _code()

    unbound = await client.post("/v1/auth/wechat", json={"code": code})
    assert unbound.status_code == 422
    assert unbound.json()["type"].endswith("/binding-required")
    assert unbound.json()["field"] == "invitation_code"

    # Codes are typed by hand: case and dashes do not matter.
    typed = invitation["code"].lower().replace("-", " ")
    first = await client.post("/v1/auth/wechat", json={"code": code, "invitation_code": typed})
    assert first.status_code == 200, first.text
    assert first.json()["me"]["person_id"] == str(resident.id)
    assert [g["role"] for g in first.json()["me"]["grants"]] == ["resident"]

    again = await client.post("/v1/auth/wechat", json={"code": code})
    assert again.status_code == 200
    assert again.json()["me"]["person_id"] == str(resident.id)

    # Single use: another WeChat user cannot use the same invitation.
    reused = await client.post("/v1/auth/wechat", json={"code": _code(), "invitation_code": invitation["code"]})
    assert reused.status_code == 422
    assert reused.json()["type"].endswith("/invalid-code")
    assert reused.json()["field"] == "invitation_code"

    async with bound(database.pool, EVERY_COMMUNITY) as connection:
        audit = await connection.fetchrow(
            "SELECT actor_id, action FROM audit_event WHERE entity = 'person' AND entity_id = $1", str(resident.id)
        )
        stored = await connection.fetchval("SELECT code_hash FROM access_invitation WHERE person_id = $1", resident.id)
    assert (audit["actor_id"], audit["action"]) == (staff.id, "invitation.create")
    # Kept only as a keyed hash.
    assert len(stored) == 32
    assert invitation["code"].replace("-", "").encode() not in stored


@pytest.mark.parametrize("problem", ["garbage", "expired", "unknown"])
async def test_bad_invitation_codes(client: httpx.AsyncClient, org: Org, database_url: str, problem: str) -> None:
    community = await org.community()
    invitation = await _invite(client, SYSTEM, await org.person(community))
    code = {"garbage": "not a code!", "unknown": "22222-22222", "expired": invitation["code"]}[problem]
    if problem == "expired":
        # As the owner: the service itself may not move an invitation's dates.
        owner = await asyncpg.connect(database_url)
        try:
            await owner.execute(
                "UPDATE access_invitation SET created_at = now() - interval '9 days', "
                "expires_at = now() - interval '1 day' WHERE person_id = $1",
                uuid.UUID(invitation["person_id"]),
            )
        finally:
            await owner.close()
    response = await client.post("/v1/auth/wechat", json={"code": _code(), "invitation_code": code})
    assert response.status_code == 422
    assert response.json()["field"] == "invitation_code"


async def test_invitations_are_made_by_staff_of_the_persons_community(client: httpx.AsyncClient, org: Org) -> None:
    community, elsewhere = await org.community(), await org.community()
    resident = await org.person(community)
    neighbour = await org.person(community)
    staff_elsewhere = await org.person(elsewhere, Role.community_staff)
    body = {"person_id": str(resident.id)}
    as_neighbour = await client.post("/v1/auth/invitations", json=body, headers=headers_for(neighbour))
    assert as_neighbour.status_code == 403
    as_other_staff = await client.post("/v1/auth/invitations", json=body, headers=headers_for(staff_elsewhere))
    assert as_other_staff.status_code == 404
    assert as_other_staff.json()["person_id"] == str(resident.id)
    nobody = await client.post(
        "/v1/auth/invitations", json={"person_id": str(uuid.uuid4())}, headers=headers_for(staff_elsewhere)
    )
    assert (nobody.status_code, nobody.json()["detail"]) == (404, as_other_staff.json()["detail"])


async def test_first_login_by_phone(client: httpx.AsyncClient, org: Org) -> None:
    phone = _phone()
    resident = await org.person(await org.community(), phone=phone)
    started = await client.post("/v1/auth/phone-challenges", json={"phone": phone})
    assert started.status_code == 201, started.text
    challenge = started.json()
    assert len(challenge["dev_code"]) == 6

    code = _code()
    wrong_code = "000000" if challenge["dev_code"] != "000000" else "111111"
    wrong = await client.post(
        "/v1/auth/wechat", json={"code": code, "phone_challenge": {"id": challenge["id"], "code": wrong_code}}
    )
    assert wrong.status_code == 422
    assert (wrong.json()["field"], wrong.json()["attempts_left"]) == ("phone_challenge.code", 4)

    right = {"code": code, "phone_challenge": {"id": challenge["id"], "code": challenge["dev_code"]}}
    first = await client.post("/v1/auth/wechat", json=right)
    assert first.status_code == 200, first.text
    assert first.json()["me"]["person_id"] == str(resident.id)
    # A challenge is used once.
    replay = await client.post("/v1/auth/wechat", json={**right, "code": _code()})
    assert replay.status_code == 422
    assert replay.json()["field"] == "phone_challenge.id"


async def test_phone_challenge_guesses_and_rate_are_limited(client: httpx.AsyncClient, org: Org) -> None:
    phone = _phone()
    await org.person(await org.community(), phone=phone)
    challenge = (await client.post("/v1/auth/phone-challenges", json={"phone": phone})).json()
    wrong_code = "000000" if challenge["dev_code"] != "000000" else "111111"
    guess = {"code": _code(), "phone_challenge": {"id": challenge["id"], "code": wrong_code}}
    statuses = [(await client.post("/v1/auth/wechat", json=guess)).status_code for _ in range(6)]
    assert statuses == [422] * 5 + [429]
    # Even the right code is refused now.
    guess["phone_challenge"]["code"] = challenge["dev_code"]  # type: ignore[index]
    assert (await client.post("/v1/auth/wechat", json=guess)).status_code == 429

    for _ in range(4):
        assert (await client.post("/v1/auth/phone-challenges", json={"phone": phone})).status_code == 201
    limited = await client.post("/v1/auth/phone-challenges", json={"phone": phone})
    assert limited.status_code == 429
    assert 0 < int(limited.headers["retry-after"]) <= 3600


async def test_phone_without_a_person_cannot_bind(client: httpx.AsyncClient) -> None:
    phone = _phone()
    challenge = (await client.post("/v1/auth/phone-challenges", json={"phone": phone})).json()
    body = {"code": _code(), "phone_challenge": {"id": challenge["id"], "code": challenge["dev_code"]}}
    response = await client.post("/v1/auth/wechat", json=body)
    assert response.status_code == 422
    assert response.json()["field"] == "phone_challenge"


async def test_bad_phone_is_named(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/auth/phone-challenges", json={"phone": "12345"})
    assert response.status_code == 422
    assert response.json()["field"] == "phone"
