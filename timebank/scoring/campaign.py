"""三亮三比: members show their identity and image, publish pledges with deadlines and evidence; pledges and the
comparisons (比作风 / 比奉献 / 比业绩, or the community's variant) gather 三评 reviews from branch leaders, fellow
members and residents; fulfilled pledges and reviewed comparisons score by the catalogue.

Fairness lives in the database: nobody reviews themselves, and one reviewer counts once per pledge and once per
comparison (unique indexes); every review is audited.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime

import asyncpg

from timebank.scoring import ids
from timebank.scoring._campaign import within
from timebank.scoring._displays import Display, displays_of, publish_display
from timebank.scoring._pledges import (
    Pledge,
    assess,
    assess_pledge,
    get_pledge,
    pledges_of,
    publish_pledge,
    report_fulfilment,
)
from timebank.scoring._reviews import Review, review, reviews_of
from timebank.scoring.catalogue import catalogue_on
from timebank.scoring.entries import NewEntry, insert_posted
from timebank.scoring.model import LOCAL_TIME, Catalogue, ItemSource, ReviewerRole, local_day, scaled, weighted_score
from timebank.scoring.records import Period, lock_card

__all__ = [
    "Display",
    "Pledge",
    "Review",
    "assess_pledge",
    "displays_of",
    "get_pledge",
    "pledges_of",
    "publish_display",
    "publish_pledge",
    "report_fulfilment",
    "review",
    "reviews_of",
    "settle_campaign",
]


async def _score_comparisons(
    connection: asyncpg.Connection, period: Period, catalogue: Catalogue, *, now: datetime
) -> None:
    """Each reviewed comparison scores its item's points scaled by the 三评 result (once per member and item)."""
    items = {item.code: item for item in catalogue.of_source(ItemSource.comparison)}
    rows = await connection.fetch(
        """
        SELECT person_id, compare_code, reviewer_role, score FROM scoring_review
        WHERE period_id = $1 AND compare_code IS NOT NULL ORDER BY person_id, compare_code
        """,
        period.id,
    )
    grouped: dict[tuple[uuid.UUID, str], dict[ReviewerRole, list[int]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        grouped[(row["person_id"], row["compare_code"])][ReviewerRole(row["reviewer_role"])].append(row["score"])
    for (person_id, code), scores in grouped.items():
        item = items.get(code)
        result = weighted_score(scores, catalogue.weights)
        if item is None or result is None:
            continue
        card = await lock_card(connection, period.id, person_id)
        if not item.applies_to(card.member_type):
            continue
        await insert_posted(
            connection,
            card,
            catalogue,
            NewEntry(
                id=ids.comparison_entry_id(period.id, person_id, code),
                item=item,
                source_type="comparison",
                source_id=code,
                occurred_on=within(period, local_day(now)),
                requested=scaled(item.points, result),
                note=f"三评 {result}",
            ),
            submitted_by=None,
            decided_by=None,
            now=now,
        )


async def settle_campaign(connection: asyncpg.Connection, period: Period, *, now: datetime) -> None:
    """At the period's close: score the comparisons, assess pledges still open (unreported ones are missed)."""
    catalogue = await catalogue_on(connection, period.community_id, period.ends_on)
    await _score_comparisons(connection, period, catalogue, now=now)
    open_pledges = await connection.fetch(
        "SELECT id, person_id FROM scoring_pledge WHERE period_id = $1 AND status IN ('published', 'reported') "
        "ORDER BY person_id, id",
        period.id,
    )
    closing = max(now, datetime.combine(period.ends_on, datetime.max.time(), tzinfo=LOCAL_TIME))
    for row in open_pledges:
        card = await lock_card(connection, period.id, row["person_id"])
        await assess(connection, card, period, row["id"], assessed_by=None, now=closing)
