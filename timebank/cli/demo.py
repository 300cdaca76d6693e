"""``timebank demo``: the demo street 望城街道, its well-known people, and sample sheets to try the importer on."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import click

from timebank.cli._common import command_database, load_settings
from timebank.community.demo import CommunityCounts, KnownPerson, community_counts, seed_demo, well_known_people
from timebank.community.demo_sheet import sample_sheet, write_csv, write_xlsx
from timebank.community.demo_street import demo_street
from timebank.db import Database
from timebank.keys import load_keys
from timebank.settings import Settings

__all__ = ["demo"]


@click.group()
def demo() -> None:
    """The demo street: seed it, and meet its people."""


@demo.command()
def seed() -> None:
    """Build the demo street 望城街道 (苏州路社区 from the seed documents, and 烟台路社区).

    Deterministic and idempotent: seeding again changes nothing. Prints what was created, the communities'
    figures, and how to list the demo people.
    """
    settings = load_settings()
    key = load_keys(settings).personal_data
    started = time.perf_counter()

    async def run() -> tuple[dict[str, int], list[CommunityCounts]]:
        async with _database(settings) as database:
            changes = await seed_demo(database.pool, key)
            return changes, await community_counts(database.pool, [c.code for c in demo_street().communities])

    changes, counts = asyncio.run(run())
    elapsed = time.perf_counter() - started
    created = ", ".join(f"{name.replace('_', ' ')} {count}" for name, count in changes.items())
    click.echo(f"demo street 望城街道 seeded in {elapsed:.1f} s; changes: {created or 'none (already seeded)'}")
    for community in counts:
        figures = ", ".join(f"{name.replace('_', ' ')} {value}" for name, value in community.figures.items())
        click.echo(f"{community.name} ({community.code}): {figures}")
    click.echo("who is who: timebank demo people")


@demo.command()
def people() -> None:
    """List the demo people the README uses, one per kind of user: role, community, name, id and phone."""
    settings = load_settings()

    async def run() -> list[KnownPerson] | None:
        async with _database(settings) as database:
            return await well_known_people(database.pool)

    known = asyncio.run(run())
    if known is None:
        raise click.ClickException("the demo street is not there; run: timebank demo seed")
    for person in known:
        click.echo(f"{person.role:58}  {person.community}  {person.name:4}  {person.id}  {person.phone or '-'}")


@demo.command()
@click.argument("file", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option("--rows", type=click.IntRange(1, 1_000_000), default=200, show_default=True)
@click.option("--errors", type=click.IntRange(0), default=0, show_default=True, help="Rows to spoil, one cell each.")
@click.option("--seed", type=int, default=1, show_default=True, help="Another seed gives other people.")
def sheet(file: Path, rows: int, errors: int, seed: int) -> None:
    """Write a sample residents sheet to FILE (.xlsx, or CSV for any other name) to try `timebank people import`.

    With --errors, that many rows each get one spoilt cell; the planted errors are listed, so the import report
    can be checked against them.
    """
    try:
        sample = sample_sheet(rows, seed=seed, errors=errors)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--errors") from None
    if file.suffix.lower() == ".xlsx":
        write_xlsx(sample, file)
    else:
        write_csv(sample, file)
    click.echo(f"wrote {rows} rows to {file}")
    for planted in sample.planted:
        click.echo(f"planted: row {planted.row}, {planted.column.label}: {planted.spoilt}")


@asynccontextmanager
async def _database(settings: Settings) -> AsyncIterator[Database]:
    """The command's database, migrated (a fresh embedded one has no tables yet) and with its pool open."""
    async with command_database(settings) as database:
        await database.migrate_forwards()
        await database.open()
        try:
            yield database
        finally:
            await database.close()
