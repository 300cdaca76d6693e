"""Migrations apply to an empty database, re-applying is a no-op, and rollback works when asked for."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from tests.conftest import _with_database
from timebank.db import APP_ROLE, Database, _known_migrations


@pytest.fixture(name="empty_database_url")
async def fx_empty_database_url(server_url: str) -> AsyncIterator[str]:
    name = f"timebank_empty_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(server_url, name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_apply_to_empty_then_again_is_noop(empty_database_url: str) -> None:
    database = Database(empty_database_url)
    before = await database.migration_state()
    assert before.applied == ()
    assert before.pending

    applied = await database.migrate_forwards()
    assert applied == before.pending
    assert (await database.migration_state()).current

    assert await database.migrate_forwards() == ()
    assert (await database.migration_state()).applied == before.pending


async def test_pool_acts_as_application_role(database: Database) -> None:
    assert await database.pool.fetchval("SELECT current_user") == APP_ROLE


async def test_backwards_then_forwards(empty_database_url: str) -> None:
    database = Database(empty_database_url)
    await database.migrate_forwards()
    first = (await database.migration_state()).applied[0]
    app_name, migration_id = first.split(":", 1)
    await database.migrate_backwards(app_name, migration_id)
    assert first in (await database.migration_state()).pending
    await database.migrate_forwards()
    assert (await database.migration_state()).current


def test_migration_ids_are_unique_across_apps() -> None:
    """Piccolo records and forgets a migration by its id alone, so two apps sharing one would shadow each other."""
    ids = [migration_id for _, migration_id in _known_migrations()]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


async def test_ledger_write_batch_rolls_back_to_its_first_version_and_forward_again(empty_database_url: str) -> None:
    """The second ledger migration replaces ledger_write_batch; rolling it back restores the first migration's."""
    database = Database(empty_database_url)
    await database.migrate_forwards()
    # By name at every call: a prepared statement would keep the dropped function's oid.
    returns = "SELECT pg_get_function_result(oid) FROM pg_proc WHERE proname = 'ledger_write_batch'"
    connection = await asyncpg.connect(empty_database_url)
    try:
        assert await connection.fetchval(returns) == "bigint[]"
        await database.migrate_backwards("ledger", "2026-11-29T00:00:00:000000")
        assert await connection.fetchval(returns) == "void"
        assert "ledger:2026-11-29T00:00:00:000000" in (await database.migration_state()).pending
        await database.migrate_forwards()
        assert await connection.fetchval(returns) == "bigint[]"
    finally:
        await connection.close()
