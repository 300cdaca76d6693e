"""The ledger over HTTP: accounts, batch and single transfers, replays, refusals, history, and bad input."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from litestar import Litestar

from tests.auth_support import SYSTEM, headers_for

PROBLEM = "application/problem+json"


@pytest.fixture(name="client")
async def fx_client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """These tests exercise the ledger itself, as a system account; who may call what is test_authorization's."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver", headers=headers_for(SYSTEM)) as c:
        yield c


async def _open(client: httpx.AsyncClient, community: uuid.UUID) -> tuple[str, str, str]:
    issuance, alice, bob = (str(uuid.uuid4()) for _ in range(3))
    person = {"owner_kind": "person", "flags": ["debits_must_not_exceed_credits"]}
    response = await client.post(
        "/v1/ledger/accounts",
        json={
            "accounts": [
                {"id": issuance, "community_id": str(community), "asset": "points", "system_role": "issuance"},
                {
                    "id": alice,
                    "community_id": str(community),
                    "asset": "points",
                    "owner_id": str(uuid.uuid4()),
                    **person,
                },
                {"id": bob, "community_id": str(community), "asset": "points", "owner_id": str(uuid.uuid4()), **person},
            ]
        },
    )
    assert response.status_code == 201, response.text
    return issuance, alice, bob


def _transfer(debit: str, credit: str, amount: int, **extra: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "debit_account_id": debit, "credit_account_id": credit, "amount": amount,
            "code": 1, **extra}  # fmt: skip


async def _balance(client: httpx.AsyncClient, account: str) -> dict[str, Any]:
    response = await client.get(f"/v1/ledger/accounts/{account}")
    assert response.status_code == 200
    return dict(response.json())


async def test_batch_gives_one_result_per_transfer(client: httpx.AsyncClient) -> None:
    issuance, alice, bob = await _open(client, uuid.uuid4())
    batch = [_transfer(issuance, alice, 100), _transfer(alice, bob, 500), _transfer(alice, bob, 30)]
    response = await client.post("/v1/ledger/transfers", json={"transfers": batch})
    assert response.status_code == 201
    body = response.json()
    assert [item["result"] for item in body["results"]] == ["ok", "exceeds_credits", "ok"]
    assert (body["ok"], body["failed"]) == (2, 1)
    alice_now = await _balance(client, alice)
    assert (alice_now["posted"], alice_now["available"], alice_now["version"]) == (70, 70, 2)


async def test_single_transfer_is_idempotent(client: httpx.AsyncClient) -> None:
    issuance, alice, _ = await _open(client, uuid.uuid4())
    transfer = _transfer(issuance, alice, 25)
    first = await client.post("/v1/ledger/transfer", json=transfer)
    again = await client.post("/v1/ledger/transfer", json=transfer)
    assert (first.status_code, first.json()["result"]) == (201, "ok")
    assert (again.status_code, again.json()["result"]) == (200, "exists")
    changed = await client.post("/v1/ledger/transfer", json={**transfer, "amount": 26})
    assert changed.status_code == 409
    assert changed.headers["content-type"] == PROBLEM
    assert changed.json()["type"].endswith("/transfer-id-reused")
    assert (await _balance(client, alice))["posted"] == 25


async def test_single_transfer_refusal_is_a_problem(client: httpx.AsyncClient) -> None:
    _, alice, bob = await _open(client, uuid.uuid4())
    refused = await client.post("/v1/ledger/transfer", json=_transfer(alice, bob, 1))
    assert refused.status_code == 422
    assert refused.json()["result"] == "exceeds_credits"
    assert refused.json()["type"].endswith("/transfer-refused")


async def test_hold_post_and_history(client: httpx.AsyncClient) -> None:
    issuance, alice, bob = await _open(client, uuid.uuid4())
    before = datetime.now(UTC) - timedelta(seconds=1)
    await client.post("/v1/ledger/transfer", json=_transfer(issuance, alice, 100))
    hold = _transfer(alice, bob, 60, flags=["pending"], timeout=600, code=2)
    assert (await client.post("/v1/ledger/transfer", json=hold)).status_code == 201
    assert (await _balance(client, alice))["available"] == 40
    post = {"id": str(uuid.uuid4()), "code": 2, "flags": ["post_pending"], "pending_id": hold["id"], "amount": 50}
    assert (await client.post("/v1/ledger/transfer", json=post)).status_code == 201
    alice_now = await _balance(client, alice)
    assert (alice_now["posted"], alice_now["pending"], alice_now["available"]) == (50, 0, 50)

    statement = (await client.get(f"/v1/ledger/accounts/{alice}/statement", params={"limit": 2})).json()
    assert [entry["posted_after"] for entry in statement["entries"]] == [100, 100]
    assert statement["next_after_version"] == 2
    rest = await client.get(f"/v1/ledger/accounts/{alice}/statement", params={"after_version": 2})
    assert [entry["posted_after"] for entry in rest.json()["entries"]] == [50]
    at_start = await client.get(f"/v1/ledger/accounts/{alice}/balance", params={"at": before.isoformat()})
    assert at_start.json()["posted"] == 0
    stored = await client.get(f"/v1/ledger/transfers/{post['id']}")
    assert stored.json()["debit_account_id"] == alice
    assert stored.json()["amount"] == 50


async def test_reverse_names_the_original(client: httpx.AsyncClient) -> None:
    issuance, alice, _ = await _open(client, uuid.uuid4())
    earn = _transfer(issuance, alice, 40)
    await client.post("/v1/ledger/transfer", json=earn)
    reversal_id = str(uuid.uuid4())
    response = await client.post(f"/v1/ledger/transfers/{earn['id']}/reverse", json={"reversal_id": reversal_id})
    assert response.status_code == 201
    twice = await client.post(f"/v1/ledger/transfers/{earn['id']}/reverse", json={"reversal_id": str(uuid.uuid4())})
    assert twice.json()["result"] == "already_reversed"
    assert (await _balance(client, alice))["posted"] == 0
    assert (await client.get(f"/v1/ledger/transfers/{reversal_id}")).json()["reverses_id"] == earn["id"]


async def test_bad_input_names_the_field_and_writes_nothing(client: httpx.AsyncClient) -> None:
    issuance, alice, _ = await _open(client, uuid.uuid4())
    for body, field in [
        ({**_transfer(issuance, alice, 5), "amount": -5}, "amount"),
        ({**_transfer(issuance, alice, 5), "id": "not-a-uuid"}, "id"),
        ({**_transfer(issuance, alice, 5), "code": 0}, "code"),
        ({**_transfer(issuance, alice, 5), "flags": ["sideways"]}, "flags"),
        ({**_transfer(issuance, alice, 5), "surprise": 1}, "surprise"),
    ]:
        response = await client.post("/v1/ledger/transfer", json=body)
        assert response.status_code == 400, body
        assert response.headers["content-type"] == PROBLEM
        assert field in response.json()["detail"]
    oversize = {"transfers": [_transfer(issuance, alice, 1) for _ in range(8191)]}
    too_many = await client.post("/v1/ledger/transfers", json=oversize)
    assert too_many.status_code == 400
    assert too_many.json()["field"] == "transfers"
    assert (await _balance(client, alice))["version"] == 0


async def test_unknown_account_and_transfer_are_404(client: httpx.AsyncClient) -> None:
    assert (await client.get(f"/v1/ledger/accounts/{uuid.uuid4()}")).status_code == 404
    assert (await client.get(f"/v1/ledger/transfers/{uuid.uuid4()}")).status_code == 404
    assert (await client.get("/v1/ledger/accounts/not-a-uuid")).status_code in (400, 404)
