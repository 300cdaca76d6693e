"""What every command needs: settings that fail cleanly, and a database for the duration of a command."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import click

from timebank.db import Database
from timebank.embedded import database_dsn
from timebank.logging import configure_logging
from timebank.settings import Settings, SettingsError

__all__ = ["command_database", "load_settings"]


def load_settings() -> Settings:
    """Read settings and configure logging; a bad variable ends the command with its name."""
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        raise click.ClickException(f"bad configuration: {exc}") from None
    configure_logging(settings)
    return settings


@asynccontextmanager
async def command_database(settings: Settings) -> AsyncIterator[Database]:
    """A database for one command: the configured server, or the embedded one started for the command."""
    async with database_dsn(settings) as dsn:
        yield Database(dsn, pool_size=settings.db_pool_size)
