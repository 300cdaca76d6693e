"""三评: reviews of a member's pledge or of one comparison by branch leaders, fellow members and residents.

One reviewer counts once per pledge and once per comparison, and nobody reviews themselves (the database holds
both); every review is audited.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from timebank.access.principal import Principal
from timebank.community import audit
from timebank.errors import Conflict, Forbidden, InvalidInput, NotFound
from timebank.scoring._campaign import campaign_catalogue
from timebank.scoring.errors import SelfAssessment, WrongStage
from timebank.scoring.model import ItemSource, ReviewerRole
from timebank.scoring.records import (
    Card,
    card_of,
    leads,
    require_person,
    writable_period,
)

__all__ = ["Review", "by_role", "review", "reviews_of"]

_REVIEW_COLUMNS = (
    "id, community_id, period_id, person_id, pledge_id, compare_code, reviewer_id, reviewer_role, score, comment, "
    "created_at"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Review:
    id: uuid.UUID
    community_id: uuid.UUID
    period_id: uuid.UUID
    person_id: uuid.UUID
    pledge_id: uuid.UUID | None
    compare_code: str | None
    reviewer_id: uuid.UUID
    reviewer_role: ReviewerRole
    score: int
    comment: str
    created_at: datetime


def _review(row: asyncpg.Record) -> Review:
    values = dict(row)
    values["reviewer_role"] = ReviewerRole(values["reviewer_role"])
    return Review(**values)


async def _reviewer_role(connection: asyncpg.Connection, actor: Principal, card: Card) -> ReviewerRole:
    """Leaders lead the member's branch (or are staff); peers are members with a card; residents live here."""
    if leads(actor, card):
        return ReviewerRole.leader
    reviewer = require_person(actor)
    if await connection.fetchval(
        "SELECT 1 FROM scoring_card WHERE period_id = $1 AND person_id = $2", card.period_id, reviewer
    ):
        return ReviewerRole.peer
    if await connection.fetchval(
        """
        SELECT 1 FROM person p WHERE p.id = $1 AND (p.community_id = $2 OR EXISTS (
            SELECT 1 FROM membership m WHERE m.person_id = p.id AND m.community_id = $2 AND m.left_on IS NULL))
        """,
        reviewer,
        card.community_id,
    ):
        return ReviewerRole.resident
    raise Forbidden("reviewers are leaders, members or residents of the community", field="reviewer")


async def review(
    connection: asyncpg.Connection,
    actor: Principal,
    *,
    id: uuid.UUID,
    period_id: uuid.UUID,
    person_id: uuid.UUID,
    score: int,
    pledge_id: uuid.UUID | None = None,
    compare_code: str | None = None,
    comment: str = "",
) -> tuple[Review, bool]:
    """Review a member's pledge, or one comparison, 0-100; the reviewer's role (三评) follows from who they are.

    Raises:
        SelfAssessment: the reviewer is the member.
        Conflict: the reviewer reviewed this pledge or comparison already (under another id).
        WrongStage: the pledge is assessed already.
    """
    reviewer = require_person(actor)
    if reviewer == person_id:
        raise SelfAssessment("nobody reviews themselves", field="person_id")
    if (pledge_id is None) == (compare_code is None):
        raise InvalidInput("a review is of a pledge or of a comparison", field="pledge_id")
    period = await writable_period(connection, period_id, ledger=False)
    card = await card_of(connection, period.id, person_id)
    if pledge_id is not None:
        # Share-locked, so an assessment in progress finishes first and this review then finds it assessed.
        pledge = await connection.fetchrow(
            "SELECT period_id, person_id, status FROM scoring_pledge WHERE id = $1 FOR SHARE", pledge_id
        )
        if pledge is None or (pledge["period_id"], pledge["person_id"]) != (period.id, person_id):
            raise NotFound("the pledge is not this member's in this period", field="pledge_id")
        if pledge["status"] not in ("published", "reported"):
            raise WrongStage(f"the pledge is {pledge['status']}", field="pledge_id", status=pledge["status"])
    else:
        catalogue = await campaign_catalogue(connection, period, datetime.now(UTC))
        comparisons = [item.code for item in catalogue.of_source(ItemSource.comparison)]
        if compare_code not in comparisons:
            raise InvalidInput(f"the community compares {', '.join(comparisons) or 'nothing'}", field="compare_code")
    role = await _reviewer_role(connection, actor, card)
    existing = await connection.fetchrow(f"SELECT {_REVIEW_COLUMNS} FROM scoring_review WHERE id = $1", id)
    if existing is not None:
        found = _review(existing)
        if (found.reviewer_id, found.person_id, found.pledge_id, found.compare_code, found.score) != (
            reviewer,
            person_id,
            pledge_id,
            compare_code,
            score,
        ):
            raise Conflict("this review id was used for another review", field="id", id=str(id))
        return found, False
    try:
        async with connection.transaction():
            row = await connection.fetchrow(
                f"""
                INSERT INTO scoring_review (id, community_id, period_id, person_id, pledge_id, compare_code,
                    reviewer_id, reviewer_role, score, comment)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {_REVIEW_COLUMNS}
                """,
                id,
                card.community_id,
                period.id,
                person_id,
                pledge_id,
                compare_code,
                reviewer,
                role.value,
                score,
                comment,
            )
    except asyncpg.UniqueViolationError:
        raise Conflict("one review per reviewer counts; this one was given already", field="reviewer") from None
    found = _review(row)
    await audit.record(
        connection,
        actor,
        community_id=card.community_id,
        action="review",
        entity="scoring_review",
        entity_id=id,
        after={
            "person_id": str(person_id),
            "pledge_id": None if pledge_id is None else str(pledge_id),
            "compare_code": compare_code,
            "reviewer_role": role.value,
            "score": score,
        },
    )
    return found, True


async def reviews_of(
    connection: asyncpg.Connection,
    period_id: uuid.UUID,
    person_id: uuid.UUID,
    *,
    pledge_id: uuid.UUID | None = None,
    compare_code: str | None = None,
) -> list[Review]:
    rows = await connection.fetch(
        f"""
        SELECT {_REVIEW_COLUMNS} FROM scoring_review
        WHERE period_id = $1 AND person_id = $2
          AND ($3::uuid IS NULL OR pledge_id = $3) AND ($4::text IS NULL OR compare_code = $4)
        ORDER BY created_at, id
        """,
        period_id,
        person_id,
        pledge_id,
        compare_code,
    )
    return [_review(row) for row in rows]


def by_role(reviews: list[Review]) -> dict[ReviewerRole, list[int]]:
    grouped: dict[ReviewerRole, list[int]] = defaultdict(list)
    for found in reviews:
        grouped[found.reviewer_role].append(found.score)
    return grouped
