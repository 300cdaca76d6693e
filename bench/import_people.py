"""Benchmark the people import: a 10,000-row sheet with planted errors, read, checked, dry-run, applied, re-applied.

Run from the repository root:  python -m bench.import_people [--rows 10000] [--errors 100] [--format csv|xlsx]

Creates a throwaway database ``timebank_bench_<random>`` on TIMEBANK_BENCH_DATABASE_URL (default: the local
PostgreSQL as ``postgres``), migrates it, adds one community, writes the sample sheet (``timebank.community.
demo_sheet``: households of made-up residents, party members, volunteers, one spoilt cell per planted error), then
measures in one run:

- prepare: reading the file and checking every row (no database);
- dry run: everything the import does, in a transaction rolled back;
- apply: the import itself; rows/s counts prepare + apply, what ``timebank people import`` spends after start-up;
- again: importing the same file a second time, which must change nothing;
- baseline: plain COPY of the same cells (as text) into a scratch table in one transaction, the floor for getting
  these rows into PostgreSQL at all.

It checks that every planted error is reported at its row and column and that the other rows were imported, prints
each figure, and ends with one JSON line. The target (issue 4) is 10,000 rows in 30 s or less. The database is
dropped at the end, also after a failure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg

from timebank.community.demo_sheet import SampleSheet, sample_sheet, write_csv, write_xlsx
from timebank.community.importing import ImportReport, apply_import, prepare_import
from timebank.db import EVERY_COMMUNITY, Database, bound

DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
TARGET_SECONDS = 30.0
KEY = b"bench.import_people personal key"

Figures = dict[str, float | int | bool | str]


def with_database(dsn: str, name: str) -> str:
    head, _, query = dsn.partition("?")
    scheme, _, rest = head.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}/{name}" + (f"?{query}" if query else "")


async def add_community(database: Database) -> str:
    code = "bench"
    async with bound(database.pool, EVERY_COMMUNITY) as connection:
        street = uuid.uuid4()
        await connection.execute("INSERT INTO street (id, code, name) VALUES ($1, 'bench', '望城街道')", street)
        await connection.execute(
            "INSERT INTO community (id, street_id, code, name) VALUES ($1, $2, $3, '苏州路社区')",
            uuid.uuid4(),
            street,
            code,
        )
    return code


def planted_found(report: ImportReport, sheet: SampleSheet) -> bool:
    reported = {(error.row, error.column): error.problem for error in report.errors}
    expected = {(planted.row, planted.column): planted.problem for planted in sheet.planted}
    return reported.keys() == expected.keys() and all(words in reported[at] for at, words in expected.items())


async def copy_baseline(database: Database, sheet: SampleSheet) -> float:
    columns = [f"c{at}" for at in range(len(sheet.headers))]
    started = time.perf_counter()
    async with database.pool.acquire() as connection, connection.transaction():
        await connection.execute(f"CREATE TEMP TABLE baseline ({', '.join(f'{c} text' for c in columns)})")
        await connection.copy_records_to_table("baseline", records=sheet.rows, columns=columns)
    return time.perf_counter() - started


async def measure(url: str, args: argparse.Namespace, workdir: Path) -> Figures:
    await Database(url).migrate_forwards()
    database = Database(url, pool_size=2)
    await database.open()
    try:
        code = await add_community(database)
        sheet = sample_sheet(args.rows, seed=args.seed, errors=args.errors)
        path = workdir / f"residents.{args.format}"
        (write_xlsx if args.format == "xlsx" else write_csv)(sheet, path)
        print(
            f"[sheet] {args.rows} rows, {args.errors} planted errors, {path.stat().st_size / 1e6:.1f} MB {args.format}"
        )

        started = time.perf_counter()
        prepared = prepare_import(path)
        prepare_s = time.perf_counter() - started
        print(f"[prepare] read and checked in {prepare_s:.2f} s")

        timings: dict[str, float] = {}
        reports: dict[str, ImportReport] = {}
        for phase, dry_run in (("dry_run", True), ("apply", False), ("again", False)):
            started = time.perf_counter()
            reports[phase] = await apply_import(database.pool, prepared, community_code=code, key=KEY, dry_run=dry_run)
            timings[phase] = time.perf_counter() - started
            report = reports[phase]
            print(f"[{phase}] {timings[phase]:.2f} s: {report.imported} imported, {len(report.errors)} errors")
            print(f"[{phase}] changes {report.changes or 'none'}")

        baseline_s = await copy_baseline(database, sheet)
        print(f"[baseline] COPY of the same {args.rows} rows as text: {baseline_s:.3f} s")
    finally:
        await database.close()

    total_s = prepare_s + timings["apply"]
    applied = reports["apply"]
    return {
        "rows": args.rows,
        "format": args.format,
        "planted_errors": args.errors,
        "reported_errors": len(applied.errors),
        "errors_match": planted_found(reports["dry_run"], sheet) and planted_found(applied, sheet),
        "imported": applied.imported,
        "people_created": applied.changes.get("people_created", 0),
        # Households, people, memberships, accounts, grants...: what one row turns into, against COPY's one row.
        "rows_written": sum(applied.changes.values()),
        "prepare_s": round(prepare_s, 3),
        "dry_run_s": round(timings["dry_run"], 3),
        "apply_s": round(timings["apply"], 3),
        "total_s": round(total_s, 3),
        "rows_per_s": round(args.rows / total_s),
        "again_s": round(timings["again"], 3),
        "again_changed_nothing": reports["again"].changes == {},
        "baseline_copy_s": round(baseline_s, 3),
        "baseline_rows_per_s": round(args.rows / baseline_s),
        "times_baseline": round(total_s / baseline_s, 1),
        "target_s": TARGET_SECONDS,
        "target_met": total_s <= TARGET_SECONDS,
    }


async def run(args: argparse.Namespace) -> Figures:
    server_url = os.environ.get("TIMEBANK_BENCH_DATABASE_URL", "").strip() or DEFAULT_SERVER_URL
    name = f"timebank_bench_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        with tempfile.TemporaryDirectory() as workdir:
            return await measure(with_database(server_url, name), args, Path(workdir))
    finally:
        admin = await asyncpg.connect(server_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--errors", type=int, default=100, help="rows spoilt, spread evenly")
    parser.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    parser.add_argument("--seed", type=int, default=2024)
    return parser.parse_args()


def main() -> int:
    figures = asyncio.run(run(parse_args()))
    print(
        f"result: {figures['rows']} rows in {figures['total_s']} s ({figures['rows_per_s']} rows/s; "
        f"{figures['times_baseline']}x the baseline COPY of the bare rows at {figures['baseline_rows_per_s']} rows/s); "
        f"planted errors {'all reported' if figures['errors_match'] else 'NOT all reported'}; "
        f"second import {'changed nothing' if figures['again_changed_nothing'] else 'CHANGED DATA'}; "
        f"target {TARGET_SECONDS:.0f} s {'met' if figures['target_met'] else 'MISSED'}"
    )
    print(json.dumps(figures))
    ok = figures["errors_match"] and figures["again_changed_nothing"] and figures["target_met"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
