"""The single-transfer lane (timebank/http/transfer_lane.py) answers exactly as the Litestar route would.

Every request below is sent twice, once to the app with the lane and once to an app without it, on the same
database; the two answers must match in status, headers that matter and body (the request id aside). Then the lane
is driven on its own, to prove it serves the plain case without the route and hands everything else on, body
intact.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.types import Message, Receive, Scope, Send

from tests.auth_support import SYSTEM, Org, access_service, headers_for
from timebank.access.principal import Role
from timebank.app import create_app
from timebank.db import Database
from timebank.http.transfer_lane import TransferLane
from timebank.ledger import AccountFlags, Asset, LedgerService, NewAccount
from timebank.ledger.batcher import TransferBatcher
from timebank.settings import Settings

PATH = "/v1/ledger/transfer"


@pytest.fixture(name="plain_app", scope="module")
def fx_plain_app(settings: Settings, database: Database) -> Litestar:
    return create_app(settings, database=database, transfer_lane=False)


async def _post(app: Litestar, body: bytes, headers: dict[str, str]) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return await client.post(PATH, content=body, headers=headers)


def _comparable(response: httpx.Response, body: bytes) -> tuple[int, str, str | None, str]:
    """The answer with the request id left out and the ids the request named replaced by their names."""
    document = response.json()
    if isinstance(document, dict):
        document.pop("request_id", None)
    text = json.dumps(document, sort_keys=True)
    try:
        sent = json.loads(body)
    except ValueError:
        sent = None
    if isinstance(sent, dict):
        for key, value in sent.items():
            if isinstance(value, str) and key.endswith("id"):
                text = text.replace(value, f"<{key}>")
    return response.status_code, response.headers["content-type"], response.headers.get("www-authenticate"), text


class _Community:
    """A community with an issuance account and two people's accounts that cannot overdraw."""

    def __init__(self, community_id: uuid.UUID) -> None:
        self.id = community_id
        self.issuance, self.alice, self.bob = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

    async def open(self, database: Database) -> None:
        def person(account_id: uuid.UUID) -> NewAccount:
            return NewAccount(
                id=account_id,
                community_id=self.id,
                asset=Asset.points,
                owner_kind="person",
                owner_id=uuid.uuid4(),
                flags=AccountFlags.debits_must_not_exceed_credits,
            )

        issuance = NewAccount(id=self.issuance, community_id=self.id, asset=Asset.points, system_role="issuance")
        await LedgerService(database.pool).open_accounts([issuance, person(self.alice), person(self.bob)])


def _transfer(debit: uuid.UUID | str, credit: uuid.UUID | str, amount: int = 5, **extra: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "debit_account_id": str(debit), "credit_account_id": str(credit),
            "amount": amount, "code": 1, **extra}  # fmt: skip


#: Makes one request for a fresh community, acting with the given headers: its body and its headers.
Scenario = Callable[[_Community, dict[str, str]], tuple[bytes, dict[str, str]]]


def _json(body: dict[str, Any], headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    return json.dumps(body).encode(), {"Content-Type": "application/json", **headers}


SCENARIOS: dict[str, Scenario] = {
    "created": lambda c, h: _json(_transfer(c.issuance, c.alice), h),
    "overdraws": lambda c, h: _json(_transfer(c.alice, c.bob, 10**6), h),
    "unknown account": lambda c, h: _json(_transfer(uuid.uuid4(), c.alice), h),
    "same accounts": lambda c, h: _json(_transfer(c.alice, c.alice), h),
    "linked": lambda c, h: _json(_transfer(c.issuance, c.alice, flags=["linked"]), h),
    "missing code": lambda c, h: _json({k: v for k, v in _transfer(c.issuance, c.alice).items() if k != "code"}, h),
    "unknown field": lambda c, h: _json({**_transfer(c.issuance, c.alice), "colour": "red"}, h),
    "amount as text": lambda c, h: _json({**_transfer(c.issuance, c.alice), "amount": "5"}, h),
    "zero amount": lambda c, h: _json(_transfer(c.issuance, c.alice, 0), h),
    "not json": lambda c, h: (b'{"id": ', {"Content-Type": "application/json", **h}),
    "not an object": lambda c, h: (b"[1, 2]", {"Content-Type": "application/json", **h}),
    "nul in memo": lambda c, h: _json(_transfer(c.issuance, c.alice, memo="a\x00b"), h),
    "text body": lambda c, h: (json.dumps(_transfer(c.issuance, c.alice)).encode(), {"Content-Type": "text/plain"} | h),
    "no token": lambda c, h: _json(_transfer(c.issuance, c.alice), {}),
    "forged token": lambda c, h: _json(_transfer(c.issuance, c.alice), {"Authorization": "Bearer a.b.c"}),
    "not bearer": lambda c, h: _json(_transfer(c.issuance, c.alice), {"Authorization": "Basic dXNlcjpwdw=="}),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
async def test_the_lane_answers_as_the_route(
    app: Litestar, plain_app: Litestar, database: Database, scenario: str
) -> None:
    answers = []
    for served_by in (app, plain_app):
        community = _Community(uuid.uuid4())
        await community.open(database)
        body, headers = SCENARIOS[scenario](community, headers_for(SYSTEM))
        answers.append(_comparable(await _post(served_by, body, headers), body))
    with_lane, without = answers
    assert with_lane == without
    assert with_lane[1] in ("application/json", "application/problem+json")


async def test_replays_answer_as_the_route(app: Litestar, plain_app: Litestar, database: Database) -> None:
    """First 201, then 200 for the same body, then 409 for the same id with another amount, in both apps."""
    answers = []
    for served_by in (app, plain_app):
        community = _Community(uuid.uuid4())
        await community.open(database)
        transfer = _transfer(community.issuance, community.alice)
        body, headers = _json(transfer, headers_for(SYSTEM))
        changed, _ = _json({**transfer, "amount": 6}, headers_for(SYSTEM))
        answers.append([_comparable(await _post(served_by, b, headers), b) for b in (body, body, changed)])
    assert answers[0] == answers[1]
    assert [status for status, *_ in answers[0]] == [201, 200, 409]


@pytest.mark.parametrize(
    ("caller", "expected"),
    [("staff of the community", 201), ("staff next door", 404), ("resident", 403), ("auditor", 403)],
)
async def test_the_policy_decides_in_the_lane_as_in_the_route(
    app: Litestar, plain_app: Litestar, database: Database, org: Org, caller: str, expected: int
) -> None:
    answers = []
    for served_by in (app, plain_app):
        community_id = await org.community()
        community = _Community(community_id)
        await community.open(database)
        match caller:
            case "staff of the community":
                who = await org.person(community_id, Role.community_staff)
            case "staff next door":
                who = await org.person(await org.community(), Role.community_staff)
            case "resident":
                who = await org.person(community_id, Role.resident)
            case _:
                who = await org.person(community_id, Role.auditor)
        body, headers = _json(_transfer(community.issuance, community.alice), headers_for(who))
        answers.append(_comparable(await _post(served_by, body, headers), body))
    assert answers[0] == answers[1]
    assert answers[0][0] == expected


class _Route:
    """Stands in for the Litestar route behind the lane: records what reached it and answers 418."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        self.bodies.append(b"".join(chunks))
        await send({"type": "http.response.start", "status": 418, "headers": []})
        await send({"type": "http.response.body", "body": b""})


async def _drive(lane: TransferLane, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    """One request through the lane, the body arriving in two chunks as a server may deliver it."""
    scope: dict[str, Any] = {
        "type": "http", "method": "POST", "path": PATH, "raw_path": PATH.encode(), "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in {**headers, "content-length": str(len(body))}.items()],
    }  # fmt: skip
    half = len(body) // 2
    incoming: list[Message] = [
        {"type": "http.request", "body": body[:half], "more_body": True},
        {"type": "http.request", "body": body[half:], "more_body": False},
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    await lane(scope, receive, send)  # type: ignore[arg-type]
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


async def test_the_lane_serves_plain_transfers_itself_and_hands_on_the_rest(database: Database) -> None:
    community = _Community(uuid.uuid4())
    await community.open(database)
    batcher = TransferBatcher(LedgerService(database.pool).create_transfers)
    await batcher.start()

    async def running_batcher() -> TransferBatcher:
        return batcher

    route = _Route()
    lane = TransferLane(route, access=access_service(database.pool), batcher=running_batcher, max_body_bytes=4096)
    headers = {"Content-Type": "application/json", **headers_for(SYSTEM)}
    try:
        transfer = _transfer(community.issuance, community.alice)
        plain = json.dumps(transfer).encode()
        created = json.dumps({"id": transfer["id"], "result": "ok"}, separators=(",", ":")).encode()
        assert await _drive(lane, plain, headers) == (201, created)
        assert (await _drive(lane, plain, headers))[0] == 200
        assert route.bodies == []

        refused = json.dumps(_transfer(community.alice, community.bob, 10**6)).encode()
        malformed = plain[:-1]
        too_big = json.dumps(_transfer(community.issuance, community.alice, memo="x" * 5000)).encode()
        for handed_on in (refused, malformed, too_big):
            assert await _drive(lane, handed_on, headers) == (418, b"")
        assert (await _drive(lane, plain, {"Content-Type": "application/json"}))[0] == 418
        assert route.bodies == [refused, malformed, too_big, plain]
    finally:
        await batcher.stop()
    alice = await LedgerService(database.pool).get_account(community.alice)
    assert alice.credits_posted == 5  # served once, replayed once, never twice


async def test_lane_requests_keep_their_request_id_and_log_line(
    app: Litestar, database: Database, log_events: list[dict[str, Any]]
) -> None:
    community = _Community(uuid.uuid4())
    await community.open(database)
    body, headers = _json(_transfer(community.issuance, community.alice), headers_for(SYSTEM))
    response = await _post(app, body, {**headers, "X-Request-ID": "lane-1"})
    assert response.status_code == 201
    assert response.headers["x-request-id"] == "lane-1"
    lines = [event for event in log_events if event["event"] == "request"]
    assert len(lines) == 1
    assert (lines[0]["route"], lines[0]["status"], lines[0]["request_id"]) == (PATH, 201, "lane-1")
    assert lines[0]["subject"] == SYSTEM.subject
