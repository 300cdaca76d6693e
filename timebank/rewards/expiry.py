"""Points expiry, where a community's policy sets a validity: oldest points first, and never without notice.

Every credit to a person's points account is a lot dated when it was posted; spending (and holds, and earlier
expiries) uses the oldest lots first. So the points of lots earned up to a cutoff that are still unspent are
``max(0, earned up to the cutoff - everything debited or held)``.

A scheduled job (``timebank rewards expire-points``) does two things per community, under a lock of its own:
1. expires, to the community's expiry account, the unspent points of lots that are past their validity *and*
   covered by a notice whose due date has come;
2. issues a notice for lots that will pass their validity within the notice period and no notice covers yet.
So nothing expires sooner than the notice period after residents were told.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg
import structlog

from timebank.community.accounts import SystemRole, system_account_id
from timebank.db import EVERY_COMMUNITY, bound
from timebank.ledger import MAX_BATCH, Asset, Code, Transfer
from timebank.rewards import points
from timebank.rewards.model import ExpiryNotice
from timebank.rewards.policy import current_policy

__all__ = ["ExpiryRun", "expire_points", "notices_of"]

_log = structlog.get_logger("timebank.rewards")
_NOTICE_COLUMNS = "id, community_id, person_id, amount, earned_until, due_at, policy_version, noticed_at"

# Per person points account: what is spent or held, and the lots earned up to each cutoff that matters.
_LOTS = """
WITH accounts AS (
    SELECT a.id, a.owner_id AS person_id, a.debits_posted + a.debits_pending AS spent,
        (SELECT n.earned_until FROM rewards_expiry_notice n WHERE n.account_id = a.id AND n.due_at <= $2
         ORDER BY n.earned_until DESC LIMIT 1) AS due_cover,
        (SELECT n.id FROM rewards_expiry_notice n WHERE n.account_id = a.id AND n.due_at <= $2
         ORDER BY n.earned_until DESC LIMIT 1) AS due_notice,
        (SELECT max(n.earned_until) FROM rewards_expiry_notice n WHERE n.account_id = a.id) AS noticed_cover
    FROM ledger_account a
    WHERE a.community_id = $1 AND a.owner_kind = 'person' AND a.asset = $5 AND a.credits_posted > 0
)
SELECT a.id, a.person_id, a.spent, a.due_notice,
    CASE WHEN a.due_cover IS NULL THEN 0 ELSE (
        SELECT coalesce(sum(t.amount), 0) FROM ledger_transfer t
        WHERE t.credit_account_id = a.id AND t.flags & 14 IN (0, 4) AND t.created_at <= least($3, a.due_cover)
    ) END AS expirable_lots,
    least($3, a.due_cover) AS expiry_cutoff,
    (SELECT coalesce(sum(t.amount), 0) FROM ledger_transfer t
     WHERE t.credit_account_id = a.id AND t.flags & 14 IN (0, 4) AND t.created_at <= $4) AS upcoming_lots,
    CASE WHEN a.noticed_cover IS NULL THEN 0 ELSE (
        SELECT coalesce(sum(t.amount), 0) FROM ledger_transfer t
        WHERE t.credit_account_id = a.id AND t.flags & 14 IN (0, 4) AND t.created_at <= a.noticed_cover
    ) END AS noticed_lots
FROM accounts a
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpiryRun:
    communities: int = 0
    notices: int = 0
    accounts_expired: int = 0
    points_expired: int = 0


async def expire_points(
    pool: asyncpg.Pool, *, community_id: uuid.UUID | None = None, now: datetime | None = None
) -> ExpiryRun:
    """Run the expiry job over every community whose policy sets a validity (or only ``community_id``); ``now`` is
    for rehearsals and tests (the ledger still dates its transfers by its own clock)."""
    async with bound(pool, EVERY_COMMUNITY) as connection:
        communities = [
            row["community_id"]
            for row in await connection.fetch(
                "SELECT DISTINCT community_id FROM rewards_policy "
                "WHERE $1::uuid IS NULL OR community_id = $1 ORDER BY 1",
                community_id,
            )
        ]
    run = ExpiryRun()
    for community in communities:
        async with bound(pool, EVERY_COMMUNITY) as connection:
            step = await _expire_community(connection, community, now)
        if step is not None:
            run = ExpiryRun(
                communities=run.communities + 1,
                notices=run.notices + step.notices,
                accounts_expired=run.accounts_expired + step.accounts_expired,
                points_expired=run.points_expired + step.points_expired,
            )
    if run.notices or run.points_expired:
        _log.info("rewards_points_expiry_ran", **{k: getattr(run, k) for k in ExpiryRun.__slots__})
    return run


async def _expire_community(
    connection: asyncpg.Connection, community_id: uuid.UUID, now: datetime | None
) -> ExpiryRun | None:
    # One runner per community at a time: the amounts are computed and written under this lock.
    await connection.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"rewards_expiry/{community_id}")
    now = now or await connection.fetchval("SELECT clock_timestamp()")
    policy = await current_policy(connection, community_id, at=now)
    if policy.points_validity_days is None or policy.version is None:
        return None
    validity = timedelta(days=policy.points_validity_days)
    notice = timedelta(days=policy.expiry_notice_days)
    expire_cutoff, notice_cutoff = now - validity, now + notice - validity
    rows = await connection.fetch(_LOTS, community_id, now, expire_cutoff, notice_cutoff, int(Asset.points))
    expiry_account = system_account_id(community_id, SystemRole.expiry, Asset.points)
    transfers: list[Transfer] = []
    notices: list[tuple[object, ...]] = []
    for row in rows:
        spent = row["spent"]
        amount = max(0, row["expirable_lots"] - spent)
        if amount:
            cutoff = row["expiry_cutoff"]
            transfers.append(
                Transfer(
                    id=uuid.uuid5(row["id"], f"expiry/{cutoff.isoformat()}/{spent}"),
                    debit_account_id=row["id"],
                    credit_account_id=expiry_account,
                    amount=amount,
                    code=Code.expiry,
                    ref_type=points.REF_EXPIRY,
                    ref_id=row["due_notice"],
                    policy_version=policy.version,
                    memo=f"points earned up to {cutoff.date().isoformat()} expired",
                )
            )
        upcoming = max(0, row["upcoming_lots"] - spent - amount)
        if upcoming and row["upcoming_lots"] > row["noticed_lots"]:
            notices.append(
                (
                    uuid.uuid5(row["id"], f"notice/{notice_cutoff.isoformat()}"),
                    community_id,
                    row["person_id"],
                    row["id"],
                    upcoming,
                    notice_cutoff,
                    now + notice,
                    policy.version,
                )
            )
    await connection.executemany(
        """
        INSERT INTO rewards_expiry_notice
            (id, community_id, person_id, account_id, amount, earned_until, due_at, policy_version)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING
        """,
        notices,
    )
    # The transfers come last: the ledger holds the community's chain until commit.
    for start in range(0, len(transfers), MAX_BATCH):
        await points.apply(connection, transfers[start : start + MAX_BATCH])
    return ExpiryRun(
        notices=len(notices),
        accounts_expired=len(transfers),
        points_expired=sum(t.amount for t in transfers),
    )


async def notices_of(connection: asyncpg.Connection, person_id: uuid.UUID) -> list[ExpiryNotice]:
    """A person's expiry notices, the latest first."""
    rows = await connection.fetch(
        f"SELECT {_NOTICE_COLUMNS} FROM rewards_expiry_notice WHERE person_id = $1 ORDER BY due_at DESC", person_id
    )
    return [ExpiryNotice(**dict(row)) for row in rows]
