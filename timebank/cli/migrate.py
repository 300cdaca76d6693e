"""``timebank migrate``: apply, list and (only when asked explicitly) roll back schema migrations."""

from __future__ import annotations

import asyncio

import click

from timebank.cli._common import command_database, load_settings
from timebank.db import MigrationError

__all__ = ["migrate"]


@click.group(invoke_without_command=True)
@click.pass_context
def migrate(ctx: click.Context) -> None:
    """Apply pending migrations (the default), show their status, or roll back."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(forwards)


@migrate.command()
def forwards() -> None:
    """Apply every pending migration; does nothing when the schema is current."""

    async def run() -> tuple[str, ...]:
        async with command_database(load_settings()) as database:
            return await database.migrate_forwards()

    try:
        applied = asyncio.run(run())
    except MigrationError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"applied {len(applied)} migration(s)" + "".join(f"\n  {name}" for name in applied))


@migrate.command()
def status() -> None:
    """List applied and pending migrations; exits 1 when any is pending."""

    async def run() -> tuple[tuple[str, ...], tuple[str, ...]]:
        async with command_database(load_settings()) as database:
            state = await database.migration_state()
            return state.applied, state.pending

    applied, pending = asyncio.run(run())
    for name in applied:
        click.echo(f"applied  {name}")
    for name in pending:
        click.echo(f"pending  {name}")
    if pending:
        raise SystemExit(1)


@migrate.command()
@click.argument("app")
@click.option(
    "--to",
    "migration_id",
    default="1",
    show_default=True,
    help="Roll back down to and including this migration id; 1 means only the latest.",
)
@click.option(
    "--i-understand-data-loss",
    "confirmed",
    is_flag=True,
    help="Required: rolling back can drop tables and the data in them.",
)
def backwards(app: str, migration_id: str, confirmed: bool) -> None:
    """Roll back APP's migrations. Refuses to run without --i-understand-data-loss."""
    if not confirmed:
        raise click.UsageError("rolling back can destroy data; add --i-understand-data-loss to proceed")

    async def run() -> None:
        async with command_database(load_settings()) as database:
            await database.migrate_backwards(app, migration_id)

    try:
        asyncio.run(run())
    except MigrationError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"rolled back {app} to before {migration_id}")
