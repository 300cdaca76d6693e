"""Assessment periods: open one (every party member enrolled with the base score), enrol late joiners, close it.

Each member gets one ``party_score`` account per period (owner kind ``person_period``, labelled with the
period's name), so a period's total is simply that account's balance, verified like every other ledger balance;
closing the period closes the accounts, which then keep their totals and refuse any late transfer. Earlier periods
stay readable through the same accounts.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

import asyncpg

from timebank.access.principal import Principal
from timebank.community import audit
from timebank.errors import Conflict, Forbidden, InvalidInput, NotFound
from timebank.scoring import ids
from timebank.scoring._ledger import close_period_accounts, lock_ledger, open_period_accounts, post_transfers
from timebank.scoring.campaign import settle_campaign
from timebank.scoring.catalogue import catalogue_on
from timebank.scoring.entries import score_transfer
from timebank.scoring.model import Catalogue
from timebank.scoring.records import Period, get_period, is_staff, period_from, writable_period

__all__ = ["Enrolment", "close_period", "enrol", "list_periods", "open_period", "period_covering"]

_PERIOD_COLUMNS = "id, community_id, name, starts_on, ends_on, status, opened_at, closed_at"


@dataclass(frozen=True, slots=True, kw_only=True)
class Enrolment:
    """What an enrolment run did: members newly enrolled, and the base score each received."""

    enrolled: tuple[uuid.UUID, ...]
    base_score: int


def _require_staff(actor: Principal, community_id: uuid.UUID) -> None:
    if not is_staff(actor, community_id):
        raise Forbidden("only community staff run assessment periods", community_id=str(community_id))


async def open_period(
    connection: asyncpg.Connection,
    actor: Principal,
    community_id: uuid.UUID,
    *,
    id: uuid.UUID,
    name: str,
    starts_on: date,
    ends_on: date,
) -> tuple[Period, bool]:
    """Open a period and enrol every active party member with the base score of the catalogue then in force.

    Idempotent by id: opening it again enrols only members who joined since.

    Raises:
        InvalidInput: the period ends before it starts.
        NotFound: no catalogue is in force on ``starts_on``.
        Conflict: the id or name is taken, or the dates overlap another period of the community.
    """
    _require_staff(actor, community_id)
    if ends_on < starts_on:
        raise InvalidInput("a period cannot end before it starts", field="ends_on")
    await catalogue_on(connection, community_id, starts_on)
    try:
        async with connection.transaction():
            row = await connection.fetchrow(
                f"""
                INSERT INTO scoring_period (id, community_id, name, starts_on, ends_on, opened_by)
                VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING RETURNING {_PERIOD_COLUMNS}
                """,
                id,
                community_id,
                name,
                starts_on,
                ends_on,
                actor.person_id,
            )
    except asyncpg.ExclusionViolationError:
        raise Conflict("the period overlaps another period of the community", field="starts_on") from None
    except asyncpg.UniqueViolationError:
        raise Conflict("the community has a period of this name", field="name") from None
    if row is None:
        try:
            period = await get_period(connection, id)
        except NotFound:
            raise Conflict("this period id is taken", field="id", id=str(id)) from None
        if (period.community_id, period.name, period.starts_on, period.ends_on) != (
            community_id,
            name,
            starts_on,
            ends_on,
        ):
            raise Conflict("this period id was used for another period", field="id", id=str(id))
        if period.is_open:
            await enrol(connection, actor, period.id)
        return period, False
    period = period_from(row)
    await audit.record(
        connection,
        actor,
        community_id=community_id,
        action="open",
        entity="scoring_period",
        entity_id=id,
        after={"name": name, "starts_on": starts_on.isoformat(), "ends_on": ends_on.isoformat()},
    )
    await enrol(connection, actor, period.id)
    return period, True


async def enrol(
    connection: asyncpg.Connection, actor: Principal, period_id: uuid.UUID, *, person_id: uuid.UUID | None = None
) -> Enrolment:
    """Enrol the active party members not yet on a card (or just ``person_id``): account, card, base score.

    Members whose type the catalogue exempts (e.g. retired) are left out. Safe to run again at any time.
    """
    period = await writable_period(connection, period_id, ledger=True)
    if person_id is None:
        _require_staff(actor, period.community_id)
    catalogue = await catalogue_on(connection, period.community_id, period.starts_on)
    rows = await connection.fetch(
        """
        SELECT m.person_id, m.member_type,
               CASE o.level WHEN 'branch' THEN o.id WHEN 'group' THEN o.parent_id
                            WHEN 'hub_household' THEN up.parent_id END AS branch_id,
               CASE o.level WHEN 'group' THEN o.id WHEN 'hub_household' THEN o.parent_id END AS group_id
        FROM membership m
        LEFT JOIN party_org o ON o.id = m.party_org_id
        LEFT JOIN party_org up ON up.id = o.parent_id
        WHERE m.community_id = $1 AND m.kind = 'party_member' AND m.left_on IS NULL AND m.joined_on <= $2
          AND ($3::uuid IS NULL OR m.person_id = $3)
          AND NOT (m.member_type = ANY ($4::text[]))
          AND NOT EXISTS (SELECT 1 FROM scoring_card c WHERE c.period_id = $5 AND c.person_id = m.person_id)
        ORDER BY m.person_id
        """,
        period.community_id,
        period.ends_on,
        person_id,
        list(catalogue.exempt_member_types),
        period.id,
    )
    if not rows:
        return Enrolment(enrolled=(), base_score=catalogue.base_score)
    people = [row["person_id"] for row in rows]
    await open_period_accounts(connection, period.community_id, period.id, period.name, people)
    inserted = await connection.fetch(
        """
        INSERT INTO scoring_card (community_id, period_id, person_id, account_id, member_type, branch_id, group_id)
        SELECT $1, $2, * FROM unnest($3::uuid[], $4::uuid[], $5::text[], $6::uuid[], $7::uuid[])
        ON CONFLICT DO NOTHING
        RETURNING person_id, account_id
        """,
        period.community_id,
        period.id,
        people,
        [ids.period_account_id(period.community_id, period.id, person) for person in people],
        [row["member_type"] for row in rows],
        [row["branch_id"] for row in rows],
        [row["group_id"] for row in rows],
    )
    await _grant_base(connection, period, catalogue, inserted)
    return Enrolment(enrolled=tuple(row["person_id"] for row in inserted), base_score=catalogue.base_score)


async def _grant_base(
    connection: asyncpg.Connection, period: Period, catalogue: Catalogue, cards: list[asyncpg.Record]
) -> None:
    """The base score for each new card: a posted entry and its transfer (none when the base is 0)."""
    now = datetime.now(UTC)
    amount = catalogue.base_score
    entries, transfers = [], []
    for row in cards:
        entry_id = ids.base_entry_id(period.id, row["person_id"])
        transfer = score_transfer(
            period.community_id,
            row["account_id"],
            policy_version=catalogue.version,
            entry_id=entry_id,
            kind="base",
            amount=amount,
            label="base",
        )
        entries.append((entry_id, row["person_id"], transfer.id if amount > 0 else None))
        if amount > 0:
            transfers.append(transfer)
    await connection.executemany(
        """
        INSERT INTO scoring_entry (id, community_id, period_id, person_id, kind, catalogue_id, requested, amount,
            source_type, occurred_on, status, decided_at, transfer_id)
        VALUES ($1, $2, $3, $4, 'base', $5, $6, $6, 'base', $7, 'posted', $8, $9)
        """,
        [
            (entry_id, period.community_id, period.id, person, catalogue.id, amount, period.starts_on, now, transfer)
            for entry_id, person, transfer in entries
        ],
    )
    await post_transfers(connection, transfers)


async def list_periods(connection: asyncpg.Connection, community_id: uuid.UUID) -> list[Period]:
    rows = await connection.fetch(
        f"SELECT {_PERIOD_COLUMNS} FROM scoring_period WHERE community_id = $1 ORDER BY starts_on", community_id
    )
    return [period_from(row) for row in rows]


async def period_covering(connection: asyncpg.Connection, community_id: uuid.UUID, day: date) -> Period | None:
    row = await connection.fetchrow(
        f"SELECT {_PERIOD_COLUMNS} FROM scoring_period WHERE community_id = $1 AND $2 BETWEEN starts_on AND ends_on",
        community_id,
        day,
    )
    return None if row is None else period_from(row)


async def close_period(
    connection: asyncpg.Connection, actor: Principal, period_id: uuid.UUID, *, now: datetime | None = None
) -> Period:
    """Close a period: score its comparisons, settle what is still pending, close every member's account.

    Submissions nobody decided are rejected and pledges never assessed are marked missed, so the period closes
    with every record in a final state. Closing a closed period returns it unchanged.
    """
    now = now or datetime.now(UTC)
    period = await get_period(connection, period_id)
    _require_staff(actor, period.community_id)
    await lock_ledger(connection, period.community_id)
    period = await get_period(connection, period_id, for_update=True)
    if not period.is_open:
        return period
    await settle_campaign(connection, period, now=now)
    await connection.execute(
        """
        UPDATE scoring_entry SET status = 'rejected', decided_at = $2,
            decision_note = 'not decided before the period closed'
        WHERE period_id = $1 AND status = 'submitted'
        """,
        period.id,
        now,
    )
    accounts = await connection.fetch("SELECT account_id FROM scoring_card WHERE period_id = $1", period.id)
    row = await connection.fetchrow(
        f"""
        UPDATE scoring_period SET status = 'closed', closed_at = $2, closed_by = $3 WHERE id = $1
        RETURNING {_PERIOD_COLUMNS}
        """,
        period.id,
        now,
        actor.person_id,
    )
    await close_period_accounts(connection, [r["account_id"] for r in accounts])
    await audit.record(
        connection,
        actor,
        community_id=period.community_id,
        action="close",
        entity="scoring_period",
        entity_id=period.id,
        before={"status": "open"},
        after={"status": "closed", "cards": len(accounts)},
    )
    return period_from(row)
