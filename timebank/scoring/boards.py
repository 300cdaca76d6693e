"""Leaderboards per community, branch and building group; a member's ranks and the breakdown of their total.

Totals are read from the members' period accounts on the ledger, so a board always agrees with the balances;
:func:`reconcile` checks that the entries explain every balance exactly.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from timebank.scoring.records import card_of

__all__ = ["BoardRow", "Breakdown", "Standing", "leaderboard", "reconcile", "standing"]

_TOTALS = """
    SELECT c.person_id, c.branch_id, c.group_id, a.credits_posted - a.debits_posted AS total
    FROM scoring_card c JOIN ledger_account a ON a.id = c.account_id
    WHERE c.period_id = $1
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class BoardRow:
    rank: int
    person_id: uuid.UUID
    name: str
    total: int
    branch_id: uuid.UUID | None
    group_id: uuid.UUID | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Breakdown:
    """What one item (or the base score) added to the total; ``capped`` is what its caps kept from counting."""

    item_code: str
    name: str
    kind: str
    points: int
    entries: int
    capped: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Standing:
    person_id: uuid.UUID
    total: int
    community_rank: int
    community_size: int
    branch_rank: int | None
    branch_size: int | None
    group_rank: int | None
    group_size: int | None
    breakdown: tuple[Breakdown, ...]


async def leaderboard(
    connection: asyncpg.Connection,
    period_id: uuid.UUID,
    *,
    branch_id: uuid.UUID | None = None,
    group_id: uuid.UUID | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[BoardRow]:
    """Members by total, highest first, ranked within the scope (ties share a rank); a page at a time."""
    rows = await connection.fetch(
        f"""
        WITH totals AS ({_TOTALS} AND ($2::uuid IS NULL OR c.branch_id = $2) AND ($3::uuid IS NULL OR c.group_id = $3))
        SELECT rank() OVER (ORDER BY t.total DESC)::integer AS rank, t.person_id, p.name, t.total::integer AS total,
               t.branch_id, t.group_id
        FROM totals t JOIN person p ON p.id = t.person_id
        ORDER BY rank, p.name, t.person_id
        LIMIT $4 OFFSET $5
        """,
        period_id,
        branch_id,
        group_id,
        limit,
        offset,
    )
    return [BoardRow(**dict(row)) for row in rows]


async def standing(connection: asyncpg.Connection, period_id: uuid.UUID, person_id: uuid.UUID) -> Standing:
    """A member's total, rank and peers counted in community, branch and group, and the total item by item."""
    await card_of(connection, period_id, person_id)
    ranks = await connection.fetchrow(
        f"""
        WITH totals AS ({_TOTALS}), me AS (SELECT * FROM totals WHERE person_id = $2)
        SELECT me.total::integer AS total,
            1 + (SELECT count(*) FROM totals t WHERE t.total > me.total)::integer AS community_rank,
            (SELECT count(*) FROM totals)::integer AS community_size,
            CASE WHEN me.branch_id IS NOT NULL THEN 1 + (SELECT count(*) FROM totals t
                WHERE t.branch_id = me.branch_id AND t.total > me.total)::integer END AS branch_rank,
            CASE WHEN me.branch_id IS NOT NULL THEN (SELECT count(*) FROM totals t
                WHERE t.branch_id = me.branch_id)::integer END AS branch_size,
            CASE WHEN me.group_id IS NOT NULL THEN 1 + (SELECT count(*) FROM totals t
                WHERE t.group_id = me.group_id AND t.total > me.total)::integer END AS group_rank,
            CASE WHEN me.group_id IS NOT NULL THEN (SELECT count(*) FROM totals t
                WHERE t.group_id = me.group_id)::integer END AS group_size
        FROM me
        """,
        period_id,
        person_id,
    )
    items = await connection.fetch(
        """
        SELECT coalesce(e.item_code, 'base') AS item_code,
               coalesce((array_agg(i.name ORDER BY e.created_at DESC))[1], 'base') AS name,
               min(e.kind) AS kind,
               sum(CASE WHEN e.kind = 'deduction' THEN -e.amount ELSE e.amount END)::integer AS points,
               count(*)::integer AS entries,
               sum(e.requested - e.amount)::integer AS capped
        FROM scoring_entry e
        LEFT JOIN scoring_item i ON i.catalogue_id = e.catalogue_id AND i.code = e.item_code
        WHERE e.period_id = $1 AND e.person_id = $2 AND e.status = 'posted'
        GROUP BY coalesce(e.item_code, 'base')
        ORDER BY min(e.kind) = 'base' DESC, sum(e.amount) DESC, 1
        """,
        period_id,
        person_id,
    )
    return Standing(person_id=person_id, breakdown=tuple(Breakdown(**dict(row)) for row in items), **dict(ranks))


async def reconcile(connection: asyncpg.Connection, period_id: uuid.UUID) -> list[tuple[uuid.UUID, int, int]]:
    """Members whose posted entries do not add up to their account's balance: (person, entries, ledger)."""
    rows = await connection.fetch(
        f"""
        WITH totals AS ({_TOTALS}),
        entries AS (
            SELECT person_id, sum(CASE WHEN kind = 'deduction' THEN -amount ELSE amount END) AS total
            FROM scoring_entry WHERE period_id = $1 AND status = 'posted' GROUP BY person_id
        )
        SELECT t.person_id, coalesce(e.total, 0)::bigint AS entries, t.total::bigint AS ledger
        FROM totals t LEFT JOIN entries e ON e.person_id = t.person_id
        WHERE coalesce(e.total, 0) <> t.total
        ORDER BY t.person_id
        """,
        period_id,
    )
    return [(row["person_id"], row["entries"], row["ledger"]) for row in rows]
