"""Re-checks the whole ledger from its transfers, trusting nothing the write path stored.

Each check is one SQL statement returning only violations, so a clean ledger costs a few scans. The hash chain is
walked block by block per community and the first broken link is named.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import asyncpg

__all__ = ["VerifyReport", "verify_ledger"]

_SCOPE = "($1::uuid IS NULL OR community_id = $1)"

_CONSERVATION = f"""
SELECT community_id, asset, sum(debits_posted) - sum(credits_posted) AS posted_gap,
       sum(debits_pending) - sum(credits_pending) AS pending_gap
FROM ledger_account WHERE {_SCOPE}
GROUP BY community_id, asset
HAVING sum(debits_posted) <> sum(credits_posted) OR sum(debits_pending) <> sum(credits_pending)
"""

# Recomputes every account's counters from its transfers, with the same rules as the write trigger.
_COUNTERS = f"""
WITH moves AS (
    SELECT t.*, p.amount AS pending_amount
    FROM ledger_transfer t LEFT JOIN ledger_transfer p ON p.id = t.pending_id
    WHERE {_SCOPE.replace("community_id", "t.community_id")}
),
legs AS (
    SELECT debit_account_id AS account_id,
           CASE WHEN flags & 14 IN (0, 4) THEN amount ELSE 0 END AS dp, 0::bigint AS cp,
           CASE WHEN flags & 2 <> 0 THEN amount WHEN flags & 12 <> 0 THEN -pending_amount ELSE 0 END AS dq,
           0::bigint AS cq, debit_version AS version, debit_posted_after AS posted_after,
           debit_pending_after AS pending_after
    FROM moves
    UNION ALL
    SELECT credit_account_id, 0, CASE WHEN flags & 14 IN (0, 4) THEN amount ELSE 0 END,
           0, CASE WHEN flags & 2 <> 0 THEN amount WHEN flags & 12 <> 0 THEN -pending_amount ELSE 0 END,
           credit_version, credit_posted_after, credit_pending_after
    FROM moves
),
sums AS (
    SELECT account_id, sum(dp) AS dp, sum(cp) AS cp, sum(dq) AS dq, sum(cq) AS cq, count(*) AS entries,
           count(DISTINCT version) AS versions, max(version) AS last_version,
           (array_agg(posted_after ORDER BY version DESC))[1] AS last_posted,
           (array_agg(pending_after ORDER BY version DESC))[1] AS last_pending
    FROM legs GROUP BY account_id
)
SELECT a.id, a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending, a.version,
       coalesce(s.dp, 0) AS dp, coalesce(s.cp, 0) AS cp, coalesce(s.dq, 0) AS dq, coalesce(s.cq, 0) AS cq,
       coalesce(s.entries, 0) AS entries, coalesce(s.versions, 0) AS versions, s.last_version, s.last_posted,
       s.last_pending
FROM ledger_account a LEFT JOIN sums s ON s.account_id = a.id
WHERE {_SCOPE.replace("community_id", "a.community_id")}
  AND (a.debits_posted <> coalesce(s.dp, 0) OR a.credits_posted <> coalesce(s.cp, 0)
       OR a.debits_pending <> coalesce(s.dq, 0) OR a.credits_pending <> coalesce(s.cq, 0)
       OR a.version <> coalesce(s.entries, 0) OR coalesce(s.versions, 0) <> coalesce(s.entries, 0)
       OR (s.entries > 0 AND (s.last_version <> a.version
           OR s.last_posted <> a.credits_posted - a.debits_posted
           OR s.last_pending <> a.credits_pending - a.debits_pending)))
"""

_LIMITS = f"""
SELECT id, flags, floor, cap FROM ledger_account
WHERE {_SCOPE} AND (
    (flags = 1 AND credits_posted - debits_posted - debits_pending < coalesce(floor, 0))
    OR (flags = 2 AND debits_posted - credits_posted - credits_pending < coalesce(floor, 0))
    OR (cap IS NOT NULL AND flags <> 2 AND credits_posted + credits_pending - debits_posted > cap)
    OR (cap IS NOT NULL AND flags = 2 AND debits_posted + debits_pending - credits_posted > cap))
"""

_UNRESOLVED_TWICE = f"""
SELECT pending_id, count(*) FROM ledger_transfer WHERE pending_id IS NOT NULL AND {_SCOPE}
GROUP BY pending_id HAVING count(*) > 1
"""

_BLOCKS = """
SELECT s.block_no, s.first_seq, s.last_seq, s.transfer_count, s.prev_hash, s.hash,
       d.transfers, ledger_block_hash(s.prev_hash, coalesce(d.digests, ''::bytea)) AS recomputed
FROM ledger_seal s
LEFT JOIN LATERAL (
    SELECT count(*) AS transfers,
           string_agg(ledger_transfer_digest(t), ''::bytea ORDER BY t.seq) AS digests
    FROM ledger_transfer t
    WHERE t.community_id = s.community_id AND t.seq BETWEEN s.first_seq AND s.last_seq AND t.seq <@ s.seqs
) d ON true
WHERE s.community_id = $1
ORDER BY s.block_no
"""


# Blocks' seq sets may interleave (concurrent batches) but never overlap: sorted by start, no range may begin
# before the one before it ends (checking neighbours is enough: then every end is below the next start).
_OVERLAPS = """
SELECT block_no, previous_block FROM (
    SELECT s.block_no, lower(r) AS starts, lag(upper(r)) OVER w AS previous_ends,
           lag(s.block_no) OVER w AS previous_block
    FROM ledger_seal s, unnest(s.seqs) AS r
    WHERE s.community_id = $1
    WINDOW w AS (ORDER BY lower(r))
) ranges
WHERE starts < previous_ends
ORDER BY least(block_no, previous_block)
LIMIT 1
"""


@dataclass(slots=True)
class VerifyReport:
    """What was checked, and every violation found (empty when the ledger is sound)."""

    communities: int = 0
    accounts: int = 0
    transfers: int = 0
    blocks: int = 0
    violations: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations


async def _verify_chain(connection: asyncpg.Connection, community_id: uuid.UUID, report: VerifyReport) -> None:
    previous_hash, expected_no, covered = b"", 1, 0
    for block in await connection.fetch(_BLOCKS, community_id):
        report.blocks += 1
        where = f"community {community_id} block {block['block_no']} (seq {block['first_seq']}..{block['last_seq']})"
        broken = None
        if block["block_no"] != expected_no:
            broken = f"missing block {expected_no}"
        elif bytes(block["prev_hash"]) != previous_hash:
            broken = "does not link to the block before it"
        elif block["transfers"] != block["transfer_count"]:
            broken = f"holds {block['transfers']} transfers, sealed with {block['transfer_count']}"
        elif bytes(block["recomputed"]) != bytes(block["hash"]):
            broken = "hash does not match its transfers (a transfer was altered)"
        if broken is not None:
            report.violations.append(f"hash chain broken at {where}: {broken}")
            return
        previous_hash = bytes(block["hash"])
        expected_no += 1
        covered += block["transfers"]
    overlap = await connection.fetchrow(_OVERLAPS, community_id)
    if overlap is not None:
        first, second = sorted((overlap["block_no"], overlap["previous_block"]))
        report.violations.append(f"hash chain of community {community_id}: blocks {first} and {second} overlap")
        return
    row = await connection.fetchrow(
        "SELECT (SELECT count(*) FROM ledger_transfer WHERE community_id = $1) AS transfers, "
        "(SELECT hash FROM ledger_chain_head WHERE community_id = $1) AS head",
        community_id,
    )
    if row["transfers"] != covered:
        report.violations.append(
            f"hash chain of community {community_id}: {row['transfers'] - covered} transfer(s) outside any block"
        )
    elif row["head"] is not None and bytes(row["head"]) != previous_hash:
        report.violations.append(f"hash chain of community {community_id}: head does not match the last block")


async def verify_ledger(connection: asyncpg.Connection, community_id: uuid.UUID | None = None) -> VerifyReport:
    """Check every invariant for one community, or for all of them, in one repeatable-read snapshot."""
    report = VerifyReport()
    async with connection.transaction(isolation="repeatable_read", readonly=True):
        for row in await connection.fetch(_CONSERVATION, community_id):
            report.violations.append(
                f"community {row['community_id']} asset {row['asset']}: debits exceed credits by "
                f"{row['posted_gap']} posted and {row['pending_gap']} pending"
            )
        for row in await connection.fetch(_COUNTERS, community_id):
            report.violations.append(
                f"account {row['id']}: stored counters/version/running balance disagree with its transfers "
                f"(stored dp={row['debits_posted']} cp={row['credits_posted']} dq={row['debits_pending']} "
                f"cq={row['credits_pending']} v={row['version']}; recomputed dp={row['dp']} cp={row['cp']} "
                f"dq={row['dq']} cq={row['cq']} entries={row['entries']})"
            )
        for row in await connection.fetch(_LIMITS, community_id):
            report.violations.append(f"account {row['id']}: beyond its floor or cap")
        for row in await connection.fetch(_UNRESOLVED_TWICE, community_id):
            report.violations.append(f"pending transfer {row['pending_id']} resolved {row['count']} times")
        counts = await connection.fetchrow(
            f"SELECT (SELECT count(*) FROM ledger_account WHERE {_SCOPE}) AS accounts, "
            f"(SELECT count(*) FROM ledger_transfer WHERE {_SCOPE}) AS transfers",
            community_id,
        )
        report.accounts, report.transfers = counts["accounts"], counts["transfers"]
        communities = (
            [community_id]
            if community_id is not None
            else [r["community_id"] for r in await connection.fetch("SELECT community_id FROM ledger_chain_head")]
        )
        report.communities = len(communities)
        for community in communities:
            await _verify_chain(connection, community, report)
    return report
