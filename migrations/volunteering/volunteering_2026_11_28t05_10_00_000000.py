"""Party score of a service record goes through the party assessment: the record keeps what the earning policy
priced (units of the assessment's ``volunteer_hour`` item) and what the assessment answered, so staff see why a
party member's service did or did not score (e.g. no open period, not enrolled).

Records credited before this keep their party score as a leg of their linked chain, and these columns empty.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-28T05:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "service records name their party-score credit in the party assessment"

FORWARDS = """
ALTER TABLE service_record
    ADD COLUMN party_score_units integer CHECK (party_score_units BETWEEN 0 AND 1000),
    ADD COLUMN party_score_outcome text CHECK (party_score_outcome IN
        ('credited', 'capped', 'replayed', 'not_enrolled', 'no_open_period', 'not_in_catalogue')),
    ADD COLUMN party_score integer CHECK (party_score >= 0),
    ADD COLUMN party_score_entry_id uuid,
    ADD CONSTRAINT service_record_party_score_answered CHECK ((party_score_outcome IS NULL) = (party_score IS NULL)),
    ADD CONSTRAINT service_record_party_score_when_credited CHECK (party_score_outcome IS NULL
        OR (status IN ('credited', 'corrected') AND party_score_units > 0));
"""

BACKWARDS = """
ALTER TABLE service_record DROP COLUMN party_score_entry_id, DROP COLUMN party_score, DROP COLUMN party_score_outcome,
    DROP COLUMN party_score_units;
"""


async def _execute(sql: str) -> None:
    # Runs on the migration's own transaction connection, so a failure rolls the whole migration back.
    engine = engine_finder()
    await engine.current_transaction.get().connection.execute(sql)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="volunteering", description=DESCRIPTION)

    async def run() -> None:
        await _execute(FORWARDS)

    async def run_backwards() -> None:
        await _execute(BACKWARDS)

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
