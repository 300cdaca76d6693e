"""The pool gives connections back without asyncpg's reset statements, and still never hands out an open transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from timebank.db import Database


@pytest.fixture(name="one_connection")
async def fx_one_connection(database_url: str) -> AsyncIterator[Database]:
    """A pool of one connection, so every acquire returns the connection released last."""
    database = Database(database_url, pool_size=1)
    await database.open()
    try:
        yield database
    finally:
        await database.close()


async def test_a_transaction_left_open_is_rolled_back_on_release(one_connection: Database) -> None:
    async with one_connection.pool.acquire() as connection:
        await connection.execute("BEGIN")
        await connection.execute("SELECT set_config('timebank.left_open', 'yes', true)")
        assert connection.is_in_transaction()
    async with one_connection.pool.acquire() as connection:
        assert not connection.is_in_transaction()
        assert await connection.fetchval("SELECT current_setting('timebank.left_open', true)") in (None, "")


async def test_release_sends_no_reset_statements(one_connection: Database) -> None:
    # A session setting outlives the release: no RESET ALL (or the rest of asyncpg's reset) went to the server.
    async with one_connection.pool.acquire() as connection:
        await connection.execute("SET application_name = 'kept across release'")
        backend = await connection.fetchval("SELECT pg_backend_pid()")
    async with one_connection.pool.acquire() as connection:
        assert await connection.fetchval("SELECT pg_backend_pid()") == backend
        assert await connection.fetchval("SELECT current_setting('application_name')") == "kept across release"
