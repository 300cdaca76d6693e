"""``timebank volunteering``: volunteering's housekeeping from the command line."""

from __future__ import annotations

import asyncio

import click

from timebank.access.principal import Principal
from timebank.cli._common import command_database, load_settings
from timebank.keys import load_keys
from timebank.ledger import LedgerService
from timebank.volunteering.service import Volunteering

__all__ = ["volunteering"]


@click.group()
def volunteering() -> None:
    """Volunteering and time bank operations."""


@volunteering.command()
@click.option("--limit", type=click.IntRange(1, 100_000), default=1000, show_default=True)
def settle(limit: int) -> None:
    """Post credits and coin movements that a crash left planned but unposted (safe to run at any time)."""

    async def run() -> int:
        settings = load_settings()
        async with command_database(settings) as database:
            await database.open()
            try:
                service = Volunteering(
                    database.pool, LedgerService(database.pool), check_in_key=load_keys(settings).check_in
                )
                return await service.settle_pending(Principal.system("cli:volunteering-settle"), limit=limit)
            finally:
                await database.close()

    click.echo(f"settled {asyncio.run(run())} planned item(s)")
