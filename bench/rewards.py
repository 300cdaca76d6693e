"""Benchmark the points mall's write paths: placing orders (hold + reservation in one transaction), handing them
over, expiring them, and reconciling a busy station.

Run from the repository root:  python -m bench.rewards [--duration 5] [--callers 16]

Creates a throwaway database ``timebank_bench_<random>`` on TIMEBANK_BENCH_DATABASE_URL (default: the local
PostgreSQL as ``postgres``), migrates it, and builds one community with a station of 50 items and 2,000 residents
with points. Phases:

- place: ``callers`` concurrent residents place one-item orders on random items (auto-approved by policy), latency
  from call to commit;
- place_hot: the same, every order for one item, so every order queues on that item's stock row;
- hand_over: the placed orders handed over at the counter by ``callers`` concurrent clerks;
- sweep: orders whose window passed, expired by the sweeper (goods released, holds voided), per second;
- reconcile / verify: one reconciliation of the station and ``verify_ledger`` of the community, after all that.

The last line is one JSON object with every figure. The database is dropped at the end, also after a failure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from timebank.access.principal import Principal
from timebank.community import people, places
from timebank.community.accounts import SystemRole, system_account_id
from timebank.db import EVERY_COMMUNITY, Database, bound
from timebank.ledger import Asset, Code, LedgerService, Transfer
from timebank.ledger.verify import verify_ledger
from timebank.rewards import Category, NewItem, Policy, Source, catalogue, policy
from timebank.rewards.codes import PickupCodes
from timebank.rewards.counter import hand_over
from timebank.rewards.orders import OrderRequest, place_order
from timebank.rewards.points import person_points
from timebank.rewards.reconciliation import reconcile
from timebank.rewards.sweeper import sweep_expired_orders

DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
RESIDENTS = 2_000
ITEMS = 50
ACTOR = Principal.system("bench")
CODES = PickupCodes(b"b" * 32)


@dataclass(frozen=True, slots=True)
class Mall:
    community: uuid.UUID
    station: uuid.UUID
    items: list[uuid.UUID]
    residents: list[uuid.UUID]


async def _build(database: Database) -> Mall:
    street, community, station = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with bound(database.pool, EVERY_COMMUNITY) as connection:
        await connection.execute("INSERT INTO street (id, code, name) VALUES ($1, 'bench', '测试街道')", street)
        await places.create_community(connection, ACTOR, id=community, street_id=street, code="bench", name="社区")
        await policy.set_policy(
            connection, ACTOR, Policy(community_id=community, version=1, auto_approve_max_points=1_000_000)
        )
        await catalogue.create_station(connection, ACTOR, community, id=station, name="爱心超市")
        items = []
        for n in range(ITEMS):
            item = NewItem(id=uuid.uuid4(), station_id=station, name=f"商品{n}", category=Category.daily_goods,
                           price_points=5 + n % 40, source=Source.purchased)  # fmt: skip
            await catalogue.create_item(connection, ACTOR, community, item)
            await catalogue.move_stock(
                connection, ACTOR, item.id, id=uuid.uuid4(), kind="purchase_in", quantity=1_000_000
            )
            items.append(item.id)
        residents = []
        for n in range(RESIDENTS):
            person, _ = await people.register_person(
                connection, ACTOR, community, people.NewPerson(id=uuid.uuid4(), name=f"居民{n}")
            )
            residents.append(person.id)
    source = system_account_id(community, SystemRole.issuance, Asset.points)
    await LedgerService(database.pool).create_transfers(
        [
            Transfer(id=uuid.uuid4(), debit_account_id=source, credit_account_id=person_points(community, r),
                     amount=10_000_000, code=Code.issuance)
            for r in residents
        ]
    )  # fmt: skip
    return Mall(community, station, items, residents)


async def _load(
    callers: int, duration: float, work: Callable[[random.Random], Awaitable[None]]
) -> tuple[int, list[float]]:
    """Run ``work`` from ``callers`` concurrent tasks for ``duration`` seconds; returns count and latencies (ms)."""
    latencies: list[float] = []
    deadline = time.perf_counter() + duration

    async def caller(seed: int) -> None:
        rng = random.Random(seed)
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            await work(rng)
            latencies.append((time.perf_counter() - started) * 1000)

    await asyncio.gather(*(caller(seed) for seed in range(callers)))
    return len(latencies), latencies


def _summary(name: str, count: int, latencies: list[float], duration: float) -> dict[str, float]:
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    figures = {
        f"{name}_per_s": round(count / duration, 1),
        f"{name}_p50_ms": round(quantiles[49], 2),
        f"{name}_p99_ms": round(quantiles[98], 2),
    }
    print(f"{name:>10}: {figures[f'{name}_per_s']:>8} /s   p50 {quantiles[49]:.2f} ms   p99 {quantiles[98]:.2f} ms")
    return figures


async def run(server_url: str, duration: float, callers: int) -> dict[str, float]:
    name = f"timebank_bench_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    head, _, query = server_url.partition("?")
    url = head.rsplit("/", 1)[0] + f"/{name}" + (f"?{query}" if query else "")
    database = Database(url, pool_size=callers + 2)
    try:
        await database.migrate_forwards()
        await database.open()
        mall = await _build(database)
        placed: list[uuid.UUID] = []
        figures: dict[str, float] = {}

        async def place(rng: random.Random, item: uuid.UUID | None = None) -> None:
            person = rng.choice(mall.residents)
            request = OrderRequest(id=uuid.uuid4(), station_id=mall.station, person_id=person,
                                   lines=((item or rng.choice(mall.items), 1),))  # fmt: skip
            async with bound(database.pool, [mall.community]) as connection:
                await place_order(connection, ACTOR, CODES, mall.community, request)
            placed.append(request.id)

        count, latencies = await _load(callers, duration, place)
        figures |= _summary("place", count, latencies, duration)
        hot = mall.items[0]
        count, latencies = await _load(callers, duration, lambda rng: place(rng, hot))
        figures |= _summary("place_hot", count, latencies, duration)

        queue = list(placed)

        async def handing(rng: random.Random) -> None:
            if not queue:
                await asyncio.sleep(0.01)
                return
            order_id = queue.pop()
            async with bound(database.pool, [mall.community]) as connection:
                attempt = await connection.fetchval("SELECT code_attempt FROM rewards_order WHERE id = $1", order_id)
                await hand_over(connection, ACTOR, CODES, order_id, code=CODES.code(order_id, attempt))

        count, latencies = await _load(callers, duration, handing)
        figures |= _summary("hand_over", count, latencies, duration)

        # Everything still open: end its window now (as the owner: the service may not move a window), then sweep.
        owner = await asyncpg.connect(url)
        try:
            await owner.execute(
                "UPDATE rewards_order SET expires_at = clock_timestamp() WHERE status IN ('placed', 'approved')"
            )
        finally:
            await owner.close()
        started = time.perf_counter()
        expired = await sweep_expired_orders(database.pool)
        elapsed = time.perf_counter() - started
        figures["sweep_per_s"] = round(expired / elapsed, 1) if expired else 0.0
        print(f"{'sweep':>10}: {figures['sweep_per_s']:>8} /s   ({expired} orders)")

        started = time.perf_counter()
        async with bound(database.pool, [mall.community]) as connection:
            report = await reconcile(connection, mall.station, since=datetime.now(UTC) - timedelta(days=1))
        figures["reconcile_ms"] = round((time.perf_counter() - started) * 1000, 1)
        started = time.perf_counter()
        async with database.pool.acquire() as connection:
            verified = await verify_ledger(connection, mall.community)
        figures["verify_ms"] = round((time.perf_counter() - started) * 1000, 1)
        figures["orders"] = len(placed)
        print(f" reconcile: {figures['reconcile_ms']} ms, balanced={report.balanced}   verify: "
              f"{figures['verify_ms']} ms, ok={verified.ok}")  # fmt: skip
        if not report.balanced or not verified.ok:
            raise SystemExit(f"books do not agree: {report.discrepancies} {verified.violations}")
        return figures
    finally:
        await database.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per load phase")
    parser.add_argument("--callers", type=int, default=16, help="concurrent callers")
    args = parser.parse_args()
    server_url = os.environ.get("TIMEBANK_BENCH_DATABASE_URL", DEFAULT_SERVER_URL)
    figures = asyncio.run(run(server_url, args.duration, args.callers))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
