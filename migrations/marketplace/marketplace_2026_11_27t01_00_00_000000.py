"""A system account (a service, an import) may review a micro-wish: the review keeps its time, and the audit log
names the account, but there is no person to record as the reviewer."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-27T01:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "micro-wishes reviewed by system accounts"

FORWARDS = """
-- The first migration left the constraint unnamed; find it by what it says.
DO $$
DECLARE
    name text;
BEGIN
    SELECT conname INTO STRICT name FROM pg_constraint
    WHERE conrelid = 'need'::regclass AND contype = 'c'
      AND pg_get_constraintdef(oid) LIKE '%(reviewed_by IS NULL) = (reviewed_at IS NULL)%';
    EXECUTE format('ALTER TABLE need DROP CONSTRAINT %I', name);
END
$$;
ALTER TABLE need ADD CONSTRAINT need_reviewer_has_time CHECK (reviewed_by IS NULL OR reviewed_at IS NOT NULL);
"""

BACKWARDS = """
ALTER TABLE need DROP CONSTRAINT need_reviewer_has_time;
ALTER TABLE need ADD CONSTRAINT need_reviewed_together CHECK ((reviewed_by IS NULL) = (reviewed_at IS NULL));
"""


async def _execute(sql: str) -> None:
    # Runs on the migration's own transaction connection, so a failure rolls the whole migration back.
    engine = engine_finder()
    await engine.current_transaction.get().connection.execute(sql)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="marketplace", description=DESCRIPTION)

    async def run() -> None:
        await _execute(FORWARDS)

    async def run_backwards() -> None:
        await _execute(BACKWARDS)

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
