"""A person's statement: a month's earnings by activity, and the balance history of each of their accounts.

Earnings read volunteering's own credits of credited records (a corrected record's credits are replaced by its
correction's) and the party score the assessment counted for each; balance history reads the ledger, entry by
entry with the running balance.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg

from timebank.community.accounts import account_id
from timebank.errors import InvalidInput
from timebank.ledger import Asset, LedgerService

__all__ = ["ActivityEarnings", "BalanceEntry", "balance_history", "month_bounds", "month_earnings"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ActivityEarnings:
    activity_id: uuid.UUID
    title: str
    records: int
    service_minutes: int
    time_coins: int
    coins_to_pool: int
    points: int
    party_score: int


@dataclass(frozen=True, slots=True, kw_only=True)
class BalanceEntry:
    transfer_id: uuid.UUID
    at: datetime
    side: str
    amount: int
    code: int
    balance: int
    ref_type: str | None
    ref_id: uuid.UUID | None
    memo: str | None


def month_bounds(year: int, month: int) -> tuple[date, date]:
    if not 1 <= month <= 12 or not 2000 <= year <= 2100:
        raise InvalidInput("give a month as YYYY-MM between 2000 and 2100", field="month")
    return date(year, month, 1), date(year + month // 12, month % 12 + 1, 1)


async def month_earnings(
    connection: asyncpg.Connection, community_id: uuid.UUID, person_id: uuid.UUID, year: int, month: int
) -> list[ActivityEarnings]:
    """What ``person_id`` earned in a month (by service day, China time), activity by activity."""
    first, following = month_bounds(year, month)
    # Party score: what the assessment counted for the record, or (records credited before it went through the
    # assessment) the party_score leg of the record's chain.
    rows = await connection.fetch(
        """
        WITH credited AS (
            SELECT r.id, r.activity_id, r.activity_title, r.started_at, coalesce(r.party_score, 0) AS assessed,
                coalesce(sum(c.amount) FILTER (WHERE c.asset = 1 AND c.purpose = 'earn'), 0) AS service_minutes,
                coalesce(sum(c.amount) FILTER (WHERE c.asset = 2 AND c.purpose = 'earn'), 0) AS time_coins,
                coalesce(sum(c.amount) FILTER (WHERE c.asset = 2 AND c.purpose IN ('overflow', 'team_donation')), 0)
                    AS coins_to_pool,
                coalesce(sum(c.amount) FILTER (WHERE c.asset = 3 AND c.purpose = 'earn'), 0) AS points,
                coalesce(sum(c.amount) FILTER (WHERE c.asset = 4 AND c.purpose = 'earn'), 0) AS chained_score
            FROM service_record r
            JOIN service_credit c ON c.record_id = r.id AND c.attempt = r.posting_attempt
            WHERE r.community_id = $1 AND r.person_id = $2 AND r.status = 'credited'
              AND r.service_day >= $3 AND r.service_day < $4
            GROUP BY r.id
        )
        SELECT activity_id, min(activity_title) AS title, count(*) AS records,
            sum(service_minutes)::bigint AS service_minutes, sum(time_coins)::bigint AS time_coins,
            sum(coins_to_pool)::bigint AS coins_to_pool, sum(points)::bigint AS points,
            sum(chained_score + assessed)::bigint AS party_score
        FROM credited
        GROUP BY activity_id
        ORDER BY min(started_at), activity_id
        """,
        community_id,
        person_id,
        first,
        following,
    )
    return [ActivityEarnings(**dict(row)) for row in rows]


async def balance_history(
    ledger: LedgerService,
    community_id: uuid.UUID,
    person_id: uuid.UUID,
    asset: Asset,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
) -> list[BalanceEntry]:
    """Entries of the person's account of ``asset`` in order, each with the balance after it."""
    rows = await ledger.statement(
        account_id(community_id, "person", person_id, asset), since=since, until=until, limit=limit
    )
    return [_entry(row) for row in rows]


def _entry(row: dict[str, Any]) -> BalanceEntry:
    return BalanceEntry(
        transfer_id=row["transfer_id"],
        at=row["created_at"],
        side=row["side"],
        amount=row["amount"],
        code=row["code"],
        balance=row["posted_after"],
        ref_type=row["ref_type"],
        ref_id=row["ref_id"],
        memo=row["memo"],
    )
