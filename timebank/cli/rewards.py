"""``timebank rewards``: the points mall's scheduled jobs, for cron or a systemd timer."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime

import click

from timebank.cli._common import command_database, load_settings
from timebank.rewards.expiry import ExpiryRun, expire_points
from timebank.rewards.sweeper import sweep_expired_orders

__all__ = ["rewards"]


@click.group()
def rewards() -> None:
    """Points mall and mutual-aid station jobs."""


@rewards.command()
def sweep() -> None:
    """Expire orders whose pickup window passed: release their goods and let their holds lapse.

    Safe to run often and on several machines at once (every few minutes is typical).
    """

    async def run() -> int:
        async with command_database(load_settings()) as database:
            await database.open()
            try:
                return await sweep_expired_orders(database.pool)
            finally:
                await database.close()

    click.echo(f"expired {asyncio.run(run())} orders")


@rewards.command("expire-points")
@click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d"]),
    default=None,
    help="Rehearse as of this time (ISO 8601 with offset); default now.",
)
@click.option("--community", "community_id", type=click.UUID, default=None, help="One community only.")
def expire_points_command(as_of: datetime | None, community_id: uuid.UUID | None) -> None:
    """Issue expiry notices and expire points past their validity whose notice period has passed (run daily)."""

    async def run() -> ExpiryRun:
        async with command_database(load_settings()) as database:
            await database.open()
            try:
                return await expire_points(database.pool, community_id=community_id, now=as_of)
            finally:
                await database.close()

    result = asyncio.run(run())
    click.echo(
        f"{result.communities} communities with expiry: {result.notices} notices issued, "
        f"{result.points_expired} points expired in {result.accounts_expired} accounts"
    )
