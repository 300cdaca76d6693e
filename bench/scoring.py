"""Benchmark a party-assessment year at the seed's scale (domain rules §6(c), §7(c)).

Run from the repository root:  python -m bench.scoring [--members 450] [--events 9000] [--concurrency 8]

Creates a throwaway database ``timebank_bench_<random>`` on TIMEBANK_BENCH_DATABASE_URL (default: the local
PostgreSQL as ``postgres``), migrates it, and builds one community: five branches of four building groups, the
members spread over them, their secretaries and a staff member. Then it measures, each step as the service runs it
(one transaction per request, ``--concurrency`` requests at once on the pool):

- open: opening the period, every member enrolled with account, card and base score (one transaction);
- events: the year's score events, half recorded by the branch (``record_item``) and half automatic credits from
  volunteering (``credit_item``), many of them against exhausted caps; events/s and latency percentiles;
- campaign: one pledge per member in four of five, reported, reviewed by secretary, a peer and a resident, assessed;
- close: scoring comparisons, settling open pledges, closing every account;
- draft: the star-rating list;
- reads: the community leaderboard, a branch's, and a member's standing with breakdown (latency percentiles);

and checks afterwards that every member's entries add up to their balance and the ledger verifies. It prints each
figure and ends with one JSON line. The database is dropped at the end, also after a failure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg

from timebank.access.principal import Grant, Principal, Role, ScopeKind
from timebank.db import EVERY_COMMUNITY, Database, bound
from timebank.ledger.verify import verify_ledger
from timebank.scoring import boards, campaign, catalogue, credit_item, periods, ratings, recording
from timebank.scoring.catalogue import NewCatalogue
from timebank.scoring.model import Item, ItemKind, ItemSource

DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
SYSTEM = Principal.system("bench.scoring")
START, END = date(2026, 1, 1), date(2026, 12, 31)

ITEMS = (
    Item(code="three_meetings", name="三会一课", kind=ItemKind.bonus, source=ItemSource.manual, points=3, cap=12),
    Item(code="party_day", name="主题党日", kind=ItemKind.bonus, source=ItemSource.manual, points=2, cap=8),
    Item(code="study", name="集中学习", kind=ItemKind.bonus, source=ItemSource.manual, points=2, cap=12),
    Item(code="missed_meeting", name="无故缺席", kind=ItemKind.deduction, source=ItemSource.manual, points=5, cap=20),
    Item(code="volunteer_hour", name="志愿服务", kind=ItemKind.bonus, source=ItemSource.automatic, points=1, cap=40),
    Item(code="pledge_kept", name="承诺践诺", kind=ItemKind.bonus, source=ItemSource.pledge, points=10, cap=20),
    Item(code="compare_conduct", name="比作风", kind=ItemKind.bonus, source=ItemSource.comparison, points=5),
    Item(code="appraisal", name="民主评议", kind=ItemKind.bonus, source=ItemSource.appraisal, points=20),
)
MANUAL = ("three_meetings", "party_day", "study", "missed_meeting")


def with_database(dsn: str, name: str) -> str:
    head, _, query = dsn.partition("?")
    scheme, _, rest = head.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}/{name}" + (f"?{query}" if query else "")


def person(person_id: uuid.UUID, community: uuid.UUID, *grants: Grant) -> Principal:
    return Principal(
        subject=str(person_id),
        person_id=person_id,
        home_community_id=community,
        grants=(Grant(Role.resident, ScopeKind.self, person_id, community), *grants),
        communities=frozenset({community}),
    )


class Community:
    """The benchmark's community: ids of its branches, members, secretaries, staff and residents."""

    def __init__(self, members: int) -> None:
        self.id = uuid.uuid4()
        self.branches = [uuid.uuid4() for _ in range(5)]
        self.groups = {branch: [uuid.uuid4() for _ in range(4)] for branch in self.branches}
        self.members = [uuid.uuid4() for _ in range(members)]
        self.branch_of = {m: self.branches[i % 5] for i, m in enumerate(self.members)}
        self.secretaries = {branch: uuid.uuid4() for branch in self.branches}
        self.staff = person(uuid.uuid4(), self.id, Grant(Role.community_staff, ScopeKind.community, self.id, self.id))
        self.residents = [uuid.uuid4() for _ in range(20)]

    def secretary(self, branch: uuid.UUID) -> Principal:
        secretary = self.secretaries[branch]
        return person(secretary, self.id, Grant(Role.branch_secretary, ScopeKind.branch, branch, self.id))


async def build(database: Database, c: Community) -> None:
    async with bound(database.pool, EVERY_COMMUNITY) as connection:
        street = uuid.uuid4()
        await connection.execute("INSERT INTO street (id, code, name) VALUES ($1, 'bench', '望城街道')", street)
        await connection.execute(
            "INSERT INTO community (id, street_id, code, name) VALUES ($1, $2, 'bench', '苏州路社区')", c.id, street
        )
        committee = uuid.uuid4()
        await connection.execute(
            "INSERT INTO party_org (id, community_id, level, name) VALUES ($1, $2, 'committee', '社区党委')",
            committee,
            c.id,
        )
        orgs = [(b, committee, "branch", f"第{i + 1}支部") for i, b in enumerate(c.branches)]
        orgs += [(g, b, "group", f"{b.hex[:4]}-{j + 1}组") for b in c.branches for j, g in enumerate(c.groups[b])]
        await connection.executemany(
            "INSERT INTO party_org (id, community_id, parent_id, level, name) VALUES ($1, $2, $3, $4, $5)",
            [(o, c.id, parent, level, name) for o, parent, level, name in orgs],
        )
        people = [*c.members, *c.secretaries.values(), c.staff.person_id, *c.residents]
        await connection.executemany(
            "INSERT INTO person (id, community_id, name) VALUES ($1, $2, $3)",
            [(p, c.id, f"成员{i}") for i, p in enumerate(people)],
        )
        memberships = [(m, c.groups[c.branch_of[m]][i % 4]) for i, m in enumerate(c.members)]
        memberships += [(s, b) for b, s in c.secretaries.items()]
        await connection.executemany(
            "INSERT INTO membership (id, community_id, person_id, kind, member_type, party_org_id, joined_on) "
            "VALUES ($1, $2, $3, 'party_member', 'community_managed', $4, '2025-01-01')",
            [(uuid.uuid4(), c.id, m, org) for m, org in memberships],
        )
        await catalogue.publish_catalogue(
            connection,
            SYSTEM,
            c.id,
            NewCatalogue(id=uuid.uuid4(), effective_from=START, base_score=60, items=ITEMS, period_cap=40),
        )


async def timed(work: Sequence[Callable[[], Awaitable[Any]]], concurrency: int) -> tuple[float, list[float]]:
    """Run ``work`` with ``concurrency`` at a time; total seconds and each item's latency in ms."""
    queue = list(reversed(work))
    latencies: list[float] = []

    async def worker() -> None:
        while queue:
            item = queue.pop()
            began = time.perf_counter()
            await item()
            latencies.append((time.perf_counter() - began) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started, latencies


def percentiles(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "p50_ms": round(statistics.median(ordered), 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2),
    }


async def run(url: str, members: int, events: int, concurrency: int) -> dict[str, Any]:
    rng = random.Random(7)
    database = Database(url, pool_size=concurrency + 2)
    await database.migrate_forwards()
    await database.open()
    figures: dict[str, Any] = {"members": members, "events": events, "concurrency": concurrency}
    try:
        c = Community(members)
        await build(database, c)
        pool = database.pool
        period_id = uuid.uuid4()

        began = time.perf_counter()
        async with bound(pool, [c.id]) as connection:
            await periods.open_period(
                connection, c.staff, c.id, id=period_id, name="2026", starts_on=START, ends_on=END
            )
        figures["open_s"] = round(time.perf_counter() - began, 3)

        def record(member: uuid.UUID, code: str, day: date) -> Callable[[], Awaitable[Any]]:
            async def go() -> None:
                async with bound(pool, [c.id]) as connection:
                    await recording.record_item(
                        connection,
                        c.secretary(c.branch_of[member]),
                        period_id,
                        id=uuid.uuid4(),
                        person_id=member,
                        item_code=code,
                        occurred_on=day,
                    )

            return go

        def credit(member: uuid.UUID, day: date) -> Callable[[], Awaitable[Any]]:
            async def go() -> None:
                async with bound(pool, [c.id]) as connection:
                    await credit_item(
                        connection,
                        community_id=c.id,
                        person_id=member,
                        item_code="volunteer_hour",
                        source_type="service_record",
                        source_id=str(uuid.uuid4()),
                        occurred_on=day,
                        quantity=rng.randint(1, 4),
                    )

            return go

        work = []
        for n in range(events):
            member = rng.choice(c.members)
            day = START + timedelta(days=rng.randrange(330))
            work.append(record(member, rng.choice(MANUAL), day) if n % 2 else credit(member, day))
        seconds, latencies = await timed(work, concurrency)
        figures["events_s"] = round(seconds, 3)
        figures["events_per_s"] = round(events / seconds, 1)
        figures["events_latency"] = percentiles(latencies)

        pledgers = [m for i, m in enumerate(c.members) if i % 5]
        reviewers = [*c.members[:50], *c.residents]

        def pledge(member: uuid.UUID) -> Callable[[], Awaitable[Any]]:
            async def go() -> None:
                me = person(member, c.id)
                secretary = c.secretary(c.branch_of[member])
                async with bound(pool, [c.id]) as connection:
                    found, _ = await campaign.publish_pledge(
                        connection, me, period_id, id=uuid.uuid4(), content="每月代购一次", due_on=date(2026, 11, 30)
                    )
                    await campaign.report_fulfilment(connection, me, found.id, evidence=("记录",))
                    for who in (secretary, *(person(r, c.id) for r in rng.sample(reviewers, 3) if r != member)):
                        await campaign.review(
                            connection,
                            who,
                            id=uuid.uuid4(),
                            period_id=period_id,
                            person_id=member,
                            pledge_id=found.id,
                            score=rng.randint(50, 100),
                        )
                    await campaign.assess_pledge(connection, secretary, found.id, now=datetime(2026, 12, 5, tzinfo=UTC))

            return go

        seconds, latencies = await timed([pledge(m) for m in pledgers], concurrency)
        figures["campaign_pledges"] = len(pledgers)
        figures["campaign_s"] = round(seconds, 3)
        figures["campaign_latency"] = percentiles(latencies)

        began = time.perf_counter()
        async with bound(pool, [c.id]) as connection:
            await periods.close_period(connection, c.staff, period_id, now=datetime(2027, 1, 2, tzinfo=UTC))
        figures["close_s"] = round(time.perf_counter() - began, 3)

        began = time.perf_counter()
        async with bound(pool, [c.id]) as connection:
            await ratings.draft_list(connection, c.staff, period_id, id=uuid.uuid4())
        figures["draft_s"] = round(time.perf_counter() - began, 3)

        def read(kind: str) -> Callable[[], Awaitable[Any]]:
            async def go() -> None:
                async with bound(pool, [c.id]) as connection:
                    if kind == "community":
                        await boards.leaderboard(connection, period_id, limit=500)
                    elif kind == "branch":
                        await boards.leaderboard(connection, period_id, branch_id=rng.choice(c.branches))
                    else:
                        await boards.standing(connection, period_id, rng.choice(c.members))

            return go

        for kind in ("community", "branch", "standing"):
            _, latencies = await timed([read(kind) for _ in range(300)], concurrency)
            figures[f"read_{kind}"] = percentiles(latencies)

        async with bound(pool, [c.id]) as connection:
            mismatches = await boards.reconcile(connection, period_id)
            figures["entries"] = await connection.fetchval(
                "SELECT count(*) FROM scoring_entry WHERE period_id = $1", period_id
            )
            figures["capped_entries"] = await connection.fetchval(
                "SELECT count(*) FROM scoring_entry WHERE period_id = $1 AND amount < requested", period_id
            )
        async with pool.acquire() as connection:
            report = await verify_ledger(connection, c.id)
        figures["reconciled"] = not mismatches
        figures["ledger_verified"] = report.ok
        figures["transfers"] = report.transfers
    finally:
        await database.close()
    return figures


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=450)
    parser.add_argument("--events", type=int, default=9000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    server = os.environ.get("TIMEBANK_BENCH_DATABASE_URL", DEFAULT_SERVER_URL)
    name = f"timebank_bench_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        figures = await run(with_database(server, name), args.members, args.events, args.concurrency)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    for key, value in figures.items():
        print(f"{key:>18}: {value}")
    print(json.dumps(figures, ensure_ascii=False))
    return 0 if figures["reconciled"] and figures["ledger_verified"] else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
