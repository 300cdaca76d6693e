"""Shared fixtures: one throwaway database per test session, migrated once; the app called in-process.

The server is ``TIMEBANK_TEST_DATABASE_URL`` when set, else an embedded PostgreSQL started for the session.
Either way the session creates its own database on it and drops it at the end, so runs never see each other.
Tests isolate from one another by working in communities (tenants) of their own.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
import structlog
from litestar import Litestar

from tests.auth_support import Org, app_settings
from timebank.app import create_app
from timebank.db import Database
from timebank.embedded import EmbeddedPostgres
from timebank.logging import configure_logging
from timebank.settings import Settings

configure_logging(Settings(log_format="json", log_level="info"), cache=False)


@pytest.fixture(name="server_url", scope="session")
def fx_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A PostgreSQL server URL with rights to create databases."""
    configured = os.environ.get("TIMEBANK_TEST_DATABASE_URL", "").strip()
    if configured:
        yield configured
        return
    server = EmbeddedPostgres.start(Path(tmp_path_factory.mktemp("pgdata")))
    try:
        yield server.dsn
    finally:
        server.stop()


def _with_database(dsn: str, name: str) -> str:
    """``dsn`` pointed at database ``name``, keeping host, user and query (e.g. a socket directory)."""
    head, _, query = dsn.partition("?")
    scheme, _, rest = head.partition("://")
    authority = rest.split("/", 1)[0]
    return f"{scheme}://{authority}/{name}" + (f"?{query}" if query else "")


@pytest.fixture(name="database_url", scope="session")
async def fx_database_url(server_url: str) -> AsyncIterator[str]:
    """A fresh database for this session, migrated to the current schema."""
    name = f"timebank_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = _with_database(server_url, name)
    await Database(url).migrate_forwards()
    try:
        yield url
    finally:
        admin = await asyncpg.connect(server_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture(name="database", scope="session")
async def fx_database(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url, pool_size=8)
    await database.open()
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture(name="settings", scope="session")
def fx_settings() -> Settings:
    # Signs with the key tests/auth_support.py uses, so headers_for(...) tokens are accepted.
    return app_settings()


@pytest.fixture(name="app", scope="session")
def fx_app(settings: Settings, database: Database) -> Litestar:
    return create_app(settings, database=database)


@pytest.fixture(name="client")
async def fx_client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    # httpx's ASGI transport runs the app in the test's own task and event loop (Litestar 2's test client does not).
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture(name="org")
def fx_org(database: Database) -> Org:
    """Builds streets, communities, teams and people with grants in SQL (see tests/auth_support.py)."""
    return Org(database.pool)


@pytest.fixture(name="log_events")
def fx_log_events() -> Iterator[list[structlog.typing.EventDict]]:
    """Log events as the service emits them, including the bound request context."""
    capture = structlog.testing.LogCapture()
    processors = structlog.get_config()["processors"]
    structlog.configure(processors=[structlog.contextvars.merge_contextvars, capture])
    try:
        yield capture.entries
    finally:
        structlog.configure(processors=processors)
