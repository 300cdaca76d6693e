"""The database: Piccolo's engine on an asyncpg pool, and the migrations that shape it.

This is the only module that reaches into Piccolo's engine for its asyncpg pool; capabilities take a
:class:`Database` and use its pool for hand-written SQL on hot paths.
"""

from __future__ import annotations

import contextlib
import io
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Iterable
from dataclasses import dataclass

# Piccolo finds its configuration through this variable; set it before anything imports piccolo.
os.environ.setdefault("PICCOLO_CONF", "timebank.piccolo_conf")

import asyncpg
from piccolo.apps.migrations.commands.backwards import run_backwards
from piccolo.apps.migrations.commands.base import BaseMigrationManager, MigrationResult
from piccolo.apps.migrations.commands.forwards import run_forwards
from piccolo.engine.postgres import PostgresEngine

from timebank import piccolo_conf

__all__ = ["APP_ROLE", "EVERY_COMMUNITY", "Database", "MigrationError", "MigrationState", "bound", "configure_engine"]

#: The role the service acts as; migrations (run as the owner) decide what it may touch.
APP_ROLE = "timebank_app"

#: Taken around migrations so two processes starting at once do not both apply them.
_MIGRATION_LOCK_KEY = 7_305_118_244


#: Binds a transaction to every community: for system tasks (imports, the demo seed, sweepers, login look-ups).
EVERY_COMMUNITY = None


@contextlib.asynccontextmanager
async def bound(pool: asyncpg.Pool, communities: Iterable[uuid.UUID] | None) -> AsyncIterator[asyncpg.Connection]:
    """A transaction that sees only the rows of ``communities`` (row-level security backs the queries' filters).

    Pass :data:`EVERY_COMMUNITY` for system work. The binding is transaction-local (``set_config(..., true)``), so
    it cannot leak to the next user of the pooled connection.
    """
    async with pool.acquire() as connection, connection.transaction():
        if communities is EVERY_COMMUNITY:
            await connection.execute("SELECT set_config('timebank.all_communities', 'on', true)")
        else:
            listed = ",".join(str(community) for community in communities)
            await connection.execute("SELECT set_config('timebank.communities', $1, true)", listed)
        yield connection


class MigrationError(RuntimeError):
    """A migration failed to apply or to roll back; the message says which."""


@dataclass(frozen=True, slots=True)
class MigrationState:
    """Migrations known on disk against those recorded in the database."""

    applied: tuple[str, ...]
    pending: tuple[str, ...]

    @property
    def current(self) -> bool:
        return not self.pending


def configure_engine(dsn: str) -> PostgresEngine:
    """Point Piccolo's engine at ``dsn``; every Table and raw query then uses it."""
    engine: PostgresEngine = piccolo_conf.DB
    engine.config = {"dsn": dsn}
    return engine


def _known_migrations() -> list[tuple[str, str]]:
    """(app, migration id) for every migration file, apps in dependency order."""
    finder = BaseMigrationManager()
    known: list[tuple[str, str]] = []
    for config in finder.get_app_configs(sort_by_migration_dependencies=True):
        modules = finder.get_migration_modules(config.resolved_migrations_folder_path)
        known.extend((config.app_name, migration_id) for migration_id in finder.get_migration_ids(modules))
    return known


async def _keep_session(connection: asyncpg.Connection) -> None:
    """Give a connection back to the pool as it is (asyncpg has already rolled back a transaction left open).

    asyncpg's default reset sends ``RESET ALL; UNLISTEN *; CLOSE ALL; pg_advisory_unlock_all()`` on every release: a
    round trip and four statements per ledger batch and per request. The service never leaves session state on a
    pooled connection: its settings are transaction-local (``set_config(..., true)``), its cursors live in
    transactions, and its one session lock (migrations) is taken on a connection of its own.
    """


class Database:
    """The running database: its asyncpg pool (shared with Piccolo), readiness and migrations."""

    def __init__(self, dsn: str, *, pool_size: int = 10) -> None:
        self.dsn = dsn
        self.pool_size = pool_size
        self._pool: asyncpg.Pool | None = None

    @property
    def pool(self) -> asyncpg.Pool:
        """The pool, acting as the application role, for hand-written SQL."""
        if self._pool is None:
            raise RuntimeError("the connection pool is not open; call open() first")
        return self._pool

    async def open(self) -> None:
        self._pool = await asyncpg.create_pool(
            self.dsn,
            min_size=1,
            max_size=self.pool_size,
            server_settings={"role": APP_ROLE},
            reset=_keep_session,
        )
        # Piccolo's Tables run on the same pool, so ORM and raw SQL share connections and transactions.
        configure_engine(self.dsn).pool = self._pool

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        await pool.close()
        if piccolo_conf.DB.pool is pool:
            piccolo_conf.DB.pool = None

    async def ping(self) -> bool:
        if self._pool is None:
            return False
        try:
            return bool(await self._pool.fetchval("SELECT 1"))
        except (OSError, asyncpg.PostgresError):
            return False

    async def migration_state(self) -> MigrationState:
        known = _known_migrations()
        recorded: set[tuple[str, str]] = set()
        async with self._connection() as connection:
            if await connection.fetchval("SELECT to_regclass('public.migration') IS NOT NULL"):
                rows = await connection.fetch("SELECT app_name, name FROM migration")
                recorded = {(row["app_name"], row["name"]) for row in rows}
        return MigrationState(
            applied=tuple(f"{app}:{mid}" for app, mid in known if (app, mid) in recorded),
            pending=tuple(f"{app}:{mid}" for app, mid in known if (app, mid) not in recorded),
        )

    async def migrate_forwards(self) -> tuple[str, ...]:
        """Apply every pending migration; returns what was applied (nothing when already current)."""
        async with self._migration_lock():
            before = await self.migration_state()
            if before.current:
                return ()
            result = await self._as_owner(run_forwards(app_name="all"))
            if not result.success:
                raise MigrationError(result.message or "migrations failed")
        return before.pending

    async def migrate_backwards(self, app_name: str, migration_id: str) -> None:
        """Undo ``app_name``'s migrations down to and including ``migration_id`` (``"1"``: the latest)."""
        async with self._migration_lock():
            result = await self._as_owner(run_backwards(app_name=app_name, migration_id=migration_id, auto_agree=True))
        if not result.success:
            raise MigrationError(result.message or "rollback failed")

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection when the pool is open, else a short-lived one (CLI commands)."""
        if self._pool is not None:
            async with self._pool.acquire() as connection:
                yield connection
            return
        connection = await asyncpg.connect(self.dsn)
        try:
            yield connection
        finally:
            await connection.close()

    @contextlib.asynccontextmanager
    async def _migration_lock(self) -> AsyncIterator[None]:
        # A session-level advisory lock on a connection of its own, released when that connection closes.
        connection = await asyncpg.connect(self.dsn)
        try:
            await connection.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK_KEY)
            yield
        finally:
            await connection.close()

    async def _as_owner(self, run: Awaitable[MigrationResult]) -> MigrationResult:
        """Run a Piccolo migration command on fresh connections as the URL's user, not the pooled app role."""
        engine = configure_engine(self.dsn)
        shared_pool, engine.pool = engine.pool, None
        try:
            # Piccolo reports progress with print(); the service logs its own summary instead.
            with contextlib.redirect_stdout(io.StringIO()):
                return await run
        finally:
            engine.pool = shared_pool
