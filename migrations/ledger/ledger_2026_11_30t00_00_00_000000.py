"""The hash chain is sealed off the write path: a batch queues its rows, a sealer links the queue into blocks.

Before, the statement trigger on ``ledger_transfer`` sealed each statement's rows as a block and moved the community's
chain head itself, so every write of a community locked that one row until it committed: single transfers on 16
connections took turns there (about 900 per second), and batches paid the digests while holding their accounts.
Now the trigger only queues the statement's seqs per community in ``ledger_unsealed``, and
``ledger_seal_pending()`` (run by the service every second, see ``timebank/ledger/sealer.py``) takes every queued
entry that has committed, locks those communities' chain heads in community order and seals each community's entries
as one block, with the same digest and hash as before (SHA-256 over the previous block's hash and the transfers'
binary digests in seq order). A block still names its transfers by their seqs. Only committed entries are visible, so
a batch that commits late is sealed in a later block and a batch that rolled back leaves nothing behind. Until it is
sealed a transfer is guarded by the append-only triggers and privileges alone; ``timebank ledger verify`` counts it
as awaiting its seal. Rolling back seals what is queued, then restores the first migration's trigger.
"""

from pathlib import Path

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-30T00:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "ledger hash chain sealed off the write path, from a queue"

FORWARDS = r"""
-- What the write trigger leaves for the sealer: one entry per inserting statement and community, deleted when sealed.
CREATE TABLE ledger_unsealed (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id uuid NOT NULL,
    seqs int8multirange NOT NULL,
    transfer_count integer NOT NULL CHECK (transfer_count > 0)
);
REVOKE ALL ON ledger_unsealed FROM timebank_app;
GRANT SELECT ON ledger_unsealed TO timebank_app;

CREATE OR REPLACE FUNCTION ledger_apply_transfers() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public SET enable_hashjoin = off SET enable_mergejoin = off AS $$
DECLARE
    expected integer;
    touched integer;
    inconsistent integer;
    mixed integer;
    unfounded integer;
BEGIN
    -- A post or void names a hold on the same accounts, never for more than it held, and a post comes before the
    -- hold's timeout; a reversal names a posted transfer, with the accounts swapped and the same amount.
    SELECT count(*) INTO unfounded FROM inserted n
    WHERE (n.flags & 12 <> 0 AND NOT EXISTS (
              SELECT FROM ledger_transfer h
              WHERE h.id = n.pending_id AND h.flags & 2 <> 0 AND h.debit_account_id = n.debit_account_id
                AND h.credit_account_id = n.credit_account_id AND n.amount <= h.amount
                AND (n.flags & 4 = 0 OR h.timeout_at IS NULL OR h.timeout_at > n.created_at)))
       OR (n.reverses_id IS NOT NULL AND NOT EXISTS (
              SELECT FROM ledger_transfer o
              WHERE o.id = n.reverses_id AND o.flags & 10 = 0 AND o.debit_account_id = n.credit_account_id
                AND o.credit_account_id = n.debit_account_id AND o.amount = n.amount));
    IF unfounded > 0 THEN
        RAISE EXCEPTION 'ledger: % post(s), void(s) or reversal(s) that do not match the transfer they name',
            unfounded USING ERRCODE = 'check_violation';
    END IF;

    WITH legs AS (
        -- Both sides of every transfer, with the hold's amount for a post or void (which releases all of it).
        SELECT n.debit_account_id AS account_id, true AS debit, n.community_id, n.asset, n.flags, n.amount,
               n.debit_version AS version, n.debit_posted_after AS posted_after,
               n.debit_pending_after AS pending_after,
               CASE WHEN n.flags & 12 <> 0
                    THEN (SELECT h.amount FROM ledger_transfer h WHERE h.id = n.pending_id) END AS held
        FROM inserted n
        UNION ALL
        SELECT n.credit_account_id, false, n.community_id, n.asset, n.flags, n.amount, n.credit_version,
               n.credit_posted_after, n.credit_pending_after,
               CASE WHEN n.flags & 12 <> 0
                    THEN (SELECT h.amount FROM ledger_transfer h WHERE h.id = n.pending_id) END
        FROM inserted n
    ),
    -- One pass per account: its sums, its versions, the balances of its last entry (the greatest version), and
    -- whether every leg names the same community and asset (by a 64-bit hash of the community) and only voids.
    per_account AS (
        SELECT account_id, count(*) AS entries, min(version) AS first_version,
               max(ARRAY[version, posted_after, pending_after]) AS last,
               coalesce(sum(amount) FILTER (WHERE debit AND flags & 14 IN (0, 4)), 0) AS dp,
               coalesce(sum(amount) FILTER (WHERE NOT debit AND flags & 14 IN (0, 4)), 0) AS cp,
               coalesce(sum(CASE WHEN flags & 2 <> 0 THEN amount ELSE -held END)
                        FILTER (WHERE debit AND flags & 14 <> 0), 0) AS dq,
               coalesce(sum(CASE WHEN flags & 2 <> 0 THEN amount ELSE -held END)
                        FILTER (WHERE NOT debit AND flags & 14 <> 0), 0) AS cq,
               bool_and(flags & 8 <> 0) AS only_voids,
               min(uuid_hash_extended(community_id, 0)) AS community_hash,
               max(uuid_hash_extended(community_id, 0)) = min(uuid_hash_extended(community_id, 0))
                   AND max(asset) = min(asset) AS one_ledger,
               min(asset) AS asset
        FROM legs GROUP BY account_id
    ),
    applied AS (
        UPDATE ledger_account a
        SET debits_posted = a.debits_posted + p.dp, credits_posted = a.credits_posted + p.cp,
            debits_pending = a.debits_pending + p.dq, credits_pending = a.credits_pending + p.cq,
            version = a.version + p.entries
        FROM per_account p
        WHERE a.id = p.account_id
        -- Versions run on from the account's without a gap (distinct: checked on all legs below); the last leg
        -- carries the balances the account now has. A closed account only sees its holds voided.
        RETURNING ((NOT a.closed OR p.only_voids) AND p.one_ledger
                   AND uuid_hash_extended(a.community_id, 0) = p.community_hash AND a.asset = p.asset
                   AND p.first_version = a.version - p.entries + 1 AND p.last[1] = a.version
                   AND p.last[2] = a.credits_posted - a.debits_posted
                   AND p.last[3] = a.credits_pending - a.debits_pending) AS consistent
    )
    SELECT (SELECT count(*) FROM per_account),
           count(*), count(*) FILTER (WHERE NOT consistent),
           (SELECT count(*) FROM (SELECT FROM legs GROUP BY account_id, version HAVING count(*) > 1) AS twice)
    INTO expected, touched, inconsistent, mixed
    FROM applied;

    IF touched <> expected THEN
        RAISE EXCEPTION 'ledger: % transfer account(s) do not exist', expected - touched
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF inconsistent > 0 OR mixed > 0 THEN
        RAISE EXCEPTION 'ledger: % account(s) with a closed account, a mismatched asset or community, or entries '
            'whose versions and running balances disagree with the account', inconsistent + mixed
            USING ERRCODE = 'check_violation';
    END IF;

    -- Queue the rows for sealing, one entry per community: ledger_seal_pending() links them into the chain later,
    -- off the write path, so batches of one community no longer take turns on its chain head.
    INSERT INTO ledger_unsealed (community_id, seqs, transfer_count)
    SELECT n.community_id, range_agg(int8range(n.seq, n.seq, '[]')), count(*) FROM inserted n GROUP BY n.community_id;
    RETURN NULL;
END
$$;

-- Seals every committed queue entry: per community, one block of all its queued transfers, linked to the head.
-- Returns the number of blocks sealed. Concurrent sealers take turns on the chain heads (locked in community order,
-- the last step of the global lock order); each statement after the lock sees what the one before committed.
CREATE FUNCTION ledger_seal_pending() RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public SET enable_hashjoin = off SET enable_mergejoin = off AS $$
DECLARE
    locked uuid[];
    sealed integer;
BEGIN
    SELECT coalesce(array_agg(h.community_id), '{}') INTO locked FROM (
        SELECT h.community_id FROM ledger_chain_head h
        WHERE h.community_id IN (SELECT u.community_id FROM ledger_unsealed u)
        ORDER BY h.community_id FOR UPDATE
    ) AS h;
    IF cardinality(locked) = 0 THEN
        RETURN 0;
    END IF;
    WITH taken AS (
        DELETE FROM ledger_unsealed u WHERE u.community_id = ANY (locked)
        RETURNING u.community_id, u.seqs, u.transfer_count
    ),
    queued AS (
        SELECT t.community_id, range_agg(r) AS seqs, sum(t.transfer_count) AS transfer_count
        FROM taken t, unnest(t.seqs) AS r GROUP BY t.community_id
    ),
    -- A community's seqs never share a range with another's (range_agg joins only adjacent seqs), so each range
    -- is read through the block range index on seq.
    contents AS (
        SELECT q.community_id,
               string_agg(ledger_transfer_digest(x), ''::bytea ORDER BY x.seq) AS digests
        FROM queued q, unnest(q.seqs) AS r
        JOIN LATERAL (
            SELECT t.* FROM ledger_transfer t
            WHERE t.seq >= lower(r) AND t.seq < upper(r) AND t.community_id = q.community_id
        ) AS x ON true
        GROUP BY q.community_id
    ),
    blocks AS (
        INSERT INTO ledger_seal (community_id, block_no, first_seq, last_seq, seqs, transfer_count, prev_hash, hash)
        SELECT q.community_id, h.block_no + 1, lower(q.seqs), upper(q.seqs) - 1, q.seqs, q.transfer_count, h.hash,
               ledger_block_hash(h.hash, coalesce(c.digests, ''::bytea))
        FROM queued q JOIN ledger_chain_head h ON h.community_id = q.community_id
        LEFT JOIN contents c ON c.community_id = q.community_id
        RETURNING community_id, block_no, last_seq, hash
    ),
    linked AS (
        UPDATE ledger_chain_head h
        SET block_no = b.block_no, last_seq = greatest(h.last_seq, b.last_seq), hash = b.hash
        FROM blocks b WHERE h.community_id = b.community_id
        RETURNING h.community_id
    )
    SELECT count(*) INTO sealed FROM linked;
    RETURN sealed;
END
$$;
"""


def _first_trigger() -> str:
    """The trigger function as the first ledger migration created it (its text is the record of that version)."""
    text = (Path(__file__).parent / "ledger_2026_11_23t01_00_00_000000.py").read_text()
    start = text.index("CREATE FUNCTION ledger_apply_transfers()")
    function = text[start : text.index("\n$$;\n", start) + len("\n$$;\n")]
    return function.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def _backwards() -> str:
    return (
        "SELECT ledger_seal_pending();\n"
        + _first_trigger()
        + "\nDROP FUNCTION ledger_seal_pending();\nDROP TABLE ledger_unsealed;\n"
    )


async def _execute(sql: str) -> None:
    # Runs on the migration's own transaction connection, so a failure rolls the whole migration back.
    engine = engine_finder()
    await engine.current_transaction.get().connection.execute(sql)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="ledger", description=DESCRIPTION)

    async def run() -> None:
        await _execute(FORWARDS)

    async def run_backwards() -> None:
        await _execute(_backwards())

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
