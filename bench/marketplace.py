"""Benchmark matching and the order cycle on the demo street: explained suggestions for a year's needs, then orders.

Run from the repository root:  python -m bench.marketplace [--needs 60] [--claimers 16]

Creates a throwaway database ``timebank_bench_<random>`` on TIMEBANK_BENCH_DATABASE_URL (default: the local
PostgreSQL as ``postgres``), migrates it, seeds the demo street (``timebank demo seed``), raises the demo need list
for 苏州路社区 (``timebank.marketplace.demo``) and measures:

- suggest: ``suggest_for_need`` for every need (its candidates: the community's ~1,100 volunteers, party members,
  teams and units), median and p95 milliseconds, and the share of needs with a fitting candidate among the top
  three (fitting: its category or skills answer the need; strictly: by a stated skill or the category itself);
- cycle: each need opened, claimed, done and rated one after another (public good, so each close posts points);
  orders per second;
- race: ``--claimers`` tasks claiming the same open order at once, repeated over ten orders: the winners counted.

Prints each figure and ends with one JSON line. The database is dropped at the end, also after a failure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import uuid

import asyncpg

from bench.import_people import with_database
from timebank.access.principal import Principal
from timebank.community.demo import seed_demo
from timebank.db import EVERY_COMMUNITY, Database, bound
from timebank.errors import TimebankError
from timebank.marketplace import claims, orders
from timebank.marketplace.demo import raise_demo_needs
from timebank.marketplace.errors import AlreadyClaimed
from timebank.marketplace.matching import suggest_for_need
from timebank.marketplace.model import OrderMode

DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
KEY = b"bench.marketplace personal key"
SYSTEM = Principal.system("bench.marketplace")

Figures = dict[str, float | int | str]


def _person(person_id: uuid.UUID, community: uuid.UUID) -> Principal:
    return Principal(subject=f"person:{person_id}", person_id=person_id, home_community_id=community,
                     communities=frozenset({community}))  # fmt: skip


async def measure(url: str, args: argparse.Namespace) -> Figures:
    database = Database(url, pool_size=args.claimers + 2)
    await database.migrate_forwards()
    await database.open()
    started = time.perf_counter()
    await seed_demo(database.pool, KEY)
    figures: Figures = {"seed_s": round(time.perf_counter() - started, 1)}
    async with bound(database.pool, EVERY_COMMUNITY) as connection:
        community = await connection.fetchval("SELECT id FROM community WHERE code = 'suzhoulu'")
        need_ids = await raise_demo_needs(connection, community, SYSTEM, count=args.needs)
        volunteers = [
            row["person_id"]
            for row in await connection.fetch(
                """
                SELECT DISTINCT person_id FROM membership
                WHERE community_id = $1 AND kind = 'volunteer' AND left_on IS NULL ORDER BY person_id LIMIT $2
                """,
                community,
                args.claimers + 1,
            )
        ]

    timings, any_fit, skilled = [], 0, 0
    for need_id in need_ids:
        async with bound(database.pool, [community]) as connection:
            began = time.perf_counter()
            found = await suggest_for_need(connection, need_id)
            timings.append((time.perf_counter() - began) * 1000)
        top = found[:3]
        any_fit += any(s.fits for s in top)
        skilled += any(r.code in ("skill", "category") for s in top for r in s.reasons)
    figures |= {
        "suggest_median_ms": round(statistics.median(timings), 1),
        "suggest_p95_ms": round(sorted(timings)[int(len(timings) * 0.95) - 1], 1),
        "needs": len(need_ids),
        "top3_fitting": any_fit,
        "top3_fitting_share": round(any_fit / len(need_ids), 3),
        "top3_by_skill_or_category": skilled,
    }

    helper = _person(volunteers[0], community)
    began = time.perf_counter()
    for need_id in need_ids:
        async with bound(database.pool, [community]) as connection:
            order, _ = await orders.place_order(
                connection, SYSTEM, orders.NewOrder(id=uuid.uuid4(), need_id=need_id, mode=OrderMode.open)
            )
            await claims.claim_order(connection, helper, order.id, claims.NewClaim(id=uuid.uuid4()))
            await claims.mark_done(connection, helper, order.id, minutes=60, proof_text="已完成")
            await claims.rate_order(connection, SYSTEM, order.id, rating=5)
    elapsed = time.perf_counter() - began
    figures["cycle_orders_per_s"] = round(len(need_ids) / elapsed, 1)

    winners = []
    async with bound(database.pool, EVERY_COMMUNITY) as connection:
        race_needs = await raise_demo_needs(connection, community, SYSTEM, count=10, seed=9)
        race_orders = [
            (
                await orders.place_order(
                    connection, SYSTEM, orders.NewOrder(id=uuid.uuid4(), need_id=n, mode=OrderMode.open)
                )
            )[0].id
            for n in race_needs
        ]

    async def claim(order_id: uuid.UUID, person_id: uuid.UUID) -> int:
        try:
            async with bound(database.pool, [community]) as connection:
                await claims.claim_order(
                    connection, _person(person_id, community), order_id, claims.NewClaim(id=uuid.uuid4())
                )
        except (AlreadyClaimed, TimebankError):
            return 0
        return 1

    for order_id in race_orders:
        results = await asyncio.gather(*(claim(order_id, person) for person in volunteers[1 : args.claimers + 1]))
        winners.append(sum(results))
    figures["race_orders"] = len(race_orders)
    figures["race_claimers"] = args.claimers
    figures["race_winners_per_order"] = ",".join(str(w) for w in winners)
    await database.close()
    return figures


async def run(args: argparse.Namespace) -> Figures:
    server = os.environ.get("TIMEBANK_BENCH_DATABASE_URL", DEFAULT_SERVER_URL)
    name = f"timebank_bench_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            return await measure(with_database(server, name), args)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--needs", type=int, default=60)
    parser.add_argument("--claimers", type=int, default=16)
    return parser.parse_args()


def main() -> int:
    figures = asyncio.run(run(parse_args()))
    for key, value in figures.items():
        print(f"{key:>28}: {value}")
    print(json.dumps(figures, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
