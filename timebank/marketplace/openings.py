"""The other way round: which open needs and wishes a resource or a partner unit could take, with reasons.

Open means published and not yet taken: no order yet, or an order open for claiming, or one dispatched to the very
resource owner or unit asking. A need is scored on how its category and skills fit what is offered, how near it is
to the area served, how urgent it is and how long it has waited.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from timebank.errors import NotFound
from timebank.marketplace.fit import Reason, category_of_skill, matching_skills
from timebank.marketplace.model import Category

__all__ = ["Opening", "openings_for_resource", "openings_for_unit"]

_WEIGHTS = {"fit": 0.5, "distance": 0.2, "urgency": 0.2, "waiting": 0.1}
_URGENCY = {"emergency": 1.0, "urgent": 0.7, "routine": 0.4}
#: Two weeks of waiting counts fully; a wish waiting longer is not ranked higher still.
_WAIT_DAYS = 14


@dataclass(frozen=True, slots=True, kw_only=True)
class Opening:
    need_id: uuid.UUID
    order_id: uuid.UUID | None
    kind: str
    title: str
    score: float
    reasons: tuple[Reason, ...]


@dataclass(frozen=True, slots=True)
class _Offer:
    """What a resource or unit offers, and where."""

    community_id: uuid.UUID
    categories: frozenset[str]
    skills: tuple[str, ...]
    compound_id: uuid.UUID | None
    building_id: uuid.UUID | None
    owners: tuple[uuid.UUID, ...]


async def openings_for_resource(
    connection: asyncpg.Connection, resource_id: uuid.UUID, *, limit: int = 10
) -> list[Opening]:
    row = await connection.fetchrow(
        """
        SELECT community_id, category, skills, compound_id, building_id, coalesce(unit_id, team_id, person_id) AS owner
        FROM resource WHERE id = $1
        """,
        resource_id,
    )
    if row is None:
        raise NotFound("no such resource", resource_id=str(resource_id))
    offer = _Offer(
        community_id=row["community_id"],
        categories=frozenset({row["category"]}),
        skills=tuple(row["skills"]),
        compound_id=row["compound_id"],
        building_id=row["building_id"],
        owners=(row["owner"],) if row["owner"] is not None else (),
    )
    return await _openings(connection, offer, limit)


async def openings_for_unit(connection: asyncpg.Connection, unit_id: uuid.UUID, *, limit: int = 10) -> list[Opening]:
    """For a partner unit: what its published resources, active projects and registered members offer."""
    row = await connection.fetchrow(
        """
        SELECT u.community_id,
            ARRAY(SELECT category FROM resource WHERE unit_id = u.id AND status = 'published')
            || ARRAY(SELECT category FROM project WHERE unit_id = u.id AND status = 'active') AS categories,
            ARRAY(SELECT unnest(skills) FROM resource WHERE unit_id = u.id AND status = 'published')
            || ARRAY(SELECT unnest(skills) FROM project WHERE unit_id = u.id AND status = 'active')
            || ARRAY(SELECT unnest(skills) FROM membership WHERE unit_id = u.id AND left_on IS NULL) AS skills
        FROM partner_unit u WHERE u.id = $1
        """,
        unit_id,
    )
    if row is None:
        raise NotFound("no such partner unit", unit_id=str(unit_id))
    offer = _Offer(
        community_id=row["community_id"],
        categories=frozenset(row["categories"]),
        skills=tuple(dict.fromkeys(row["skills"])),
        compound_id=None,
        building_id=None,
        owners=(unit_id,),
    )
    return await _openings(connection, offer, limit)


async def _openings(connection: asyncpg.Connection, offer: _Offer, limit: int) -> list[Opening]:
    rows = await connection.fetch(
        """
        SELECT n.id, n.kind, n.title, n.category, n.skills, n.urgency, n.value_yuan, n.compound_id, n.building_id,
            n.raised_at, o.id AS order_id, now() AS now
        FROM need n
        LEFT JOIN service_order o ON o.need_id = n.id AND o.status <> 'cancelled'
        WHERE n.community_id = $1 AND n.settlement <> 'time_bank'
          AND (n.status = 'published'
               OR (n.status = 'ordered' AND (o.status = 'open'
                   OR (o.status = 'dispatched' AND o.assignee_id = ANY ($2::uuid[])))))
        """,
        offer.community_id,
        list(offer.owners),
    )
    found = []
    for row in rows:
        scored = _score(offer, row)
        if scored is not None:
            found.append(scored)
    found.sort(key=lambda opening: (-opening.score, opening.title, opening.need_id))
    return found[:limit]


def _score(offer: _Offer, row: asyncpg.Record) -> Opening | None:
    reasons: list[Reason] = []
    category = Category(row["category"])
    wanted = matching_skills(tuple(row["skills"]), offer.skills) if row["skills"] else []
    if category.value in offer.categories or wanted:
        fit = 1.0
        reasons.append(Reason("category", f"asks for {category.value.replace('_', ' ')}, which is offered here"))
    elif any(category_of_skill(skill, category) for skill in offer.skills):
        fit = 0.8
        reasons.append(Reason("skill", f"asks for {category.value.replace('_', ' ')}, which the skills here cover"))
    else:
        return None
    if offer.building_id is not None and row["building_id"] == offer.building_id:
        distance = 1.0
        reasons.append(Reason("same_building", "in the building served"))
    elif offer.compound_id is not None and row["compound_id"] == offer.compound_id:
        distance = 0.75
        reasons.append(Reason("same_compound", "in the compound served"))
    elif offer.compound_id is None:
        distance = 0.5
        reasons.append(Reason("same_community", "in this community"))
    else:
        distance = 0.25
        reasons.append(Reason("elsewhere", "outside the area served"))
    urgency = _URGENCY[row["urgency"]]
    if row["urgency"] != "routine":
        reasons.append(Reason("urgency", f"marked {row['urgency']}"))
    waited = (row["now"] - row["raised_at"]).total_seconds() / 86400
    reasons.append(Reason("waiting", f"waiting {waited:.0f} day{'s' * (round(waited) != 1)}"))
    if row["value_yuan"] is not None:
        reasons.append(Reason("wish", f"a micro-wish worth ¥{row['value_yuan']}"))
    parts = {"fit": fit, "distance": distance, "urgency": urgency, "waiting": min(waited, _WAIT_DAYS) / _WAIT_DAYS}
    score = round(sum(_WEIGHTS[name] * value for name, value in parts.items()), 4)
    return Opening(
        need_id=row["id"],
        order_id=row["order_id"],
        kind=row["kind"],
        title=row["title"],
        score=score,
        reasons=tuple(reasons),
    )
