"""The application role: what the running service connects as, with only the rights it needs.

Migrations run as the database owner; the service sets ``role = timebank_app`` on every pooled connection, so
privileges revoked here (e.g. UPDATE and DELETE on ledger history) bind the service itself.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-23T00:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "application role and default privileges"

FORWARDS = """
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'timebank_app') THEN
        CREATE ROLE timebank_app NOLOGIN;
    END IF;
END
$$;
GRANT timebank_app TO CURRENT_USER;
GRANT USAGE ON SCHEMA public TO timebank_app;
GRANT SELECT ON TABLE migration TO timebank_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO timebank_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO timebank_app;
"""

BACKWARDS = """
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE USAGE, SELECT ON SEQUENCES FROM timebank_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM timebank_app;
REVOKE SELECT ON TABLE migration FROM timebank_app;
REVOKE USAGE ON SCHEMA public FROM timebank_app;
"""


async def _execute(sql: str) -> None:
    # Runs on the migration's own transaction connection, so a failure rolls the whole migration back.
    engine = engine_finder()
    await engine.current_transaction.get().connection.execute(sql)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="platform", description=DESCRIPTION)

    async def run() -> None:
        await _execute(FORWARDS)

    async def run_backwards() -> None:
        await _execute(BACKWARDS)

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
