"""How the order cycle performs, the figures these communities publish (e.g. 112 of 114 wishes claimed).

Over the orders placed in a period: how many were claimed (claim rate), how long claiming and closing took (median
hours), and how the requesters rated the work (mean rating, share of 4 and 5). Per community, and per partner unit
and volunteer team for the orders dispatched to them or claimed by them. Cancelled orders are left out.
"""

from __future__ import annotations

import statistics
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

__all__ = ["CycleFigures", "cycle_figures"]


@dataclass(frozen=True, slots=True, kw_only=True)
class CycleFigures:
    scope: str
    id: uuid.UUID
    name: str
    community_id: uuid.UUID
    orders: int
    claimed: int
    closed: int
    wishes: int
    wishes_claimed: int
    claim_rate: float | None
    median_hours_to_claim: float | None
    median_hours_to_close: float | None
    rated: int
    mean_rating: float | None
    satisfied_share: float | None


@dataclass(frozen=True, slots=True)
class _Row:
    community_id: uuid.UUID
    wish: bool
    created_at: datetime
    claimed_at: datetime | None
    closed_at: datetime | None
    rating: int | None


_ORDERS = """
    SELECT o.id, o.community_id, n.kind = 'micro_wish' AS wish, o.created_at, o.closed_at, o.rating,
        o.assignee_kind, o.assignee_id,
        (SELECT min(c.claimed_at) FROM order_claim c WHERE c.order_id = o.id) AS first_claimed_at,
        k.claimant_kind, k.claimant_id, k.claimed_at AS worker_claimed_at
    FROM service_order o
    JOIN need n ON n.id = o.need_id
    LEFT JOIN LATERAL (
        SELECT c.claimant_kind, c.claimant_id, c.claimed_at FROM order_claim c
        WHERE c.order_id = o.id AND c.status IN ('live', 'completed') LIMIT 1
    ) k ON true
    WHERE o.community_id = ANY ($1::uuid[]) AND o.created_at >= $2 AND o.created_at < $3 AND o.status <> 'cancelled'
"""


def _hours(pairs: Iterable[tuple[datetime, datetime | None]]) -> float | None:
    spans = [(end - start).total_seconds() / 3600 for start, end in pairs if end is not None]
    return round(statistics.median(spans), 2) if spans else None


def _figures(scope: str, id_: uuid.UUID, name: str, community_id: uuid.UUID, rows: Sequence[_Row]) -> CycleFigures:
    claimed = [row for row in rows if row.claimed_at is not None]
    ratings = [row.rating for row in rows if row.rating is not None]
    return CycleFigures(
        scope=scope,
        id=id_,
        name=name,
        community_id=community_id,
        orders=len(rows),
        claimed=len(claimed),
        closed=sum(1 for row in rows if row.closed_at is not None),
        wishes=sum(1 for row in rows if row.wish),
        wishes_claimed=sum(1 for row in claimed if row.wish),
        claim_rate=round(len(claimed) / len(rows), 4) if rows else None,
        median_hours_to_claim=_hours((row.created_at, row.claimed_at) for row in rows),
        median_hours_to_close=_hours((row.created_at, row.closed_at) for row in rows),
        rated=len(ratings),
        mean_rating=round(statistics.fmean(ratings), 2) if ratings else None,
        satisfied_share=round(sum(1 for r in ratings if r >= 4) / len(ratings), 4) if ratings else None,
    )


async def cycle_figures(
    connection: asyncpg.Connection, community_ids: Sequence[uuid.UUID], since: datetime, until: datetime
) -> list[CycleFigures]:
    """Figures for each community, then each unit and team with orders, over orders placed in [since, until)."""
    rows = await connection.fetch(_ORDERS, list(community_ids), since, until)
    by_community: dict[uuid.UUID, list[_Row]] = defaultdict(list)
    by_worker: dict[tuple[str, uuid.UUID], list[_Row]] = defaultdict(list)
    for row in rows:
        by_community[row["community_id"]].append(
            _Row(row["community_id"], row["wish"], row["created_at"], row["first_claimed_at"], row["closed_at"],
                 row["rating"])
        )  # fmt: skip
        workers = {(row["assignee_kind"], row["assignee_id"]), (row["claimant_kind"], row["claimant_id"])}
        for kind, worker in workers:
            if kind not in ("unit", "team") or worker is None:
                continue
            own = (row["claimant_kind"], row["claimant_id"]) == (kind, worker)
            by_worker[(kind, worker)].append(
                _Row(
                    row["community_id"],
                    row["wish"],
                    row["created_at"],
                    row["worker_claimed_at"] if own else None,
                    row["closed_at"] if own else None,
                    row["rating"] if own else None,
                )
            )
    names = await _names(connection, community_ids)
    figures = [
        _figures("community", community, names.get(community, ""), community, group)
        for community, group in sorted(by_community.items(), key=lambda item: names.get(item[0], ""))
    ]
    for (kind, worker), group in sorted(by_worker.items(), key=lambda item: (item[0][0], names.get(item[0][1], ""))):
        figures.append(_figures(kind, worker, names.get(worker, ""), group[0].community_id, group))
    return figures


async def _names(connection: asyncpg.Connection, community_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    rows = await connection.fetch(
        """
        SELECT id, name FROM community WHERE id = ANY ($1::uuid[])
        UNION ALL SELECT id, name FROM partner_unit WHERE community_id = ANY ($1::uuid[])
        UNION ALL SELECT id, name FROM volunteer_team WHERE community_id = ANY ($1::uuid[])
        """,
        list(community_ids),
    )
    return {row["id"]: row["name"] for row in rows}
