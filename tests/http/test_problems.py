"""Every error is an RFC 9457 problem document carrying the request id; nothing leaks a traceback."""

from __future__ import annotations

import httpx
import msgspec
import pytest
from litestar import Litestar, get, post
from litestar.params import JSONBody

from timebank.app import create_app
from timebank.db import Database
from timebank.errors import Conflict, NotFound, RuleViolation
from timebank.settings import Settings

PROBLEM = "application/problem+json"


class Payment(msgspec.Struct, forbid_unknown_fields=True):
    points: int = msgspec.field()
    memo: str = ""


@post("/v1/probe/payments")
async def take_payment(data: JSONBody[Payment]) -> dict[str, int]:
    if data.points <= 0:
        raise RuleViolation("points must be spent in positive amounts", balance=3, requested=data.points)
    return {"points": data.points}


@get("/v1/probe/missing")
async def missing() -> None:
    raise NotFound("no such account", account_id="a1")


@get("/v1/probe/duplicate")
async def duplicate() -> None:
    raise Conflict("transfer id reused with a different body", id="t1")


@get("/v1/probe/crash")
async def crash() -> None:
    raise RuntimeError("secret internals: password=hunter2")


@pytest.fixture(name="probe_client")
async def fx_probe_client(settings: Settings, database: Database) -> httpx.AsyncClient:
    app: Litestar = create_app(settings, database=database)
    for handler in (take_payment, missing, duplicate, crash):
        app.register(handler)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_unknown_route_is_problem_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/nowhere", headers={"X-Request-ID": "req-42"})
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == 404
    assert body["type"].endswith("/not-found")
    assert body["instance"] == "/v1/nowhere"
    assert body["request_id"] == "req-42"
    assert response.headers["x-request-id"] == "req-42"


async def test_wrong_method_is_problem_405(client: httpx.AsyncClient) -> None:
    response = await client.delete("/health/live")
    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM
    assert "GET" in response.headers["allow"]


async def test_validation_error_names_the_field(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.post("/v1/probe/payments", json={"points": "ten"})
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["type"].endswith("/validation-error")
    assert body["field"] == "points"
    assert body["errors"][0]["field"] == "points"
    assert "int" in body["errors"][0]["message"]


async def test_unknown_field_is_refused(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.post("/v1/probe/payments", json={"points": 1, "pints": 2})
    assert response.status_code == 400
    assert "pints" in response.json()["detail"]
    assert response.json()["field"] == "pints"


async def test_missing_field_is_named(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.post("/v1/probe/payments", json={"memo": "为邻居买菜"})
    assert response.status_code == 400
    assert response.json()["field"] == "points"
    assert response.json()["errors"][0]["source"] == "body"


async def test_malformed_json_is_problem_400(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.post(
        "/v1/probe/payments", content=b'{"points": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM


async def test_non_json_body_is_problem_415(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.post(
        "/v1/probe/payments", content=b"points=1", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 415
    assert response.json()["type"].endswith("/unsupported-media-type")


async def test_oversize_body_is_problem_413(database: Database) -> None:
    app = create_app(Settings(max_body_bytes=64), database=database)
    app.register(take_payment)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.post("/v1/probe/payments", json={"points": 1, "memo": "x" * 200})
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM


async def test_domain_errors_map_to_status_and_fields(probe_client: httpx.AsyncClient) -> None:
    refused = await probe_client.post("/v1/probe/payments", json={"points": -5})
    assert refused.status_code == 422
    assert refused.json()["type"].endswith("/rule-violation")
    assert refused.json()["balance"] == 3
    missing = await probe_client.get("/v1/probe/missing")
    assert (missing.status_code, missing.json()["account_id"]) == (404, "a1")
    conflict = await probe_client.get("/v1/probe/duplicate")
    assert conflict.status_code == 409


async def test_unexpected_error_hides_internals(probe_client: httpx.AsyncClient, log_events: list[dict]) -> None:
    response = await probe_client.get("/v1/probe/crash", headers={"X-Request-ID": "boom-1"})
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["request_id"] == "boom-1"
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text
    assert any(event["event"] == "unhandled_error" for event in log_events)


async def test_one_log_line_per_request(client: httpx.AsyncClient, log_events: list[dict]) -> None:
    await client.get("/health/live", headers={"X-Request-ID": "line-1"})
    lines = [event for event in log_events if event["event"] == "request"]
    assert len(lines) == 1
    assert lines[0]["request_id"] == "line-1"
    assert lines[0]["method"] == "GET"
    assert lines[0]["route"] == "/health/live"
    assert lines[0]["status"] == 200
    assert lines[0]["duration_ms"] >= 0


async def test_request_id_is_generated_when_absent_or_unsafe(client: httpx.AsyncClient) -> None:
    generated = await client.get("/health/live")
    assert len(generated.headers["x-request-id"]) == 32
    unsafe = await client.get("/health/live", headers={"X-Request-ID": "x" * 500})
    assert unsafe.headers["x-request-id"] != "x" * 500
