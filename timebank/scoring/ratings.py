"""Star ratings (星级评定): a draft list from the closed period's totals, published for its notice period (公示),
objections filed and resolved by the branch, then the final list, recorded and unchangeable.

A member's stars come from their period total (base, items, comparisons, pledges and the democratic appraisal, all
on their period account) against the catalogue's thresholds; a veto means one star.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from timebank.access.principal import Principal
from timebank.community import audit
from timebank.errors import Conflict, Forbidden, InvalidInput, NotFound
from timebank.scoring.catalogue import catalogue_on, get_catalogue
from timebank.scoring.errors import SelfAssessment, WrongStage
from timebank.scoring.records import card_of, get_period, is_staff, require_leader, require_person

__all__ = [
    "Objection",
    "Rating",
    "RatingList",
    "draft_list",
    "file_objection",
    "finalise_list",
    "get_list",
    "objections_of",
    "publish_list",
    "ratings_of",
    "resolve_objection",
]

_LIST_COLUMNS = "id, community_id, period_id, catalogue_id, status, drafted_at, notice_from, notice_until, finalised_at"
_RATING_COLUMNS = "person_id, total, computed_stars, stars, vetoed, objection_id"
_OBJECTION_COLUMNS = (
    "id, community_id, list_id, person_id, filed_by, reason, filed_at, status, resolved_by, resolved_at, "
    "resolution, new_stars"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class RatingList:
    id: uuid.UUID
    community_id: uuid.UUID
    period_id: uuid.UUID
    catalogue_id: uuid.UUID
    status: str
    drafted_at: datetime
    notice_from: datetime | None
    notice_until: datetime | None
    finalised_at: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Rating:
    person_id: uuid.UUID
    total: int
    computed_stars: int
    stars: int
    vetoed: bool
    objection_id: uuid.UUID | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Objection:
    id: uuid.UUID
    community_id: uuid.UUID
    list_id: uuid.UUID
    person_id: uuid.UUID
    filed_by: uuid.UUID
    reason: str
    filed_at: datetime
    status: str
    resolved_by: uuid.UUID | None
    resolved_at: datetime | None
    resolution: str | None
    new_stars: int | None


def _require_staff(actor: Principal, community_id: uuid.UUID) -> None:
    if not is_staff(actor, community_id):
        raise Forbidden("only community staff run the rating list", community_id=str(community_id))


async def get_list(
    connection: asyncpg.Connection, list_id: uuid.UUID, *, for_update: bool = False, for_share: bool = False
) -> RatingList:
    lock = " FOR UPDATE" if for_update else " FOR SHARE" if for_share else ""
    row = await connection.fetchrow(f"SELECT {_LIST_COLUMNS} FROM scoring_rating_list WHERE id = $1{lock}", list_id)
    if row is None:
        raise NotFound("no such rating list", field="list_id", list_id=str(list_id))
    return RatingList(**dict(row))


async def ratings_of(connection: asyncpg.Connection, list_id: uuid.UUID) -> list[Rating]:
    rows = await connection.fetch(
        f"SELECT {_RATING_COLUMNS} FROM scoring_rating WHERE list_id = $1 ORDER BY total DESC, person_id", list_id
    )
    return [Rating(**dict(row)) for row in rows]


async def objections_of(connection: asyncpg.Connection, list_id: uuid.UUID) -> list[Objection]:
    rows = await connection.fetch(
        f"SELECT {_OBJECTION_COLUMNS} FROM scoring_objection WHERE list_id = $1 ORDER BY filed_at, id", list_id
    )
    return [Objection(**dict(row)) for row in rows]


async def draft_list(
    connection: asyncpg.Connection, actor: Principal, period_id: uuid.UUID, *, id: uuid.UUID
) -> tuple[RatingList, bool]:
    """Draft the period's rating list from its closed accounts; a period has one list (drafting again replays)."""
    period = await get_period(connection, period_id)
    _require_staff(actor, period.community_id)
    existing = await connection.fetchrow(
        f"SELECT {_LIST_COLUMNS} FROM scoring_rating_list WHERE period_id = $1", period.id
    )
    if existing is not None:
        if existing["id"] != id:
            raise Conflict("the period has a rating list already", field="period_id", list_id=str(existing["id"]))
        return RatingList(**dict(existing)), False
    if period.is_open:
        raise WrongStage("close the period before drafting its rating list", field="period_id")
    catalogue = await catalogue_on(connection, period.community_id, period.ends_on)
    row = await connection.fetchrow(
        f"""
        INSERT INTO scoring_rating_list (id, community_id, period_id, catalogue_id, drafted_by)
        VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING {_LIST_COLUMNS}
        """,
        id,
        period.community_id,
        period.id,
        catalogue.id,
        actor.person_id,
    )
    if row is None:  # a concurrent draft of this period, or the id is taken elsewhere
        raise Conflict("the rating list id or the period's list is taken", field="id", id=str(id))
    cards = await connection.fetch(
        """
        SELECT c.person_id, a.credits_posted - a.debits_posted AS total, c.veto_reason IS NOT NULL AS vetoed
        FROM scoring_card c JOIN ledger_account a ON a.id = c.account_id
        WHERE c.period_id = $1 ORDER BY c.person_id
        """,
        period.id,
    )
    stars = [catalogue.stars_for(card["total"], vetoed=card["vetoed"]) for card in cards]
    await connection.execute(
        """
        INSERT INTO scoring_rating (community_id, list_id, period_id, person_id, total, computed_stars, stars, vetoed)
        SELECT $1, $2, $3, person, total, stars, stars, vetoed
        FROM unnest($4::uuid[], $5::integer[], $6::smallint[], $7::boolean[]) AS r(person, total, stars, vetoed)
        """,
        period.community_id,
        id,
        period.id,
        [card["person_id"] for card in cards],
        [card["total"] for card in cards],
        stars,
        [card["vetoed"] for card in cards],
    )
    await audit.record(
        connection,
        actor,
        community_id=period.community_id,
        action="draft",
        entity="scoring_rating_list",
        entity_id=id,
        after={"period_id": str(period.id), "members": len(cards), "stars": _counts(stars)},
    )
    return RatingList(**dict(row)), True


def _counts(stars: list[int]) -> dict[str, int]:
    return {str(level): count for level, count in sorted(Counter(stars).items())}


async def publish_list(
    connection: asyncpg.Connection, actor: Principal, list_id: uuid.UUID, *, now: datetime | None = None
) -> RatingList:
    """Publish the draft for the notice period (公示) of the catalogue's ``notice_days``; publishing again replays."""
    now = now or datetime.now(UTC)
    rating_list = await get_list(connection, list_id, for_update=True)
    _require_staff(actor, rating_list.community_id)
    if rating_list.status != "draft":
        return rating_list
    catalogue = await get_catalogue(connection, rating_list.catalogue_id)
    row = await connection.fetchrow(
        f"""
        UPDATE scoring_rating_list SET status = 'noticed', notice_from = $2, notice_until = $3 WHERE id = $1
        RETURNING {_LIST_COLUMNS}
        """,
        list_id,
        now,
        now + timedelta(days=catalogue.notice_days),
    )
    published = RatingList(**dict(row))
    await audit.record(
        connection,
        actor,
        community_id=published.community_id,
        action="publish",
        entity="scoring_rating_list",
        entity_id=list_id,
        after={"notice_from": now.isoformat(), "notice_until": str(published.notice_until)},
    )
    return published


async def file_objection(
    connection: asyncpg.Connection,
    actor: Principal,
    list_id: uuid.UUID,
    *,
    id: uuid.UUID,
    person_id: uuid.UUID,
    reason: str,
    now: datetime | None = None,
) -> tuple[Objection, bool]:
    """Object to a member's rating during the notice period; anyone of the community may, the member included."""
    now = now or datetime.now(UTC)
    filer = require_person(actor)
    # Share-locked: finalising (which takes the update lock) waits for this objection and then sees it open.
    rating_list = await get_list(connection, list_id, for_share=True)
    existing = await connection.fetchrow(f"SELECT {_OBJECTION_COLUMNS} FROM scoring_objection WHERE id = $1", id)
    if existing is not None:
        found = Objection(**dict(existing))
        if (found.list_id, found.person_id, found.filed_by, found.reason) != (list_id, person_id, filer, reason):
            raise Conflict("this objection id was used for another objection", field="id", id=str(id))
        return found, False
    notice_from, notice_until = rating_list.notice_from, rating_list.notice_until
    if rating_list.status != "noticed" or notice_from is None or notice_until is None:
        raise WrongStage(f"the list is {rating_list.status}, not on notice", field="list_id")
    if not notice_from <= now < notice_until:
        raise WrongStage(f"the notice period ran until {notice_until.isoformat()}", field="list_id")
    if not await connection.fetchval(
        "SELECT 1 FROM scoring_rating WHERE list_id = $1 AND person_id = $2", list_id, person_id
    ):
        raise NotFound("the member is not on this list", field="person_id")
    row = await connection.fetchrow(
        f"""
        INSERT INTO scoring_objection (id, community_id, list_id, person_id, filed_by, reason, filed_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING RETURNING {_OBJECTION_COLUMNS}
        """,
        id,
        rating_list.community_id,
        list_id,
        person_id,
        filer,
        reason,
        now,
    )
    if row is None:
        raise Conflict("this objection id is taken", field="id", id=str(id))
    objection = Objection(**dict(row))
    await audit.record(
        connection,
        actor,
        community_id=objection.community_id,
        action="object",
        entity="scoring_objection",
        entity_id=id,
        after={"list_id": str(list_id), "person_id": str(person_id), "reason": reason},
    )
    return objection, True


async def resolve_objection(
    connection: asyncpg.Connection,
    actor: Principal,
    objection_id: uuid.UUID,
    *,
    upheld: bool,
    resolution: str,
    new_stars: int | None = None,
    now: datetime | None = None,
) -> Objection:
    """The member's branch resolves an objection: upheld sets the member's stars, dismissed leaves them.

    Raises:
        SelfAssessment: the resolver is the member rated or the one who objected.
        InvalidInput: ``new_stars`` is missing when upheld, given when dismissed, or not a level of the list.
    """
    now = now or datetime.now(UTC)
    require_person(actor)  # the branch answers for its resolution: a person, never a job
    row = await connection.fetchrow(
        f"SELECT {_OBJECTION_COLUMNS} FROM scoring_objection WHERE id = $1 FOR UPDATE", objection_id
    )
    if row is None:
        raise NotFound("no such objection", field="objection_id")
    objection = Objection(**dict(row))
    if objection.status != "open":
        if (objection.status == "upheld") == upheld and objection.new_stars == new_stars:
            return objection
        raise WrongStage(f"the objection is {objection.status} already", field="objection_id")
    rating_list = await get_list(connection, objection.list_id, for_update=True)
    if rating_list.status != "noticed":
        raise WrongStage(f"the list is {rating_list.status}", field="objection_id")
    card = await card_of(connection, rating_list.period_id, objection.person_id)
    require_leader(actor, card)
    if actor.person_id == objection.filed_by:
        raise SelfAssessment("whoever objected does not resolve the objection", field="objection_id")
    catalogue = await get_catalogue(connection, rating_list.catalogue_id)
    if upheld != (new_stars is not None):
        raise InvalidInput("an upheld objection names the new stars, a dismissed one none", field="new_stars")
    if new_stars is not None and not 1 <= new_stars <= catalogue.levels:
        raise InvalidInput(f"stars are 1 to {catalogue.levels}", field="new_stars")
    resolved = await connection.fetchrow(
        f"""
        UPDATE scoring_objection SET status = $2, resolved_by = $3, resolved_at = $4, resolution = $5, new_stars = $6
        WHERE id = $1 RETURNING {_OBJECTION_COLUMNS}
        """,
        objection_id,
        "upheld" if upheld else "dismissed",
        actor.person_id,
        now,
        resolution,
        new_stars,
    )
    before = await connection.fetchval(
        "SELECT stars FROM scoring_rating WHERE list_id = $1 AND person_id = $2", rating_list.id, objection.person_id
    )
    if upheld:
        await connection.execute(
            "UPDATE scoring_rating SET stars = $3, objection_id = $4 WHERE list_id = $1 AND person_id = $2",
            rating_list.id,
            objection.person_id,
            new_stars,
            objection_id,
        )
    await audit.record(
        connection,
        actor,
        community_id=objection.community_id,
        action="resolve",
        entity="scoring_objection",
        entity_id=objection_id,
        before={"status": "open", "stars": before},
        after={
            "status": resolved["status"],
            "stars": new_stars if upheld else before,
            "resolution": resolution,
        },
    )
    return Objection(**dict(resolved))


async def finalise_list(
    connection: asyncpg.Connection, actor: Principal, list_id: uuid.UUID, *, now: datetime | None = None
) -> RatingList:
    """Make the list final once its notice period is over and every objection is resolved; it never changes again."""
    now = now or datetime.now(UTC)
    rating_list = await get_list(connection, list_id, for_update=True)
    _require_staff(actor, rating_list.community_id)
    if rating_list.status == "final":
        return rating_list
    if rating_list.status != "noticed" or rating_list.notice_until is None:
        raise WrongStage("publish the list for its notice period first", field="list_id")
    if now < rating_list.notice_until:
        raise WrongStage(f"the notice period runs until {rating_list.notice_until.isoformat()}", field="list_id")
    open_objections = await connection.fetchval(
        "SELECT count(*) FROM scoring_objection WHERE list_id = $1 AND status = 'open'", list_id
    )
    if open_objections:
        raise WrongStage(f"{open_objections} objection(s) are still open", field="list_id", open=open_objections)
    row = await connection.fetchrow(
        f"""
        UPDATE scoring_rating_list SET status = 'final', finalised_at = $2, finalised_by = $3 WHERE id = $1
        RETURNING {_LIST_COLUMNS}
        """,
        list_id,
        now,
        actor.person_id,
    )
    stars = [rating.stars for rating in await ratings_of(connection, list_id)]
    await audit.record(
        connection,
        actor,
        community_id=rating_list.community_id,
        action="finalise",
        entity="scoring_rating_list",
        entity_id=list_id,
        after={"members": len(stars), "stars": _counts(stars)},
    )
    return RatingList(**dict(row))
