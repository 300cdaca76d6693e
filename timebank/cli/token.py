"""``timebank token``: mint an access token for a person (by id or login name) or a service account; and
``timebank password``: give a person a login name and password."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

import click

from timebank.access.principal import Principal
from timebank.access.rules import POLICY
from timebank.access.service import AccessService
from timebank.access.tokens import AccessTokens
from timebank.cli._common import command_database, load_settings
from timebank.errors import TimebankError
from timebank.keys import load_keys
from timebank.settings import Settings

__all__ = ["password", "token"]

T = TypeVar("T")


def _with_access(settings: Settings, work: Callable[[AccessService], Awaitable[T]]) -> T:
    """Run ``work`` against the configured database; a refusal ends the command with its message."""

    async def run() -> T:
        async with command_database(settings) as database:
            await database.open()
            try:
                return await work(AccessService(settings, lambda: database.pool, policy=POLICY))
            finally:
                await database.close()

    try:
        return asyncio.run(run())
    except TimebankError as exc:
        raise click.ClickException(exc.detail) from None


@click.command()
@click.option("--person", "person_id", type=click.UUID, help="Act as this person (with their current grants).")
@click.option("--login", help="Act as the person with this login name.")
@click.option("--system", "system_name", help="A service account NAME: every community, every action.")
@click.option(
    "--minutes",
    type=click.IntRange(1, 366 * 24 * 60),
    default=None,
    help="Lifetime in minutes (default TIMEBANK_ACCESS_TOKEN_MINUTES); service accounts may want longer.",
)
def token(person_id: uuid.UUID | None, login: str | None, system_name: str | None, minutes: int | None) -> None:
    """Print an access token, for `Authorization: Bearer TOKEN`.

    It is signed with the service's key (TIMEBANK_SECRET_KEY, or the key kept in the data directory), so run it
    with the service's configuration.
    """
    if sum(option is not None for option in (person_id, login, system_name)) != 1:
        raise click.UsageError("give exactly one of --person, --login or --system")
    settings = load_settings()
    if system_name is not None:
        if not system_name.strip():
            raise click.UsageError("--system needs a name")
        principal = Principal.system(system_name.strip())
    elif person_id is not None:
        principal = _with_access(settings, lambda access: access.principal_for_person(person_id))
    else:
        principal = _with_access(settings, lambda access: access.principal_for_login(login or ""))
    tokens = AccessTokens(
        lambda: load_keys(settings).token_signing, lifetime=timedelta(minutes=settings.access_token_minutes)
    )
    lifetime = timedelta(minutes=minutes) if minutes is not None else None
    click.echo(tokens.issue(principal, lifetime=lifetime).token)


@click.command()
@click.option("--person", "person_id", type=click.UUID, required=True, help="Whose login this is.")
@click.option("--login", required=True, help="Login name: 3-64 of a-z 0-9 . _ @ - (any case).")
@click.password_option(help="Asked for (twice) when not given.")
def password(person_id: uuid.UUID, login: str, password: str) -> None:
    """Give a person (staff, partner-unit admin) a login name and password, or change them; this also unlocks."""
    settings = load_settings()
    _with_access(settings, lambda access: access.set_password(person_id, login, password))
    click.echo(f"login {login.strip().lower()} set for person {person_id}")
