"""Anomalies that hold a service record for staff instead of crediting it.

- ``no_check_out``: checked in, never out; the duration is unknown.
- ``zero_or_negative_duration``: out before (or at) in, or less than the rounding unit of service.
- ``overlapping_record``: the person has another live record covering part of the same time.
- ``over_daily_limit``: the person's service that day would pass the policy's plausible maximum.
- ``reciprocal_certification``: the certifier's own hours were certified by this volunteer within the policy's
  window, the pattern of two people trading hours back and forth.
- ``ledger_refused``: the ledger refused the credits (set when posting, not by :func:`detect`).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

import asyncpg

from timebank.volunteering.policy import EarningPolicy

__all__ = ["LEDGER_REFUSED", "detect"]

LEDGER_REFUSED = "ledger_refused"

#: Records that still count: everything but the rejected and those replaced by a correction.
_LIVE = "status NOT IN ('rejected', 'corrected')"


async def detect(
    connection: asyncpg.Connection,
    policy: EarningPolicy,
    *,
    record_id: uuid.UUID,
    person_id: uuid.UUID,
    certified_by: uuid.UUID,
    started_at: datetime,
    ended_at: datetime | None,
    minutes: int,
    service_day: date,
) -> list[str]:
    """The anomalies of a record about to be confirmed (or amended), in a stable order."""
    found = []
    if ended_at is None:
        found.append("no_check_out")
    elif ended_at <= started_at or minutes <= 0:
        found.append("zero_or_negative_duration")
    row = await connection.fetchrow(
        f"""
        SELECT
            EXISTS (
                SELECT 1 FROM service_record
                WHERE person_id = $1 AND id <> $2 AND {_LIVE} AND $4::timestamptz IS NOT NULL
                  AND ended_at > started_at AND $4 > $3
                  AND tstzrange(started_at, ended_at) && tstzrange($3, $4)
            ) AS overlapping,
            (SELECT coalesce(sum(minutes), 0) FROM service_record
             WHERE person_id = $1 AND id <> $2 AND {_LIVE} AND service_day = $5) AS minutes_that_day,
            EXISTS (
                SELECT 1 FROM service_record
                WHERE person_id = $6 AND certified_by = $1 AND $1 <> $6 AND status <> 'rejected'
                  AND started_at BETWEEN $3 - make_interval(days => $7) AND $3 + make_interval(days => $7)
            ) AS reciprocal
        """,
        person_id,
        record_id,
        started_at,
        ended_at,
        service_day,
        certified_by,
        policy.trade_window_days,
    )
    if row["overlapping"]:
        found.append("overlapping_record")
    if row["minutes_that_day"] + max(minutes, 0) > policy.max_daily_service_minutes:
        found.append("over_daily_limit")
    if row["reciprocal"]:
        found.append("reciprocal_certification")
    return found
