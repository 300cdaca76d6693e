"""``timebank orders``: the order cycle's scheduled job, for cron or a systemd timer."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime

import click

from timebank.cli._common import command_database, load_settings
from timebank.db import EVERY_COMMUNITY, bound
from timebank.marketplace.escalation import escalate_overdue

__all__ = ["orders"]

_BATCH = 500


@click.group()
def orders() -> None:
    """Order-cycle jobs (派单、接单、评单)."""


@orders.command()
@click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d"]),
    default=None,
    help="Escalate what is overdue at this time (ISO 8601 with offset); default now.",
)
def escalate(as_of: datetime | None) -> None:
    """Move every unclaimed or unfinished order whose tier time ran out one tier up (compound → community →
    street → department), recording each move.

    Safe to run often and on several machines at once (every few minutes is typical).
    """

    async def run() -> Counter[str]:
        moved: Counter[str] = Counter()
        async with command_database(load_settings()) as database:
            await database.open()
            try:
                while True:  # one transaction per batch, so a long backlog never holds many locks for long
                    async with bound(database.pool, EVERY_COMMUNITY) as connection:
                        batch = await escalate_overdue(connection, at=as_of, limit=_BATCH)
                    moved.update(f"{e.from_tier} → {e.to_tier}" for e in batch)
                    if len(batch) < _BATCH:
                        return moved
            finally:
                await database.close()

    moved = asyncio.run(run())
    click.echo(f"escalated {sum(moved.values())} orders")
    for step, count in sorted(moved.items()):
        click.echo(f"  {step}: {count}")
