"""``timebank ledger``: operate on the ledger from the command line."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import click

from timebank.cli._common import command_database, load_settings
from timebank.ledger.verify import VerifyReport, verify_ledger

__all__ = ["ledger"]


@click.group()
def ledger() -> None:
    """Ledger operations."""


@ledger.command()
@click.option("--community", "community_id", type=click.UUID, default=None, help="Check one community only.")
def verify(community_id: uuid.UUID | None) -> None:
    """Recompute every balance from the transfers, check every invariant and the hash chain.

    Prints a summary; exits 1 on any violation, naming each one (and the first broken link of a chain).
    """

    async def run() -> VerifyReport:
        async with command_database(load_settings()) as database:
            connection = await asyncpg.connect(database.dsn)
            try:
                return await verify_ledger(connection, community_id)
            finally:
                await connection.close()

    report = asyncio.run(run())
    for violation in report.violations:
        click.echo(f"VIOLATION {violation}", err=True)
    click.echo(
        f"checked {report.communities} communities, {report.accounts} accounts, {report.transfers} transfers, "
        f"{report.blocks} chain blocks: {'ok' if report.ok else f'{len(report.violations)} violation(s)'}"
    )
    if not report.ok:
        raise SystemExit(1)
