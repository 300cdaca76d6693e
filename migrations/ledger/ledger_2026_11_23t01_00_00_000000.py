"""The double-entry ledger: accounts, transfers, remembered failures, and the per-community hash chain.

The database itself keeps the books straight, whatever the application does:
- account counters change only through the statement trigger on ``ledger_transfer``, which applies each inserted
  transfer to both of its accounts (so Σ debits = Σ credits per asset, posted and pending alike), checks that the
  running balances and versions the rows carry match the counters, checks every post or void against its hold and
  every reversal against its original, and seals the rows into the community's chain;
- CHECK constraints keep every account at or above its floor (counting pending debits) and at or below its cap;
- transfers, failures and seals can be neither updated nor deleted, and the application role lacks the privilege too;
- a pending transfer is resolved (posted or voided) at most once, and a transfer is reversed at most once;
- a closed account takes no new transfers, but its holds can still be voided (and expire).

The write path is two functions: ``ledger_read_batch`` reads what a batch is decided on (optionally locking the
accounts) and ``ledger_write_batch`` appends the decided rows in one statement, locking accounts in id order and
refusing (serialization_failure) when something a decision rested on moved since the read. Lock order everywhere:
accounts by id, then chain heads by community.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-23T01:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "ledger accounts, transfers, failures and hash chain"

FORWARDS = r"""
CREATE TABLE ledger_code (
    code smallint PRIMARY KEY,
    name text NOT NULL UNIQUE,
    description text NOT NULL
);

CREATE TABLE ledger_account (
    id uuid PRIMARY KEY,
    community_id uuid NOT NULL,
    asset smallint NOT NULL CHECK (asset BETWEEN 1 AND 4),
    owner_kind text,
    owner_id uuid,
    system_role text,
    label text NOT NULL DEFAULT '',
    flags smallint NOT NULL DEFAULT 0 CHECK (flags IN (0, 1, 2)),
    floor bigint,
    cap bigint CHECK (cap >= 0),
    debits_posted bigint NOT NULL DEFAULT 0 CHECK (debits_posted >= 0),
    credits_posted bigint NOT NULL DEFAULT 0 CHECK (credits_posted >= 0),
    debits_pending bigint NOT NULL DEFAULT 0 CHECK (debits_pending >= 0),
    credits_pending bigint NOT NULL DEFAULT 0 CHECK (credits_pending >= 0),
    version bigint NOT NULL DEFAULT 0,
    closed boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT ledger_account_owner_or_role CHECK (
        (owner_kind IS NOT NULL AND owner_id IS NOT NULL AND system_role IS NULL)
        OR (owner_kind IS NULL AND owner_id IS NULL AND system_role IS NOT NULL)
    ),
    -- flag 1: debits_must_not_exceed_credits; flag 2: credits_must_not_exceed_debits. Pending debits count.
    CONSTRAINT ledger_account_floor CHECK (
        CASE flags
            WHEN 1 THEN credits_posted - debits_posted - debits_pending >= coalesce(floor, 0)
            WHEN 2 THEN debits_posted - credits_posted - credits_pending >= coalesce(floor, 0)
            ELSE true
        END
    ),
    -- The storage cap counts pending credits, so a hold can never push an account over it when posted.
    CONSTRAINT ledger_account_cap CHECK (
        cap IS NULL OR CASE flags
            WHEN 2 THEN debits_posted + debits_pending - credits_posted <= cap
            ELSE credits_posted + credits_pending - debits_posted <= cap
        END
    )
) WITH (fillfactor = 70);

CREATE UNIQUE INDEX ledger_account_owner_key ON ledger_account (community_id, owner_kind, owner_id, asset, label)
    WHERE owner_id IS NOT NULL;
CREATE UNIQUE INDEX ledger_account_role_key ON ledger_account (community_id, system_role, asset, label)
    WHERE system_role IS NOT NULL;

CREATE TABLE ledger_transfer (
    id uuid PRIMARY KEY,
    seq bigint GENERATED ALWAYS AS IDENTITY,
    community_id uuid NOT NULL,
    asset smallint NOT NULL,
    debit_account_id uuid NOT NULL,
    credit_account_id uuid NOT NULL,
    amount bigint NOT NULL CHECK (amount > 0),
    code smallint NOT NULL CHECK (code > 0),
    flags smallint NOT NULL CHECK (flags BETWEEN 0 AND 15 AND (flags & 14) IN (0, 2, 4, 8)),
    pending_id uuid,
    timeout_at timestamptz,
    reverses_id uuid,
    ref_type text,
    ref_id uuid,
    policy_version integer,
    memo text CHECK (length(memo) <= 500),
    -- The two entries, inline: each account's version and balances (credits - debits) after this transfer.
    debit_version bigint NOT NULL,
    debit_posted_after bigint NOT NULL,
    debit_pending_after bigint NOT NULL,
    credit_version bigint NOT NULL,
    credit_posted_after bigint NOT NULL,
    credit_pending_after bigint NOT NULL,
    created_at timestamptz NOT NULL,
    CONSTRAINT ledger_transfer_distinct_accounts CHECK (debit_account_id <> credit_account_id),
    CONSTRAINT ledger_transfer_resolution CHECK (((flags & 12) <> 0) = (pending_id IS NOT NULL)),
    CONSTRAINT ledger_transfer_timeout CHECK (timeout_at IS NULL OR (flags & 2) <> 0),
    CONSTRAINT ledger_transfer_reversal CHECK (reverses_id IS NULL OR (flags & 14) = 0)
);

CREATE UNIQUE INDEX ledger_transfer_debit_entry ON ledger_transfer (debit_account_id, debit_version);
CREATE UNIQUE INDEX ledger_transfer_credit_entry ON ledger_transfer (credit_account_id, credit_version);
-- Rows land in seq order (append-only), so a block range index finds a chain block's rows at almost no write cost.
CREATE INDEX ledger_transfer_seq ON ledger_transfer USING brin (seq) WITH (pages_per_range = 16, autosummarize = on);
-- A pending transfer is posted or voided once; a transfer is reversed once.
CREATE UNIQUE INDEX ledger_transfer_resolves_once ON ledger_transfer (pending_id) WHERE pending_id IS NOT NULL;
CREATE UNIQUE INDEX ledger_transfer_reversed_once ON ledger_transfer (reverses_id) WHERE reverses_id IS NOT NULL;
CREATE INDEX ledger_transfer_expiry ON ledger_transfer (timeout_at) WHERE timeout_at IS NOT NULL;
CREATE INDEX ledger_transfer_reference ON ledger_transfer (ref_type, ref_id) WHERE ref_id IS NOT NULL;

-- A refused transfer id and why: a retry with that id gets the same answer, never a different outcome.
CREATE TABLE ledger_transfer_failure (
    id uuid PRIMARY KEY,
    result smallint NOT NULL CHECK (result > 0),
    request_hash bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- The head of each community's chain: the last block's number and hash (last_seq: the highest seq sealed).
CREATE TABLE ledger_chain_head (
    community_id uuid PRIMARY KEY,
    block_no bigint NOT NULL DEFAULT 0,
    last_seq bigint NOT NULL DEFAULT 0,
    hash bytea NOT NULL DEFAULT '\x'::bytea
);

-- One block per community per inserting statement: the transfers whose seq is in `seqs` (concurrent batches of a
-- community draw seqs from one sequence, so a block's seqs may interleave with another's; they never overlap).
CREATE TABLE ledger_seal (
    community_id uuid NOT NULL,
    block_no bigint NOT NULL,
    first_seq bigint NOT NULL,
    last_seq bigint NOT NULL,
    seqs int8multirange NOT NULL,
    transfer_count integer NOT NULL,
    prev_hash bytea NOT NULL,
    hash bytea NOT NULL,
    sealed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (community_id, block_no)
);

-- What the chain hashes for one transfer: every field in PostgreSQL's binary form (the record_send of an explicit
-- row, so columns added later never change old digests): integers big-endian, uuids as 16 bytes, timestamps as
-- microseconds since 2000 (no time zone, no DateStyle), text as UTF-8 bytes (whatever the client encoding).
CREATE FUNCTION ledger_transfer_digest(t ledger_transfer) RETURNS bytea
LANGUAGE sql STABLE AS $$
    SELECT record_send(ROW(t.id, t.seq, t.community_id, t.asset, t.debit_account_id, t.credit_account_id, t.amount,
        t.code, t.flags, t.pending_id, t.timeout_at, t.reverses_id, convert_to(t.ref_type, 'UTF8'), t.ref_id,
        t.policy_version, convert_to(t.memo, 'UTF8'), t.debit_version, t.debit_posted_after, t.debit_pending_after,
        t.credit_version, t.credit_posted_after, t.credit_pending_after, t.created_at))
$$;

-- A block's hash: SHA-256 of the previous block's hash and the digests of its transfers in seq order.
CREATE FUNCTION ledger_block_hash(prev_hash bytea, digests bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
    SELECT sha256(prev_hash || digests)
$$;

-- Applies a statement's inserted transfers to their accounts and seals them into each community's chain.
-- Joins are nested loops over primary keys: a hash or merge join would scan the whole (ever growing) tables.
CREATE FUNCTION ledger_apply_transfers() RETURNS trigger
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

    -- Seal each community's rows as one block, in one statement. The digests are computed first; the heads are
    -- locked last and only to link the blocks (accounts before chain heads, heads by community: one global lock
    -- order), so concurrent batches of one community overlap everywhere but in this short step and their commits.
    WITH blocks AS (
        SELECT n.community_id, min(n.seq) AS first_seq, max(n.seq) AS last_seq, count(*) AS transfers,
               range_agg(int8range(n.seq, n.seq, '[]')) AS seqs,
               string_agg(ledger_transfer_digest(n::ledger_transfer), ''::bytea ORDER BY n.seq) AS digests
        FROM inserted n GROUP BY n.community_id
    ),
    heads AS (
        SELECT h.community_id, h.block_no, h.hash FROM ledger_chain_head h
        WHERE h.community_id IN (SELECT community_id FROM blocks)
        ORDER BY h.community_id FOR UPDATE
    ),
    sealed AS (
        INSERT INTO ledger_seal (community_id, block_no, first_seq, last_seq, seqs, transfer_count, prev_hash, hash)
        SELECT b.community_id, h.block_no + 1, b.first_seq, b.last_seq, b.seqs, b.transfers, h.hash,
               ledger_block_hash(h.hash, b.digests)
        FROM blocks b JOIN heads h ON h.community_id = b.community_id
        RETURNING community_id, block_no, last_seq, hash
    ),
    linked AS (
        UPDATE ledger_chain_head h
        SET block_no = s.block_no, last_seq = greatest(h.last_seq, s.last_seq), hash = s.hash
        FROM sealed s WHERE h.community_id = s.community_id
        RETURNING h.community_id
    )
    SELECT (SELECT count(*) FROM blocks), count(*) INTO expected, touched FROM linked;
    IF touched <> expected THEN
        -- Chain heads are made when a community's first account opens (ledger_account_chain_head).
        RAISE EXCEPTION 'ledger: % communities of the inserted transfers have no chain head', expected - touched
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER ledger_transfer_apply AFTER INSERT ON ledger_transfer
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION ledger_apply_transfers();

-- Everything a batch is decided on, in one round trip: the transfers that posts, voids and reversals name and the
-- batch ids already stored, then every account (locked in id order, the global lock order, when `lock`), then the
-- ids remembered as failed, how each named transfer was resolved, and the clock. Without `lock` this is a plain
-- read of what last committed, and ledger_write_batch checks that nothing the decisions rest on moved since.
-- kind: 0 clock, 1 account, 2 transfer, 3 remembered failure, 4 a hold's resolution, 5 a reversal's target.
CREATE FUNCTION ledger_read_batch(ids uuid[], account_ids uuid[], targets uuid[], lock boolean)
RETURNS TABLE (
    kind smallint, id uuid, community_id uuid, asset smallint, flags smallint, floor bigint, cap bigint,
    debits_posted bigint, credits_posted bigint, debits_pending bigint, credits_pending bigint, version bigint,
    closed boolean, debit_account_id uuid, credit_account_id uuid, amount bigint, code smallint, pending_id uuid,
    timeout_at timestamptz, reverses_id uuid, ref_type text, ref_id uuid, policy_version integer, memo text,
    created_at timestamptz, result smallint
)
LANGUAGE plpgsql SET search_path = public SET enable_hashjoin = off SET enable_mergejoin = off AS $$
#variable_conflict use_column
DECLARE
    named uuid[] := '{}';
BEGIN
    IF cardinality(targets) > 0 THEN
        RETURN QUERY
        SELECT 2::smallint, t.id, t.community_id, t.asset, t.flags, NULL::bigint, NULL::bigint, NULL::bigint,
               NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::boolean, t.debit_account_id,
               t.credit_account_id, t.amount, t.code, t.pending_id, t.timeout_at, t.reverses_id, t.ref_type, t.ref_id,
               t.policy_version, t.memo, t.created_at, NULL::smallint
        FROM unnest(targets) AS q(id) JOIN ledger_transfer t ON t.id = q.id;
        SELECT coalesce(array_agg(x), '{}') INTO named
        FROM unnest(targets) AS q(id) JOIN ledger_transfer t ON t.id = q.id,
             unnest(ARRAY[t.debit_account_id, t.credit_account_id]) AS x;
    END IF;

    -- The batch's own ids, read before waiting for any lock: one that commits the same id meanwhile makes this
    -- batch's insert fail on the primary key, and the batch is decided again.
    RETURN QUERY
    SELECT 2::smallint, t.id, t.community_id, t.asset, t.flags, NULL::bigint, NULL::bigint, NULL::bigint,
           NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::boolean, t.debit_account_id,
           t.credit_account_id, t.amount, t.code, t.pending_id, t.timeout_at, t.reverses_id, t.ref_type, t.ref_id,
           t.policy_version, t.memo, t.created_at, NULL::smallint
    FROM unnest(ids) AS q(id) JOIN ledger_transfer t ON t.id = q.id;
    IF lock THEN
        RETURN QUERY
        SELECT 1::smallint, a.id, a.community_id, a.asset, a.flags, a.floor, a.cap, a.debits_posted, a.credits_posted,
               a.debits_pending, a.credits_pending, a.version, a.closed, NULL::uuid, NULL::uuid, NULL::bigint,
               NULL::smallint, NULL::uuid, NULL::timestamptz, NULL::uuid, NULL::text, NULL::uuid, NULL::integer,
               NULL::text, NULL::timestamptz, NULL::smallint
        FROM (SELECT DISTINCT x FROM unnest(account_ids || named) AS x) AS q JOIN ledger_account a ON a.id = q.x
        ORDER BY a.id FOR UPDATE OF a;
    ELSE
        RETURN QUERY
        SELECT 1::smallint, a.id, a.community_id, a.asset, a.flags, a.floor, a.cap, a.debits_posted, a.credits_posted,
               a.debits_pending, a.credits_pending, a.version, a.closed, NULL::uuid, NULL::uuid, NULL::bigint,
               NULL::smallint, NULL::uuid, NULL::timestamptz, NULL::uuid, NULL::text, NULL::uuid, NULL::integer,
               NULL::text, NULL::timestamptz, NULL::smallint
        FROM (SELECT DISTINCT x FROM unnest(account_ids || named) AS x) AS q JOIN ledger_account a ON a.id = q.x;
    END IF;

    -- From here on every statement sees what committed before the locks (if any) were granted.
    RETURN QUERY
    SELECT 3::smallint, f.id, NULL::uuid, NULL::smallint, NULL::smallint, NULL::bigint, NULL::bigint, NULL::bigint,
           NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::boolean, NULL::uuid, NULL::uuid,
           NULL::bigint, NULL::smallint, NULL::uuid, NULL::timestamptz, NULL::uuid, NULL::text, NULL::uuid,
           NULL::integer, NULL::text, NULL::timestamptz, f.result
    FROM unnest(ids) AS q(id) JOIN ledger_transfer_failure f ON f.id = q.id;
    IF cardinality(targets) > 0 THEN
        RETURN QUERY
        SELECT CASE WHEN r.pending_id = q.id THEN 4::smallint ELSE 5::smallint END, q.id, NULL::uuid,
               NULL::smallint, r.flags, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint,
               NULL::bigint, NULL::bigint, NULL::boolean, NULL::uuid, NULL::uuid, NULL::bigint, NULL::smallint,
               NULL::uuid, NULL::timestamptz, NULL::uuid, NULL::text, NULL::uuid, NULL::integer, NULL::text,
               NULL::timestamptz, NULL::smallint
        FROM unnest(targets) AS q(id)
        JOIN LATERAL (
            SELECT p.pending_id, p.flags FROM ledger_transfer p WHERE p.pending_id = q.id
            UNION ALL
            SELECT v.pending_id, v.flags FROM ledger_transfer v WHERE v.reverses_id = q.id
        ) AS r ON true;
    END IF;
    RETURN QUERY
    SELECT 0::smallint, NULL::uuid, NULL::uuid, NULL::smallint, NULL::smallint, NULL::bigint, NULL::bigint,
           NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::boolean, NULL::uuid,
           NULL::uuid, NULL::bigint, NULL::smallint, NULL::uuid, NULL::timestamptz, NULL::uuid, NULL::text,
           NULL::uuid, NULL::integer, NULL::text, clock_timestamp(), NULL::smallint;
END
$$;

-- Appends a decided batch as one statement: the caller runs it as its own transaction after an unlocked
-- ledger_read_batch (or inside the transaction that locked what it read). It locks every account the rows move or a
-- refusal rested on, in id order, and refuses with serialization_failure (decide again) when one moved in a way
-- that could change an answer: the version of an account a refusal rested on, or less room above a floor or below a
-- cap than the batch used. Otherwise the rows' entries are moved on by however far their accounts moved, and they
-- are stamped with the clock read under the locks (holds' timeouts moved alike), so entries stay in time order; a
-- post, or a void other than expiry, of a hold that expired meanwhile is decided again too. The slots name each
-- row's accounts by position in the account arrays (1-based).
-- A decided row (created_at is ignored: the write stamps its own), and an account as the batch was decided on it.
CREATE TYPE ledger_planned AS (
    id uuid, community_id uuid, asset smallint, debit_account_id uuid, credit_account_id uuid, amount bigint,
    code smallint, flags smallint, pending_id uuid, timeout_at timestamptz, reverses_id uuid, ref_type text,
    ref_id uuid, policy_version integer, memo text, debit_version bigint, debit_posted_after bigint,
    debit_pending_after bigint, credit_version bigint, credit_posted_after bigint, credit_pending_after bigint,
    created_at timestamptz
);
CREATE TYPE ledger_read_account AS (
    id uuid, version bigint, debits_posted bigint, credits_posted bigint, debits_pending bigint,
    credits_pending bigint, exact boolean, floor_room bigint, cap_room bigint
);

CREATE FUNCTION ledger_write_batch(
    read_at timestamptz, accounts ledger_read_account[], rows ledger_planned[], debit_slots integer[],
    credit_slots integer[], failed_ids uuid[], failed_results smallint[], failed_hashes bigint[]
) RETURNS void
LANGUAGE plpgsql SET search_path = public SET enable_hashjoin = off SET enable_mergejoin = off AS $$
DECLARE
    moved_versions bigint[];
    moved_posted bigint[];
    moved_pending bigint[];
    stale integer;
    stamp timestamptz;
BEGIN
    WITH locked AS (
        SELECT s.slot, s.version AS read_version, s.dp AS read_dp, s.cp AS read_cp, s.dq AS read_dq,
               s.cq AS read_cq, s.exact, s.floor_room, s.cap_room, a.flags, a.version, a.debits_posted AS dp,
               a.credits_posted AS cp, a.debits_pending AS dq, a.credits_pending AS cq
        FROM unnest(accounts) WITH ORDINALITY AS s(id, version, dp, cp, dq, cq, exact, floor_room, cap_room, slot)
        JOIN ledger_account a ON a.id = s.id
        ORDER BY a.id FOR UPDATE OF a
    )
    SELECT array_agg(version - read_version ORDER BY slot),
           array_agg((cp - dp) - (read_cp - read_dp) ORDER BY slot),
           array_agg((cq - dq) - (read_cq - read_dq) ORDER BY slot),
           count(*) FILTER (WHERE (exact AND version <> read_version)
               OR floor_room + CASE WHEN flags = 2 THEN (dp - cp - cq) - (read_dp - read_cp - read_cq)
                                    ELSE (cp - dp - dq) - (read_cp - read_dp - read_dq) END < 0
               OR cap_room - CASE WHEN flags = 2 THEN (dp + dq - cp) - (read_dp + read_dq - read_cp)
                                  ELSE (cp + cq - dp) - (read_cp + read_cq - read_dp) END < 0)
    INTO moved_versions, moved_posted, moved_pending, stale
    FROM locked;
    IF stale > 0 THEN
        RAISE EXCEPTION 'ledger: % account(s) moved since the batch was read; decide it again', stale
            USING ERRCODE = 'serialization_failure';
    END IF;
    -- A failure remembered, or a transfer stored, since the read under an id this batch decided otherwise.
    IF EXISTS (SELECT FROM unnest(rows) AS r JOIN ledger_transfer_failure f ON f.id = r.id)
       OR EXISTS (SELECT FROM unnest(failed_ids) AS q(id) JOIN ledger_transfer t ON t.id = q.id) THEN
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
END
$$;

-- Every community with an account has a chain head, so sealing never has to create one on the hot path.
CREATE FUNCTION ledger_open_chain_heads() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
    INSERT INTO ledger_chain_head (community_id) SELECT DISTINCT community_id FROM opened ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;

CREATE TRIGGER ledger_account_chain_head AFTER INSERT ON ledger_account
    REFERENCING NEW TABLE AS opened FOR EACH STATEMENT EXECUTE FUNCTION ledger_open_chain_heads();

CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger: % rows are append-only; correct with a reversal', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER ledger_transfer_append_only BEFORE UPDATE OR DELETE ON ledger_transfer
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_transfer_no_truncate BEFORE TRUNCATE ON ledger_transfer
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_failure_append_only BEFORE UPDATE OR DELETE ON ledger_transfer_failure
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_seal_append_only BEFORE UPDATE OR DELETE ON ledger_seal
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_seal_no_truncate BEFORE TRUNCATE ON ledger_seal
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

-- The service may read, append and open/close accounts; balances move only through the trigger above.
REVOKE ALL ON ledger_transfer, ledger_transfer_failure, ledger_seal, ledger_chain_head, ledger_account, ledger_code
    FROM timebank_app;
GRANT SELECT, INSERT ON ledger_transfer, ledger_transfer_failure TO timebank_app;
GRANT SELECT ON ledger_seal, ledger_code TO timebank_app;
GRANT SELECT, INSERT ON ledger_chain_head TO timebank_app;
-- SELECT ... FOR UPDATE needs UPDATE on some column; the key column is never changed, the trigger moves the head.
GRANT UPDATE (community_id) ON ledger_chain_head TO timebank_app;
GRANT SELECT, INSERT ON ledger_account TO timebank_app;
GRANT UPDATE (closed) ON ledger_account TO timebank_app;

INSERT INTO ledger_code (code, name, description) VALUES
    (1, 'service_credit', 'volunteer service credited'),
    (2, 'redemption', 'points spent on goods in the points mall'),
    (3, 'gift', 'time coins gifted to a lineal relative'),
    (4, 'donation', 'donated to the community pool'),
    (5, 'grant', 'granted from the community pool'),
    (6, 'reversal', 'reverses an earlier posted transfer'),
    (7, 'expiry', 'expired points or an expired hold'),
    (8, 'adjustment', 'correction approved by staff'),
    (9, 'help_payment', 'time coins paid for a neighbour''s help'),
    (10, 'score_base', 'party score base for a period'),
    (11, 'score_bonus', 'party score for an item or review'),
    (12, 'score_deduction', 'party score deducted'),
    (13, 'overflow', 'earnings over a cap, moved to the donation pool'),
    (14, 'order_reward', 'points or score for a closed order'),
    (15, 'issuance', 'value issued by the community');
"""

BACKWARDS = """
DROP FUNCTION ledger_transfer_digest(ledger_transfer);
DROP TABLE ledger_seal, ledger_chain_head, ledger_transfer_failure, ledger_transfer, ledger_account, ledger_code;
DROP FUNCTION ledger_apply_transfers(), ledger_refuse_change(), ledger_block_hash(bytea, bytea), ledger_open_chain_heads(),
    ledger_read_batch(uuid[], uuid[], uuid[], boolean),
    ledger_write_batch(timestamptz, ledger_read_account[], ledger_planned[], integer[], integer[], uuid[], smallint[],
        bigint[]);
DROP TYPE ledger_planned, ledger_read_account;
"""


async def _execute(sql: str) -> None:
    # Runs on the migration's own transaction connection, so a failure rolls the whole migration back.
    engine = engine_finder()
    await engine.current_transaction.get().connection.execute(sql)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="ledger", description=DESCRIPTION)

    async def run() -> None:
        await _execute(FORWARDS)

    async def run_backwards() -> None:
        await _execute(BACKWARDS)

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
