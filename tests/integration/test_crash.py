"""Crash: kill -9 ``timebank serve`` under load; after a restart every acknowledged transfer is there and verifies.

The client sends single transfers (``POST /v1/ledger/transfer``) from many tasks at once and records each id the
server acknowledged (201 ok, 200 exists). Mid-load the whole process group, Granian's master and its worker, gets
SIGKILL: no shutdown hook runs and the batcher drains nothing. Requests in flight at that moment stay unrecorded;
they may or may not have committed. After a restart on the same database:

- every acknowledged id is stored, as sent, and served again;
- every other stored transfer is one that was in flight (sent, never answered), and no refused one is stored;
- each account's balance is the sum of the stored transfers;
- ``timebank ledger verify`` exits 0.
"""

from __future__ import annotations

import asyncio
import random
import signal
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.auth_support import SYSTEM, token_signed_for
from tests.integration.crash_support import (
    Server,
    kill_group,
    start_serve,
    stop,
    throwaway_database,
    verify_ledger,
    wait_ready,
    wait_sessions_gone,
)
from timebank.ledger import Code
from timebank.settings import Settings

CONCURRENCY = 24
PEOPLE = 6
LOAD_S = 1.5
MAX_ACKS = 20_000
FIRST_ACK_WITHIN_S = 10
REQUEST_TIMEOUT_S = 10
WHOLE_TEST_WITHIN_S = 120


@dataclass
class Load:
    """What the client knows: every transfer it sent, and what became of each."""

    sent: dict[str, dict[str, Any]] = field(default_factory=dict)
    acked: set[str] = field(default_factory=set)
    refused: set[str] = field(default_factory=set)
    unanswered: set[str] = field(default_factory=set)
    unexpected: list[str] = field(default_factory=list)
    replays: int = 0


async def _open_accounts(client: httpx.AsyncClient, community: str) -> tuple[str, list[str]]:
    """An issuance account with no limits, and people who may not spend more than they hold."""
    issuance, people = str(uuid.uuid4()), [str(uuid.uuid4()) for _ in range(PEOPLE)]
    accounts: list[dict[str, Any]] = [
        {"id": issuance, "community_id": community, "asset": "points", "system_role": "issuance"}
    ]
    accounts += [
        {"id": person, "community_id": community, "asset": "points", "owner_kind": "person",
         "owner_id": str(uuid.uuid4()), "flags": ["debits_must_not_exceed_credits"]}
        for person in people
    ]  # fmt: skip
    response = await client.post("/v1/ledger/accounts", json={"accounts": accounts})
    assert response.status_code == 201, response.text
    return issuance, people


async def _drive(
    client: httpx.AsyncClient, issuance: str, people: list[str], load: Load, stopping: asyncio.Event, seed: int
) -> None:
    """Send transfers one after another until told to stop or the server goes away mid-request."""
    rng = random.Random(seed)
    mine: list[str] = []
    while not stopping.is_set():
        if mine and rng.random() < 0.05:
            # Replay an acknowledged transfer: the idempotent path answers 200 exists.
            payload = load.sent[rng.choice(mine)]
        elif rng.random() < 0.6:
            payload = {"id": str(uuid.uuid4()), "debit_account_id": issuance, "credit_account_id": rng.choice(people),
                       "amount": rng.randint(1, 100), "code": Code.issuance}  # fmt: skip
        else:
            # Gifts between people; some must be refused for want of funds (422), which is not an acknowledgement.
            debit, credit = rng.sample(people, 2)
            payload = {"id": str(uuid.uuid4()), "debit_account_id": debit, "credit_account_id": credit,
                       "amount": rng.randint(1, 80), "code": Code.gift}  # fmt: skip
        transfer_id = payload["id"]
        load.sent[transfer_id] = payload
        try:
            response = await client.post("/v1/ledger/transfer", json=payload)
        except httpx.TransportError:
            # In flight when the server died: it may or may not have committed. Never counted as acknowledged.
            if transfer_id not in load.acked:
                load.unanswered.add(transfer_id)
            return
        answer = {"id": transfer_id, "result": "ok" if response.status_code == 201 else "exists"}
        if response.status_code in (200, 201) and response.json() == answer:
            load.replays += response.status_code == 200
            load.acked.add(transfer_id)
            mine.append(transfer_id)
        elif response.status_code == 422 and response.json().get("result") == "exceeds_credits":
            load.refused.add(transfer_id)
        else:
            load.unexpected.append(f"{transfer_id}: {response.status_code} {response.text[:300]}")


async def _load_then_kill(server: Server, client: httpx.AsyncClient, issuance: str, people: list[str]) -> Load:
    """Run the load for LOAD_S (or MAX_ACKS), then kill -9 the server while requests are in flight."""
    load, stopping = Load(), asyncio.Event()
    drivers = [
        asyncio.create_task(_drive(client, issuance, people, load, stopping, seed)) for seed in range(CONCURRENCY)
    ]
    try:
        started = time.monotonic()
        while time.monotonic() - started < LOAD_S or not load.acked:
            assert time.monotonic() - started < FIRST_ACK_WITHIN_S, f"no acknowledgement:\n{server.output()}"
            assert not load.unexpected, load.unexpected[:5]
            if len(load.acked) >= MAX_ACKS:
                break
            await asyncio.sleep(0.01)
        stopping.set()
        await kill_group(server)
        await asyncio.wait_for(asyncio.gather(*drivers), REQUEST_TIMEOUT_S)
    finally:
        for driver in drivers:
            driver.cancel()
    return load


async def _stored(database_url: str, community: str) -> dict[str, dict[str, Any]]:
    """The community's transfers as the database holds them, read directly (not through the service)."""
    connection = await asyncpg.connect(database_url)
    try:
        rows = await connection.fetch(
            "SELECT id::text, debit_account_id::text, credit_account_id::text, amount, code FROM ledger_transfer "
            "WHERE community_id = $1::uuid",
            community,
        )
    finally:
        await connection.close()
    return {row["id"]: dict(row) for row in rows}


async def _get_all(client: httpx.AsyncClient, paths: list[str]) -> list[httpx.Response]:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def get(path: str) -> httpx.Response:
        async with gate:
            return await client.get(path)

    return await asyncio.gather(*(get(path) for path in paths))


async def test_acknowledged_transfers_survive_kill_9(server_url: str, tmp_path: Path) -> None:
    servers: list[Server] = []
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with (
        asyncio.timeout(WHOLE_TEST_WITHIN_S),
        throwaway_database(server_url) as database_url,
        httpx.AsyncClient(timeout=REQUEST_TIMEOUT_S, limits=limits) as client,
    ):
        try:
            # The services keep their generated key in tmp_path (their data directory); sign with it first.
            token = token_signed_for(Settings(data_dir=tmp_path), SYSTEM, lifetime=timedelta(hours=1))
            client.headers["Authorization"] = f"Bearer {token}"
            first = start_serve(database_url, tmp_path / "serve-1.log")
            servers.append(first)
            await wait_ready(first, client)
            client.base_url = httpx.URL(first.base_url)
            community = str(uuid.uuid4())
            issuance, people = await _open_accounts(client, community)

            workers = first.group()
            load = await _load_then_kill(first, client, issuance, people)

            # The kill killed: the master died of SIGKILL, no process of its group lives, nothing listens.
            assert first.process.returncode == -signal.SIGKILL
            assert len(workers) >= 2, f"expected Granian's master and a worker, found {workers}"
            assert first.group() == []
            with pytest.raises(httpx.ConnectError):
                await client.get("/health/live", timeout=2)
            assert not load.unexpected, load.unexpected[:5]
            assert load.acked, "no transfer was acknowledged before the kill"
            assert load.unanswered, "the kill landed while no request was in flight"
            await wait_sessions_gone(server_url, database_url)

            second = start_serve(database_url, tmp_path / "serve-2.log")
            servers.append(second)
            await wait_ready(second, client)
            client.base_url = httpx.URL(second.base_url)

            stored = await _stored(database_url, community)
            lost = load.acked - stored.keys()
            assert not lost, f"{len(lost)} of {len(load.acked)} acknowledged transfers are gone: {sorted(lost)[:10]}"
            assert not load.refused & stored.keys(), "a refused transfer was stored"
            extra = stored.keys() - load.acked
            assert extra <= load.unanswered, (
                f"stored, yet neither acknowledged nor in flight: {extra - load.unanswered}"
            )
            for transfer_id, row in stored.items():
                sent = load.sent[transfer_id]
                assert (row["debit_account_id"], row["credit_account_id"], row["amount"], row["code"]) == (
                    sent["debit_account_id"], sent["credit_account_id"], sent["amount"], sent["code"],
                )  # fmt: skip

            # The restarted service serves every acknowledged transfer.
            served = await _get_all(client, [f"/v1/ledger/transfers/{i}" for i in sorted(load.acked)])
            assert [r.status_code for r in served] == [200] * len(load.acked)

            expected = dict.fromkeys([issuance, *people], 0)
            for row in stored.values():
                expected[row["debit_account_id"]] -= row["amount"]
                expected[row["credit_account_id"]] += row["amount"]
            accounts = await _get_all(client, [f"/v1/ledger/accounts/{a}" for a in expected])
            balances = {body["id"]: (body["posted"], body["pending"]) for body in (r.json() for r in accounts)}
            assert balances == {account: (posted, 0) for account, posted in expected.items()}

            verified = await asyncio.to_thread(verify_ledger, database_url)
            assert verified.returncode == 0, verified.stdout + verified.stderr
            # The numbers a reader of `pytest -s` wants.
            print(
                f"crash: {len(load.sent)} sent, {len(load.acked)} acknowledged ({load.replays} replays), "
                f"{len(load.refused)} refused, {len(load.unanswered)} in flight at the kill, of which "
                f"{len(extra)} committed"
            )
        finally:
            for server in servers:
                await stop(server)
