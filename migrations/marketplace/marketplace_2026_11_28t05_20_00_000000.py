"""A closed order's party score goes through the party assessment: the order keeps, per party member who worked on
it, what the policy offered (units of the assessment's ``order_service`` item) and what became of it (credited,
capped, withheld by a low rating, not enrolled, no open period …), so staff see why a bonus did or did not count.

Orders closed before this keep their party score as a leg of their linked chain, and an empty list here.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-28T05:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "orders name their party-score credits in the party assessment"

FORWARDS = """
-- [{"person_id", "units", "outcome", "amount", "entry_id"}], written with the close (a closed order never changes).
ALTER TABLE service_order ADD COLUMN score_credits jsonb NOT NULL DEFAULT '[]'
    CONSTRAINT service_order_score_credits_list CHECK (jsonb_typeof(score_credits) = 'array');
"""

BACKWARDS = """
ALTER TABLE service_order DROP COLUMN score_credits;
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
