"""Benchmark the ledger's write paths against the design anchors measured on a machine like ours.

Run from the repository root:  python -m bench.ledger [--duration 10] [--batch-size 1000] [--skip-http]

Creates a throwaway database ``timebank_bench_<random>`` on TIMEBANK_BENCH_DATABASE_URL (default: the local
PostgreSQL as ``postgres``), migrates it, opens one community with an issuance account and 10,000 funded users, then
measures in one run:

- batch / batch_hot: batches through ``LedgerService.create_transfers`` on 2 concurrent writers, uniform random
  user pairs / every transfer debiting the issuance account;
- bytes_per_transfer: ledger_transfer (with indexes), ledger_seal and ledger_chain_head per stored transfer, taken
  right after the batch phases;
- grouped: 200 concurrent callers submitting single transfers through ``TransferBatcher`` (half of them earning
  from the issuance account), latency from submit to acknowledgement (= commit);
- raw_single / raw_hot: the baseline without batching, one transfer per transaction on 16 connections;
- http / http_trivial: ``timebank serve`` as a subprocess loaded by wrk (bench/_ledger_http.py); the trivial
  endpoint is measured before and after the transfer run, and http_trivial_tps is the mean of the two.

Before the grouped, single and HTTP phases the ledger's tables are vacuumed and analysed (``settle``), so no phase
pays for the autovacuum of the one before.

Every figure is printed with its anchor (shared reference ``ledger_anchors.md`` §2.3, §4.8) and, where the project
set one, whether its target is met. The last line is one JSON object with every figure. The database is dropped at
the end, also after a failure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import asyncpg
import uvloop

from bench._ledger_http import HttpFigures, run_http_phase
from timebank.db import Database
from timebank.ledger import AccountFlags, Asset, Code, LedgerService, NewAccount, Result, Transfer
from timebank.ledger.batcher import TransferBatcher
from timebank.process import settle_heap

DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
USERS = 10_000
USER_FUNDS = 1_000_000_000  # no user can run dry during a run: every refusal would be a benchmark bug
BATCH_WRITERS = 2
GROUPED_CALLERS = 200
SINGLE_CONNECTIONS = 16
HTTP_CONNECTIONS = 64

#: What the run measured, by the JSON key it is reported under; None when a phase was skipped.
Figures = dict[str, float | int | None]


# -- the community under test ---------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Community:
    issuance: uuid.UUID
    users: list[uuid.UUID]


class TransferMaker:
    """Random transfers, cheap to make (about 3 µs): the load generator shares the 2 cores with the ledger."""

    def __init__(self, community: Community, rng: random.Random) -> None:
        self.community = community
        self.rng = rng

    def _id(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def uniform(self) -> Transfer:
        users = self.community.users
        debit_no = self.rng.randrange(len(users))
        credit_no = (debit_no + 1 + self.rng.randrange(len(users) - 1)) % len(users)  # never the debit account
        return Transfer(
            id=self._id(),
            debit_account_id=users[debit_no],
            credit_account_id=users[credit_no],
            amount=1 + self.rng.randrange(10),
            code=Code.gift,
        )

    def earn(self) -> Transfer:
        """A user earns points: the community's issuance account is debited (the hot row)."""
        users = self.community.users
        return Transfer(
            id=self._id(),
            debit_account_id=self.community.issuance,
            credit_account_id=users[self.rng.randrange(len(users))],
            amount=1 + self.rng.randrange(10),
            code=Code.issuance,
        )


async def open_community(ledger: LedgerService, users: int) -> Community:
    community_id = uuid.uuid4()
    issuance = NewAccount(
        id=uuid.uuid4(), community_id=community_id, asset=Asset.points, system_role="issuance", label="points"
    )
    people = [
        NewAccount(
            id=uuid.uuid4(),
            community_id=community_id,
            asset=Asset.points,
            owner_kind="person",
            owner_id=uuid.uuid4(),
            flags=AccountFlags.debits_must_not_exceed_credits,
        )
        for _ in range(users)
    ]
    await ledger.open_accounts([issuance, *people])
    community = Community(issuance=issuance.id, users=[p.id for p in people])
    funding = [
        Transfer(id=uuid.uuid4(), debit_account_id=issuance.id, credit_account_id=p.id, amount=USER_FUNDS, code=1)
        for p in people
    ]
    for start in range(0, len(funding), 5000):
        results = await ledger.create_transfers(funding[start : start + 5000])
        assert all(r is Result.ok for r in results), "funding the users failed"
    return community


# -- phases ------------------------------------------------------------------------------------------------------
@dataclass(slots=True)
class Throughput:
    transfers: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    batch_sizes: list[int] = field(default_factory=list)

    @property
    def tps(self) -> float:
        return self.transfers / self.seconds if self.seconds else 0.0

    def count(self, result: Result) -> None:
        if result is Result.ok:
            self.transfers += 1
        else:
            self.refused[result.name] = self.refused.get(result.name, 0) + 1

    def percentile_ms(self, fraction: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


async def run_batches(
    ledger: LedgerService, make: Callable[[], Transfer], *, batch_size: int, writers: int, duration: float
) -> Throughput:
    """Writers send ready-made batches back to back until ``duration`` is up (generation is not timed)."""
    # Enough for 30,000 transfers/s (above every anchor); the phase ends early only if the ledger is faster.
    batches = [[make() for _ in range(batch_size)] for _ in range(max(2, int(30_000 * duration) // batch_size))]
    pending = iter(batches)
    measured = Throughput()
    deadline = time.perf_counter() + duration

    async def writer() -> None:
        for batch in pending:  # one shared iterator: each batch goes to exactly one writer
            if time.perf_counter() >= deadline:
                return
            for result in await ledger.create_transfers(batch):
                measured.count(result)
            measured.batch_sizes.append(len(batch))

    started = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(writers)))
    measured.seconds = time.perf_counter() - started
    return measured


async def run_callers(
    submit: Callable[[Transfer], Awaitable[Result]],
    makers: Sequence[Callable[[], Transfer]],
    *,
    duration: float,
    warmup: float,
) -> Throughput:
    """One task per maker, each submitting one transfer at a time; counts what is acknowledged inside the window."""
    measured = Throughput()
    started = time.perf_counter()
    window_start, window_end = started + warmup, started + warmup + duration

    async def caller(make: Callable[[], Transfer]) -> None:
        while (now := time.perf_counter()) < window_end:
            transfer = make()
            result = await submit(transfer)
            acked = time.perf_counter()
            if now >= window_start and acked <= window_end:
                measured.count(result)
                measured.latencies_ms.append((acked - now) * 1000)

    await asyncio.gather(*(caller(make) for make in makers))
    measured.seconds = duration
    return measured


async def run_grouped(ledger: LedgerService, maker: TransferMaker, *, duration: float, warmup: float) -> Throughput:
    """GROUPED_CALLERS tasks submit single transfers through the batcher; even-numbered ones earn from issuance."""
    batch_sizes: list[int] = []

    async def write(transfers: list[Transfer]) -> list[Result]:
        batch_sizes.append(len(transfers))
        return await ledger.create_transfers(transfers)

    # This process plays the service: it settles its heap as timebank/app.py does at start-up, and it groups with the
    # service's batcher settings.
    settle_heap()
    batcher = TransferBatcher(write)
    await batcher.start()
    try:
        makers = [maker.earn if n % 2 == 0 else maker.uniform for n in range(GROUPED_CALLERS)]
        measured = await run_callers(batcher.submit, makers, duration=duration, warmup=warmup)
    finally:
        await batcher.stop()
    measured.batch_sizes = batch_sizes
    return measured


async def run_single(
    ledger: LedgerService, make: Callable[[], Transfer], *, duration: float, warmup: float
) -> Throughput:
    """The baseline: SINGLE_CONNECTIONS tasks, each committing one transfer per transaction."""

    async def submit(transfer: Transfer) -> Result:
        [result] = await ledger.create_transfers([transfer])
        return result

    return await run_callers(submit, [make] * SINGLE_CONNECTIONS, duration=duration, warmup=warmup)


async def ledger_bytes(pool: asyncpg.Pool) -> tuple[float, dict[str, int]]:
    """Bytes per stored transfer (the transfer row carries both entries), and the parts they add up from."""
    row = await pool.fetchrow(
        """
        SELECT (SELECT count(*) FROM ledger_transfer) AS transfers,
               pg_relation_size('ledger_transfer') AS transfer_heap,
               pg_indexes_size('ledger_transfer') AS transfer_indexes,
               pg_total_relation_size('ledger_transfer') - pg_relation_size('ledger_transfer')
                   - pg_indexes_size('ledger_transfer') AS transfer_toast_and_maps,
               pg_total_relation_size('ledger_seal') AS seal,
               pg_total_relation_size('ledger_chain_head') AS chain_head
        """
    )
    parts = {key: int(row[key]) for key in ("transfer_heap", "transfer_indexes", "transfer_toast_and_maps", "seal")}
    parts["chain_head"] = int(row["chain_head"])
    parts["transfers"] = int(row["transfers"])
    total = sum(value for key, value in parts.items() if key != "transfers")
    return total / max(1, parts["transfers"]), parts


# -- the machine, for context ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class FsyncProbe:
    mean_us: float
    p999_ms: float
    max_ms: float
    stalls: int  # fdatasyncs over 20 ms: each one holds up every commit waiting on the WAL, so the grouped p99 too


def probe_fdatasync(directory: str, seconds: float = 3.0) -> FsyncProbe:
    """8 kB write + fdatasync, back to back; the anchors' machine measured a mean of 122 µs (pg_test_fsync)."""
    latencies = []
    with tempfile.NamedTemporaryFile(dir=directory) as probe:
        block, started = b"\0" * 8192, time.perf_counter()
        while time.perf_counter() - started < seconds:
            began = time.perf_counter()
            os.pwrite(probe.fileno(), block, 0)
            os.fdatasync(probe.fileno())
            latencies.append(time.perf_counter() - began)
    latencies.sort()
    return FsyncProbe(
        mean_us=statistics.fmean(latencies) * 1e6,
        p999_ms=latencies[int(0.999 * (len(latencies) - 1))] * 1e3,
        max_ms=latencies[-1] * 1e3,
        stalls=sum(latency > 0.020 for latency in latencies),
    )


async def server_settings(pool: asyncpg.Pool) -> str:
    rows = await pool.fetch(
        "SELECT name, setting, unit FROM pg_settings WHERE name = ANY($1::text[]) ORDER BY name",
        ["shared_buffers", "synchronous_commit", "max_wal_size", "checkpoint_timeout", "commit_delay", "fsync"],
    )
    version = await pool.fetchval("SHOW server_version")
    return f"PostgreSQL {version.split()[0]}, " + ", ".join(
        f"{r['name']}={r['setting']}{r['unit'] or ''}" for r in rows
    )


# -- reporting ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Figure:
    key: str
    label: str
    unit: str
    anchor: str


FIGURES = [
    Figure("batch_tps", "batches, uniform", "transfers/s", "anchor 14,744 (xfer_many 2x1000) / 23,203 (netted)"),
    Figure("batch_hot_tps", "batches, hot issuance", "transfers/s", "anchor 11,676 (xfer_many) / 27,562 (netted)"),
    Figure("bytes_per_transfer", "storage", "bytes/transfer", "anchor 372 (transfers + entries + indexes)"),
    Figure("grouped_tps", "grouped singles", "acked/s", "anchor 12,408 (xfer_many) / 18,411 (netted), 200 in flight"),
    Figure("grouped_p99_ms", "grouped p99", "ms", "anchor 23.6 (xfer_many) / 16.4 (netted)"),
    Figure("raw_single_tps", "1 per txn, uniform", "transfers/s", "anchor 9,474 (SELECT xfer(), 16 conns)"),
    Figure("raw_hot_tps", "1 per txn, hot", "transfers/s", "anchor 2,303 (SELECT xfer(), 16 conns)"),
    Figure("http_trivial_tps", "HTTP GET /health/live", "req/s", "same app, same run"),
    Figure("http_tps", "HTTP POST transfer", "req/s", "target >= 0.4 x http_trivial_tps"),
    Figure("http_p99_ms", "HTTP POST transfer p99", "ms", "target <= 50"),
]


def targets(figures: Figures) -> dict[str, bool | None]:
    """The project's targets; None when a figure could not be measured."""

    def ok(*keys: str, test: Callable[..., bool]) -> bool | None:
        values = [figures.get(key) for key in keys]
        return None if any(v is None for v in values) else test(*values)

    return {
        "batch_tps >= 15000": ok("batch_tps", test=lambda v: v >= 15_000),
        "batch_hot_tps >= 15000": ok("batch_hot_tps", test=lambda v: v >= 15_000),
        "grouped_tps >= 10000 at grouped_p99_ms <= 20": ok(
            "grouped_tps", "grouped_p99_ms", test=lambda tps, p99: tps >= 10_000 and p99 <= 20
        ),
        "http_tps >= 0.4 x http_trivial_tps at http_p99_ms <= 50": ok(
            "http_tps",
            "http_trivial_tps",
            "http_p99_ms",
            test=lambda tps, trivial, p99: tps >= 0.4 * trivial and p99 <= 50,
        ),
        "bytes_per_transfer <= 500": ok("bytes_per_transfer", test=lambda v: v <= 500),
    }


def show(figure: Figure, value: float | int | None) -> None:
    shown = (
        "skipped" if value is None else f"{value:,.1f}" if isinstance(value, float) and value < 100 else f"{value:,.0f}"
    )
    print(f"  {figure.key:20} {figure.label:24} {shown:>10} {figure.unit:14} {figure.anchor}", flush=True)


def describe(name: str, measured: Throughput, rows_before: int) -> None:
    extra = ""
    if measured.latencies_ms:
        extra += f"  p50 {measured.percentile_ms(0.5):.1f} ms  p99 {measured.percentile_ms(0.99):.1f} ms"
    if measured.batch_sizes:
        extra += f"  batches {len(measured.batch_sizes)}, mean size {statistics.fmean(measured.batch_sizes):.0f}"
    refused = f"  REFUSED {measured.refused}" if measured.refused else ""
    print(
        f"[{name}] {measured.transfers:,} ok in {measured.seconds:.1f} s = {measured.tps:,.0f}/s{extra}{refused}"
        f"  ({rows_before:,} rows before)",
        flush=True,
    )


def with_database(url: str, name: str) -> str:
    """``url`` pointed at database ``name``, keeping host, user and query (e.g. a socket directory)."""
    head, _, query = url.partition("?")
    scheme, _, rest = head.partition("://")
    authority = rest.split("/", 1)[0]
    return f"{scheme}://{authority}/{name}" + (f"?{query}" if query else "")


# -- the phases of one run, each returning its figures ------------------------------------------------------------
async def ledger_rows(pool: asyncpg.Pool) -> int:
    """Rows already in ledger_transfer: later phases run on a bigger table, and index inserts slow down with it."""
    return int(await pool.fetchval("SELECT count(*) FROM ledger_transfer"))


async def batch_phases(ledger: LedgerService, maker: TransferMaker, args: argparse.Namespace) -> Figures:
    figures: Figures = {}
    for key, name, make in (("batch_tps", "batch uniform", maker.uniform), ("batch_hot_tps", "batch hot", maker.earn)):
        rows = await ledger_rows(ledger.pool)
        measured = await run_batches(
            ledger, make, batch_size=args.batch_size, writers=BATCH_WRITERS, duration=args.duration
        )
        describe(name, measured, rows)
        figures[key] = round(measured.tps)
    return figures


async def storage_phase(pool: asyncpg.Pool) -> Figures:
    per_transfer, parts = await ledger_bytes(pool)
    print("[storage] " + ", ".join(f"{key} {value:,}" for key, value in parts.items()))
    return {"bytes_per_transfer": round(per_transfer, 1)}


async def settle(url: str, before: str) -> None:
    """Vacuum and analyse the ledger's tables, as pgbench vacuums before a run.

    Why: the batch phases append half a million transfers in 20 s; left alone, the autovacuum and re-planning they
    trigger land in whichever phase runs next. No CHECKPOINT here: one forced right before a phase makes that phase
    write a full-page image of every page it touches first (with random uuid keys, many index leaves).
    """
    started = time.perf_counter()
    connection = await asyncpg.connect(url)
    try:
        await connection.execute("VACUUM (ANALYZE) ledger_transfer, ledger_account, ledger_seal, ledger_chain_head")
    except asyncpg.InsufficientPrivilegeError as refused:
        print(f"[settle before {before}] skipped: {refused}")
        return
    finally:
        await connection.close()
    print(f"[settle before {before}] vacuum and analyse in {time.perf_counter() - started:.1f} s")


async def grouped_phase(ledger: LedgerService, maker: TransferMaker, args: argparse.Namespace) -> Figures:
    rows = await ledger_rows(ledger.pool)
    measured = await run_grouped(ledger, maker, duration=args.duration, warmup=1.0)
    describe("grouped", measured, rows)
    return {
        "grouped_tps": round(measured.tps),
        "grouped_p50_ms": round(measured.percentile_ms(0.5), 2),
        "grouped_p99_ms": round(measured.percentile_ms(0.99), 2),
        "grouped_mean_batch": round(statistics.fmean(measured.batch_sizes), 1),
    }


async def single_phases(ledger: LedgerService, maker: TransferMaker, args: argparse.Namespace) -> Figures:
    figures: Figures = {}
    for key, name, make in (
        ("raw_single", "1 per txn uniform", maker.uniform),
        ("raw_hot", "1 per txn hot", maker.earn),
    ):
        rows = await ledger_rows(ledger.pool)
        measured = await run_single(ledger, make, duration=args.duration, warmup=1.0)
        describe(name, measured, rows)
        figures |= {f"{key}_tps": round(measured.tps), f"{key}_p99_ms": round(measured.percentile_ms(0.99), 2)}
    return figures


async def http_phase(pool: asyncpg.Pool, url: str, community: Community, args: argparse.Namespace) -> Figures:
    figures: Figures = {"http_trivial_tps": None, "http_tps": None, "http_p50_ms": None, "http_p99_ms": None}
    if args.skip_http:
        print("[http] skipped (--skip-http)")
        return figures
    if shutil.which("wrk") is None:
        print("[http] skipped: `wrk` is not on PATH (Debian: apt-get install wrk)")
        return figures
    before = await ledger_rows(pool)
    http: HttpFigures = await asyncio.to_thread(
        run_http_phase,
        url,
        issuance=community.issuance,
        users=community.users,
        issuance_code=Code.issuance,
        gift_code=Code.gift,
        connections=HTTP_CONNECTIONS,
        duration=f"{args.duration:g}s",
        warmup="2s",
    )
    committed = await ledger_rows(pool) - before
    for when, run in (("before", http.trivial), ("after", http.trivial_after)):
        if run is not None:
            print(f"[http trivial {when}] {run.rps:,.0f} req/s  p99 {run.p99_ms:.1f} ms  errors {run.errors}")
    figures["http_trivial_tps"] = round(http.trivial_rps)
    if http.transfer is None:
        print(f"[http transfer] SKIPPED: {http.skipped_because}")
        return figures
    t = http.transfer
    # Requests still in flight when wrk stops are committed too, so "committed" may exceed the answered count.
    print(f"[http transfer] {t.rps:,.0f} req/s  p50 {t.p50_ms:.1f} ms  p99 {t.p99_ms:.1f} ms  errors {t.errors}  "
          f"committed {committed:,} of {http.posted:,} answered  ({before:,} rows before)")  # fmt: skip
    return figures | {
        "http_tps": round(t.rps),
        "http_p50_ms": t.p50_ms,
        "http_p99_ms": t.p99_ms,
        "http_errors": t.errors,
    }


# -- the run -----------------------------------------------------------------------------------------------------
async def measure(url: str, args: argparse.Namespace) -> Figures:
    figures: Figures = {"batch_size": args.batch_size, "users": args.users}
    await Database(url).migrate_forwards()
    database = Database(url, pool_size=SINGLE_CONNECTIONS + BATCH_WRITERS)
    await database.open()
    try:
        ledger = LedgerService(database.pool)
        fsync = probe_fdatasync(tempfile.gettempdir())
        print(f"context: {os.cpu_count()} CPUs, {await server_settings(database.pool)}; fdatasync here: mean "
              f"{fsync.mean_us:.0f} µs (anchors' machine: 122 µs), p99.9 {fsync.p999_ms:.1f} ms, "
              f"max {fsync.max_ms:.0f} ms, {fsync.stalls} over 20 ms in 3 s", flush=True)  # fmt: skip
        figures |= {"fsync_mean_us": round(fsync.mean_us), "fsync_max_ms": round(fsync.max_ms, 1),
                    "fsync_stalls_3s": fsync.stalls}  # fmt: skip
        started = time.perf_counter()
        community = await open_community(ledger, args.users)
        print(f"[setup] {args.users:,} users funded in {time.perf_counter() - started:.1f} s", flush=True)
        maker = TransferMaker(community, random.Random())
        figures |= await batch_phases(ledger, maker, args)
        figures |= await storage_phase(database.pool)  # right after the batch phases, as the targets define it
        await settle(url, "grouped")
        figures |= await grouped_phase(ledger, maker, args)
        await settle(url, "single")
        figures |= await single_phases(ledger, maker, args)
        await settle(url, "http")
        figures |= await http_phase(database.pool, url, community, args)
    finally:
        await database.close()
    return figures


async def run(args: argparse.Namespace) -> Figures:
    server_url = os.environ.get("TIMEBANK_BENCH_DATABASE_URL", "").strip() or DEFAULT_SERVER_URL
    name = f"timebank_bench_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        return await measure(with_database(server_url, name), args)
    finally:
        admin = await asyncpg.connect(server_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per phase")
    parser.add_argument("--batch-size", type=int, default=1000, help="transfers per batch in the batch phases")
    parser.add_argument("--users", type=int, default=USERS)
    parser.add_argument("--skip-http", action="store_true", help="leave out the timebank serve + wrk phase")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    started = time.perf_counter()
    figures = uvloop.run(run(args))
    print(f"results ({time.perf_counter() - started:.0f} s in all):")
    for figure in FIGURES:
        show(figure, figures.get(figure.key))
    verdicts = targets(figures)
    for target, met in verdicts.items():
        print(f"  target {target:58} {'met' if met else 'n/a' if met is None else 'MISSED'}")
    figures["targets_met"] = sum(bool(v) for v in verdicts.values())
    figures["targets_total"] = len(verdicts)
    print(json.dumps(figures | {"targets": verdicts}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
