"""亮身份 / 亮形象: what members show, one current text per member, kind and period."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from timebank.access.principal import Principal
from timebank.errors import InvalidInput
from timebank.scoring._campaign import campaign_catalogue, own_card
from timebank.scoring.records import (
    writable_period,
)

__all__ = ["Display", "displays_of", "publish_display"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Display:
    person_id: uuid.UUID
    kind: str
    content: str
    published_at: datetime


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
    card = await own_card(connection, actor, period)
    catalogue = await campaign_catalogue(connection, period, now)
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
