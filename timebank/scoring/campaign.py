"""三亮三比: members show their identity and image, publish pledges with deadlines and evidence; pledges and the
comparisons (比作风 / 比奉献 / 比业绩, or the community's variant) gather 三评 reviews from branch leaders, fellow
members and residents; fulfilled pledges and reviewed comparisons score by the catalogue.

Fairness lives in the database: nobody reviews themselves, and one reviewer counts once per pledge and once per
comparison (unique indexes); every review is audited.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime

import asyncpg

from timebank.access.principal import Principal
from timebank.community import audit
from timebank.errors import Conflict, Forbidden, InvalidInput, NotFound
from timebank.scoring import ids
from timebank.scoring.catalogue import catalogue_on
from timebank.scoring.entries import NewEntry, insert_posted
from timebank.scoring.errors import SelfAssessment, WrongStage
from timebank.scoring.model import LOCAL_TIME, Catalogue, ItemSource, ReviewerRole, local_day, scaled, weighted_score
from timebank.scoring.records import (
    Card,
    Period,
    card_of,
    leads,
    lock_card,
    require_leader,
    require_person,
    writable_period,
)

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

_PLEDGE_COLUMNS = (
    "id, community_id, period_id, person_id, content, due_on, status, evidence, reported_at, review_score, "
    "assessed_by, assessed_at, entry_id"
)
_REVIEW_COLUMNS = (
    "id, community_id, period_id, person_id, pledge_id, compare_code, reviewer_id, reviewer_role, score, comment, "
    "created_at"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Display:
    person_id: uuid.UUID
    kind: str
    content: str
    published_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Pledge:
    id: uuid.UUID
    community_id: uuid.UUID
    period_id: uuid.UUID
    person_id: uuid.UUID
    content: str
    due_on: date
    status: str
    evidence: tuple[str, ...]
    reported_at: datetime | None
    review_score: int | None
    assessed_by: uuid.UUID | None
    assessed_at: datetime | None
    entry_id: uuid.UUID | None


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


def _pledge(row: asyncpg.Record) -> Pledge:
    values = dict(row)
    values["evidence"] = tuple(values["evidence"])
    return Pledge(**values)


def _review(row: asyncpg.Record) -> Review:
    values = dict(row)
    values["reviewer_role"] = ReviewerRole(values["reviewer_role"])
    return Review(**values)


def _within(period: Period, day: date) -> date:
    return min(max(day, period.starts_on), period.ends_on)


async def _catalogue(connection: asyncpg.Connection, period: Period, now: datetime) -> Catalogue:
    """The catalogue in force on the day of the action, taken within the period."""
    return await catalogue_on(connection, period.community_id, _within(period, local_day(now)))


async def _own_card(connection: asyncpg.Connection, actor: Principal, period: Period) -> Card:
    return await card_of(connection, period.id, require_person(actor))


# -- 亮身份 / 亮形象 ------------------------------------------------------------------------------------------------
async def publish_display(
    connection: asyncpg.Connection,
    actor: Principal,
    period_id: uuid.UUID,
    *,
    kind: str,
    content: str,
    now: datetime | None = None,
) -> Display:
    """The member shows one of the community's display kinds; publishing the kind again replaces its text."""
    now = now or datetime.now(UTC)
    period = await writable_period(connection, period_id, ledger=False)
    card = await _own_card(connection, actor, period)
    catalogue = await _catalogue(connection, period, now)
    if kind not in catalogue.show_kinds:
        raise InvalidInput(f"the community shows {', '.join(catalogue.show_kinds)}", field="kind")
    row = await connection.fetchrow(
        """
        INSERT INTO scoring_display (community_id, period_id, person_id, kind, content, published_at)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (period_id, person_id, kind) DO UPDATE SET content = EXCLUDED.content,
            published_at = CASE WHEN scoring_display.content = EXCLUDED.content THEN scoring_display.published_at
                                ELSE EXCLUDED.published_at END
        RETURNING person_id, kind, content, published_at
        """,
        card.community_id,
        period.id,
        card.person_id,
        kind,
        content,
        now,
    )
    return Display(**dict(row))


async def displays_of(
    connection: asyncpg.Connection, period_id: uuid.UUID, person_id: uuid.UUID | None = None
) -> list[Display]:
    rows = await connection.fetch(
        """
        SELECT person_id, kind, content, published_at FROM scoring_display
        WHERE period_id = $1 AND ($2::uuid IS NULL OR person_id = $2) ORDER BY person_id, kind
        """,
        period_id,
        person_id,
    )
    return [Display(**dict(row)) for row in rows]


# -- 亮承诺 ----------------------------------------------------------------------------------------------------------
async def get_pledge(
    connection: asyncpg.Connection, pledge_id: uuid.UUID, *, for_update: bool = False, for_share: bool = False
) -> Pledge:
    lock = " FOR UPDATE" if for_update else " FOR SHARE" if for_share else ""
    row = await connection.fetchrow(f"SELECT {_PLEDGE_COLUMNS} FROM scoring_pledge WHERE id = $1{lock}", pledge_id)
    if row is None:
        raise NotFound("no such pledge", field="pledge_id", pledge_id=str(pledge_id))
    return _pledge(row)


async def pledges_of(
    connection: asyncpg.Connection, period_id: uuid.UUID, person_id: uuid.UUID | None = None
) -> list[Pledge]:
    rows = await connection.fetch(
        f"""
        SELECT {_PLEDGE_COLUMNS} FROM scoring_pledge
        WHERE period_id = $1 AND ($2::uuid IS NULL OR person_id = $2) ORDER BY due_on, id
        """,
        period_id,
        person_id,
    )
    return [_pledge(row) for row in rows]


async def publish_pledge(
    connection: asyncpg.Connection,
    actor: Principal,
    period_id: uuid.UUID,
    *,
    id: uuid.UUID,
    content: str,
    due_on: date,
) -> tuple[Pledge, bool]:
    """The member publishes a pledge due within the period; idempotent by id."""
    period = await writable_period(connection, period_id, ledger=False)
    card = await _own_card(connection, actor, period)
    if not period.starts_on <= due_on <= period.ends_on:
        raise InvalidInput("a pledge falls due within its period", field="due_on")
    row = await connection.fetchrow(
        f"""
        INSERT INTO scoring_pledge (id, community_id, period_id, person_id, content, due_on)
        VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING RETURNING {_PLEDGE_COLUMNS}
        """,
        id,
        card.community_id,
        period.id,
        card.person_id,
        content,
        due_on,
    )
    if row is None:
        try:
            existing = await get_pledge(connection, id)
        except NotFound:
            raise Conflict("this pledge id is taken", field="id", id=str(id)) from None
        if (existing.person_id, existing.content, existing.due_on) != (card.person_id, content, due_on):
            raise Conflict("this pledge id was used for another pledge", field="id", id=str(id))
        return existing, False
    return _pledge(row), True


async def report_fulfilment(
    connection: asyncpg.Connection,
    actor: Principal,
    pledge_id: uuid.UUID,
    *,
    evidence: tuple[str, ...],
    now: datetime | None = None,
) -> Pledge:
    """The member reports the pledge kept, with evidence; reporting the same evidence again is a replay."""
    now = now or datetime.now(UTC)
    if not evidence:
        raise InvalidInput("reporting a pledge kept needs evidence", field="evidence")
    pledge = await get_pledge(connection, pledge_id)
    if pledge.person_id != actor.person_id:
        raise Forbidden("only the member reports their own pledge", pledge_id=str(pledge_id))
    await writable_period(connection, pledge.period_id, ledger=False)
    pledge = await get_pledge(connection, pledge_id, for_update=True)
    if pledge.status == "reported" and pledge.evidence == evidence:
        return pledge
    if pledge.status != "published":
        raise WrongStage(f"the pledge is {pledge.status}", field="pledge_id", status=pledge.status)
    row = await connection.fetchrow(
        f"""
        UPDATE scoring_pledge SET status = 'reported', evidence = $2, reported_at = $3 WHERE id = $1
        RETURNING {_PLEDGE_COLUMNS}
        """,
        pledge_id,
        list(evidence),
        now,
    )
    return _pledge(row)


# -- 三评 ------------------------------------------------------------------------------------------------------------
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
        pledge = await get_pledge(connection, pledge_id, for_share=True)
        if (pledge.period_id, pledge.person_id) != (period.id, person_id):
            raise NotFound("the pledge is not this member's in this period", field="pledge_id")
        if pledge.status not in ("published", "reported"):
            raise WrongStage(f"the pledge is {pledge.status}", field="pledge_id", status=pledge.status)
    else:
        catalogue = await _catalogue(connection, period, datetime.now(UTC))
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


def _by_role(reviews: list[Review]) -> dict[ReviewerRole, list[int]]:
    grouped: dict[ReviewerRole, list[int]] = defaultdict(list)
    for found in reviews:
        grouped[found.reviewer_role].append(found.score)
    return grouped


# -- assessment ------------------------------------------------------------------------------------------------------
async def assess_pledge(
    connection: asyncpg.Connection, actor: Principal, pledge_id: uuid.UUID, *, now: datetime | None = None
) -> Pledge:
    """The branch assesses a pledge from its reviews: kept (reported, a leader reviewed it, the 三评 result reaches
    the pass mark) scores the catalogue's pledge item; otherwise it is missed. Assessing again is a replay.
    """
    now = now or datetime.now(UTC)
    pledge = await get_pledge(connection, pledge_id)
    period = await writable_period(connection, pledge.period_id, ledger=True)
    card = await lock_card(connection, pledge.period_id, pledge.person_id)
    require_leader(actor, card)
    return await _assess(connection, card, period, pledge_id, assessed_by=actor.person_id, now=now)


async def _assess(
    connection: asyncpg.Connection,
    card: Card,
    period: Period,
    pledge_id: uuid.UUID,
    *,
    assessed_by: uuid.UUID | None,
    now: datetime,
) -> Pledge:
    pledge = await get_pledge(connection, pledge_id, for_update=True)
    if pledge.status in ("fulfilled", "missed"):
        return pledge
    if pledge.status == "published" and local_day(now) <= pledge.due_on:
        raise WrongStage("the pledge is not reported kept and not yet due", field="pledge_id", status=pledge.status)
    catalogue = await _catalogue(connection, period, now)
    reviews = _by_role(await reviews_of(connection, period.id, pledge.person_id, pledge_id=pledge_id))
    result = weighted_score(reviews, catalogue.weights)
    kept = (
        pledge.status == "reported"
        and bool(reviews.get(ReviewerRole.leader))
        and result is not None
        and result >= catalogue.pass_mark
    )
    entry_id = None
    items = catalogue.of_source(ItemSource.pledge)
    if kept and items and items[0].applies_to(card.member_type):
        entry, _ = await insert_posted(
            connection,
            card,
            catalogue,
            NewEntry(
                id=ids.source_entry_id(period.id, card.person_id, items[0].code, "pledge", str(pledge_id)),
                item=items[0],
                source_type="pledge",
                source_id=str(pledge_id),
                occurred_on=_within(period, local_day(now)),
                evidence=pledge.evidence,
            ),
            submitted_by=None,
            decided_by=assessed_by,
            now=now,
        )
        entry_id = entry.id
    row = await connection.fetchrow(
        f"""
        UPDATE scoring_pledge SET status = $2, review_score = $3, assessed_by = $4, assessed_at = $5, entry_id = $6
        WHERE id = $1 RETURNING {_PLEDGE_COLUMNS}
        """,
        pledge_id,
        "fulfilled" if kept else "missed",
        result,
        assessed_by,
        now,
        entry_id,
    )
    return _pledge(row)


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
                occurred_on=_within(period, local_day(now)),
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
        await _assess(connection, card, period, row["id"], assessed_by=None, now=closing)
