"""The batch write tells what it found under the account locks, so the service can decide the next batch without a
read; and a failure decided for an id already remembered with another failure is decided again, not answered twice.

``ledger_write_batch`` now returns, per account slot, the counters it locked (version, debits posted, credits
posted, debits pending, credits pending): with what the batch moved, that is the account as committed (see
``timebank/ledger/account_cache.py``). A batch decided on an earlier state than a fresh read may refuse an id that a
concurrent batch already remembered with another reason, or refuse for a limit an account that was closed since; the
write now refuses both (serialization_failure), so a retried id always gets the answer remembered first, and a closed
account's refusals say it is closed. Rolling back restores the function of the first ledger
migration, taken from that migration's text.
"""

from pathlib import Path

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-29T00:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "ledger_write_batch returns the locked counters and refuses a failure remembered otherwise"

_SIGNATURE = (
    "ledger_write_batch(timestamptz, ledger_read_account[], ledger_planned[], integer[], integer[], uuid[], "
    "smallint[], bigint[])"
)

FORWARDS = (
    f"DROP FUNCTION {_SIGNATURE};\n"
    + r"""
CREATE FUNCTION ledger_write_batch(
    read_at timestamptz, accounts ledger_read_account[], rows ledger_planned[], debit_slots integer[],
    credit_slots integer[], failed_ids uuid[], failed_results smallint[], failed_hashes bigint[]
) RETURNS bigint[]
LANGUAGE plpgsql SET search_path = public SET enable_hashjoin = off SET enable_mergejoin = off AS $$
DECLARE
    moved_versions bigint[];
    moved_posted bigint[];
    moved_pending bigint[];
    stale integer;
    stamp timestamptz;
    locked_counters bigint[];
BEGIN
    WITH locked AS (
        SELECT s.slot, s.version AS read_version, s.dp AS read_dp, s.cp AS read_cp, s.dq AS read_dq,
               s.cq AS read_cq, s.exact, s.floor_room, s.cap_room, a.flags, a.version, a.debits_posted AS dp,
               a.credits_posted AS cp, a.debits_pending AS dq, a.credits_pending AS cq, a.closed
        FROM unnest(accounts) WITH ORDINALITY AS s(id, version, dp, cp, dq, cq, exact, floor_room, cap_room, slot)
        JOIN ledger_account a ON a.id = s.id
        ORDER BY a.id FOR UPDATE OF a
    )
    SELECT array_agg(version - read_version ORDER BY slot),
           array_agg((cp - dp) - (read_cp - read_dp) ORDER BY slot),
           array_agg((cq - dq) - (read_cq - read_dq) ORDER BY slot),
           -- A refusal for a limit on an account closed since is answered account_closed when decided again.
           count(*) FILTER (WHERE (exact AND (version <> read_version OR closed))
               OR floor_room + CASE WHEN flags = 2 THEN (dp - cp - cq) - (read_dp - read_cp - read_cq)
                                    ELSE (cp - dp - dq) - (read_cp - read_dp - read_dq) END < 0
               OR cap_room - CASE WHEN flags = 2 THEN (dp + dq - cp) - (read_dp + read_dq - read_cp)
                                  ELSE (cp + cq - dp) - (read_cp + read_cq - read_dp) END < 0),
           array_agg(ARRAY[version, dp, cp, dq, cq] ORDER BY slot)
    INTO moved_versions, moved_posted, moved_pending, stale, locked_counters
    FROM locked;
    IF stale > 0 THEN
        RAISE EXCEPTION 'ledger: % account(s) moved since the batch was read; decide it again', stale
            USING ERRCODE = 'serialization_failure';
    END IF;
    -- A failure remembered, or a transfer stored, since the read under an id this batch decided otherwise.
    IF EXISTS (SELECT FROM unnest(rows) AS r JOIN ledger_transfer_failure f ON f.id = r.id)
       OR EXISTS (SELECT FROM unnest(failed_ids) AS q(id) JOIN ledger_transfer t ON t.id = q.id)
       OR EXISTS (SELECT FROM unnest(failed_ids, failed_results) AS q(id, result)
                  JOIN ledger_transfer_failure f ON f.id = q.id WHERE f.result <> q.result) THEN
        RAISE EXCEPTION 'ledger: a batch id was decided elsewhere since the read; decide it again'
            USING ERRCODE = 'serialization_failure';
    END IF;
    stamp := clock_timestamp();
    IF EXISTS (SELECT FROM unnest(rows) AS r JOIN ledger_transfer h ON h.id = r.pending_id
               WHERE (r.flags & 4 <> 0 OR r.code <> 7) AND h.timeout_at <= stamp) THEN
        RAISE EXCEPTION 'ledger: a hold expired since the batch was read; decide it again'
            USING ERRCODE = 'serialization_failure';
    END IF;
    IF cardinality(rows) > 0 THEN
        INSERT INTO ledger_transfer (id, community_id, asset, debit_account_id, credit_account_id, amount, code, flags,
            pending_id, timeout_at, reverses_id, ref_type, ref_id, policy_version, memo, debit_version,
            debit_posted_after, debit_pending_after, credit_version, credit_posted_after, credit_pending_after,
            created_at)
        SELECT r.id, r.community_id, r.asset, r.debit_account_id, r.credit_account_id, r.amount, r.code, r.flags,
               r.pending_id, r.timeout_at + (stamp - read_at), r.reverses_id, r.ref_type, r.ref_id, r.policy_version,
               r.memo, r.debit_version + moved_versions[r.debit_slot],
               r.debit_posted_after + moved_posted[r.debit_slot], r.debit_pending_after + moved_pending[r.debit_slot],
               r.credit_version + moved_versions[r.credit_slot], r.credit_posted_after + moved_posted[r.credit_slot],
               r.credit_pending_after + moved_pending[r.credit_slot], stamp
        FROM (SELECT p.*, debit_slots[p.n] AS debit_slot, credit_slots[p.n] AS credit_slot
              FROM unnest(rows) WITH ORDINALITY AS p(id, community_id, asset, debit_account_id, credit_account_id,
                  amount, code, flags, pending_id, timeout_at, reverses_id, ref_type, ref_id, policy_version, memo,
                  debit_version, debit_posted_after, debit_pending_after, credit_version, credit_posted_after,
                  credit_pending_after, created_at, n)) AS r
        ORDER BY r.n;
    END IF;
    IF cardinality(failed_ids) > 0 THEN
        INSERT INTO ledger_transfer_failure (id, result, request_hash)
        SELECT * FROM unnest(failed_ids, failed_results, failed_hashes) ON CONFLICT DO NOTHING;
    END IF;
    RETURN locked_counters;
END
$$;
"""
)


def _first_version() -> str:
    """The function as the first ledger migration created it (its text is the record of that version)."""
    text = (Path(__file__).parent / "ledger_2026_11_23t01_00_00_000000.py").read_text()
    start = text.index("CREATE FUNCTION ledger_write_batch(")
    return text[start : text.index("\n$$;\n", start) + len("\n$$;\n")]


async def _execute(sql: str) -> None:
    # Runs on the migration's own transaction connection, so a failure rolls the whole migration back.
    engine = engine_finder()
    await engine.current_transaction.get().connection.execute(sql)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="ledger", description=DESCRIPTION)

    async def run() -> None:
        await _execute(FORWARDS)

    async def run_backwards() -> None:
        await _execute(f"DROP FUNCTION {_SIGNATURE};\n{_first_version()}")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
