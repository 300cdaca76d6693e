"""Approving a service record: price it under the policy in force when the service was given, plan one linked
chain of credits (service minutes, time coins, points, and any overflow to the donation pool), post it, and settle
the record; settling a credited record scores its party score in the party assessment
(:mod:`timebank.volunteering.party_score` says why that is not a leg of the chain).

Pricing one person is serialised by a per-person lock, and reads what they already earned from the planned credits
themselves (including plans not yet posted), so daily, lifetime and storage caps are exact under concurrency.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from timebank.access.principal import Principal
from timebank.community import audit
from timebank.community.accounts import (
    SystemRole,
    account_id,
    community_accounts,
    open_accounts,
    person_accounts,
    system_account_id,
)
from timebank.errors import Conflict, NotFound, RuleViolation
from timebank.ledger import Asset, Code, Result
from timebank.volunteering.anomalies import LEDGER_REFUSED
from timebank.volunteering.party_score import credit_party_score
from timebank.volunteering.policy import EarningPolicy, community_lock, policy_at
from timebank.volunteering.posting import Planned
from timebank.volunteering.pricing import Earnings, Usage, price, round_minutes
from timebank.volunteering.records import ServiceRecord, get_record, whole_minutes

__all__ = [
    "RecordHeld",
    "RecordNotCreditable",
    "coin_balance",
    "person_lock",
    "plan_approval",
    "plan_credits",
    "planned_of",
    "settle",
]

REF_TYPE = "service_record"
#: The most units of party score one record asks the assessment for (as much as ``credit_item`` takes at once).
MAX_PARTY_SCORE_UNITS = 1000


class RecordHeld(RuleViolation):
    """The record is held for anomalies; approve it with the anomalies acknowledged, amend it, or reject it."""

    code = "record-held"
    title = "Service record held"


class RecordNotCreditable(RuleViolation):
    """The record has no positive duration to credit; staff amend its times first."""

    code = "record-not-creditable"
    title = "Service record has no duration"


async def person_lock(connection: asyncpg.Connection, person_id: uuid.UUID) -> None:
    """Everything that changes what a person holds in volunteering queues here, so caps see one change at a time."""
    await connection.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('volunteering.person:' || $1::uuid::text, 0))", person_id
    )


async def plan_approval(
    connection: asyncpg.Connection,
    actor: Principal,
    record_id: uuid.UUID,
    *,
    acknowledge_anomalies: bool = False,
    community_id: uuid.UUID | None = None,
) -> list[Planned]:
    """Approve a record and plan its credits; approving an approved record returns its plan, a credited one none.

    Raises:
        RecordHeld: held, and the anomalies were not acknowledged.
        RecordNotCreditable: no check-out, or no positive duration.
        Conflict: rejected or corrected.
    """
    record = await get_record(connection, record_id, lock=True)
    if community_id is not None and record.community_id != community_id:
        raise NotFound("no such service record in this community", field="record_ids", record_id=str(record_id))
    if record.status == "credited":
        return []
    if record.status == "approved":
        return await planned_of(connection, record)
    if record.status in ("rejected", "corrected"):
        raise Conflict(f"the record is {record.status}", field="record_id", status=record.status)
    if record.status == "held" and not acknowledge_anomalies:
        raise RecordHeld("the record is held for anomalies", field="record_id", anomalies=list(record.anomalies))
    if record.ended_at is None or record.ended_at <= record.started_at:
        raise RecordNotCreditable("amend the record's times before approving it", field="record_id")
    planned, _ = await plan_credits(connection, actor, record)
    return planned


async def plan_credits(
    connection: asyncpg.Connection,
    actor: Principal,
    record: ServiceRecord,
    *,
    credited_back: int = 0,
) -> tuple[list[Planned], Earnings]:
    """Price ``record``, store its credits as planned, and mark it approved (on the caller's transaction).

    ``credited_back``: coins about to be reversed in the same chain (a correction), which the storage cap ignores.
    """
    await community_lock(connection, record.community_id, exclusive=False)
    await person_lock(connection, record.person_id)
    policy = await policy_at(connection, record.community_id, record.started_at)
    minutes = round_minutes(
        whole_minutes(record.started_at, record.ended_at), policy.rounding_minutes, policy.rounding_mode
    )
    if minutes <= 0:
        raise RecordNotCreditable("the service is shorter than the rounding unit", field="record_id")
    facts = await connection.fetchrow(
        """
        SELECT a.tags, a.team_service,
               EXISTS (SELECT 1 FROM membership m WHERE m.person_id = $2 AND m.community_id = $3
                       AND m.kind = 'party_member' AND m.left_on IS NULL) AS party_member
        FROM volunteer_activity a WHERE a.id = $1
        """,
        record.activity_id,
        record.person_id,
        record.community_id,
    )
    party_member = bool(facts["party_member"])
    # Communities and people made outside the community services (imports, fixtures) may lack accounts yet.
    await open_accounts(
        connection,
        [
            *community_accounts(record.community_id),
            *person_accounts(record.community_id, record.person_id, party_member=party_member),
        ],
    )
    usage = await _usage(connection, record, credited_back)
    earnings = price(
        policy,
        minutes=minutes,
        usage=usage,
        team_service=facts["team_service"],
        party_member=party_member,
        tags=tuple(facts["tags"]),
    )
    planned = _plan(record, policy, earnings)
    await store_planned(connection, record, planned, first_position=0)
    await connection.execute(
        """
        UPDATE service_record SET status = 'approved', minutes = $2, policy_version = $3,
            approved_by = $4, approved_at = clock_timestamp(), party_score_units = $5
        WHERE id = $1
        """,
        record.id,
        minutes,
        policy.version,
        actor.person_id,
        min(earnings.party_score, MAX_PARTY_SCORE_UNITS),
    )
    await audit.record(
        connection,
        actor,
        community_id=record.community_id,
        action="approve",
        entity="service_record",
        entity_id=record.id,
        before={"status": record.status, "anomalies": list(record.anomalies)},
        after={
            "status": "approved",
            "policy_version": policy.version,
            "minutes": minutes,
            "coins": earnings.coins,
            "coins_overflow": earnings.coins_overflow,
            "capped_by": list(earnings.capped_by),
            "party_score_units": earnings.party_score,
        },
    )
    return planned, earnings


async def _usage(connection: asyncpg.Connection, record: ServiceRecord, credited_back: int) -> Usage:
    coins = account_id(record.community_id, "person", record.person_id, Asset.time_coins)
    row = await connection.fetchrow(
        """
        SELECT coalesce(sum(c.amount) FILTER (WHERE c.service_day = $3), 0) AS today,
               coalesce(sum(c.amount), 0) AS lifetime
        FROM service_credit c JOIN service_record r ON r.id = c.record_id
        WHERE c.person_id = $1 AND c.community_id = $2 AND c.asset = $4 AND c.purpose = 'earn'
          AND c.attempt = r.posting_attempt AND r.status IN ('approved', 'credited')
        """,
        record.person_id,
        record.community_id,
        record.service_day,
        int(Asset.time_coins),
    )
    balance = await coin_balance(connection, record.person_id, coins)
    return Usage(coins_today=row["today"], coins_lifetime=row["lifetime"], coin_balance=balance - credited_back)


async def coin_balance(connection: asyncpg.Connection, person_id: uuid.UUID, coins_account: uuid.UUID) -> int:
    """The person's coins as the ledger holds them, plus volunteering's credits planned and not yet posted.

    One statement, so a plan being posted concurrently is counted once: either still planned or already booked.
    """
    return int(
        await connection.fetchval(
            """
            SELECT coalesce((SELECT credits_posted - debits_posted FROM ledger_account WHERE id = $2), 0)
                + coalesce((
                    SELECT sum(CASE WHEN c.credit_account_id = $2 THEN c.amount ELSE -c.amount END)
                    FROM service_credit c JOIN service_record r ON r.id = c.record_id
                    WHERE c.person_id = $1 AND c.posted_at IS NULL AND r.status = 'approved'
                      AND c.attempt = r.posting_attempt AND $2 IN (c.credit_account_id, c.debit_account_id)
                      AND NOT EXISTS (SELECT 1 FROM ledger_transfer t WHERE t.id = c.transfer_id)), 0)
                + coalesce((
                    SELECT sum(CASE WHEN m.credit_account_id = $2 THEN m.amount ELSE -m.amount END)
                    FROM time_bank_movement m
                    WHERE m.status = 'planned' AND $2 IN (m.credit_account_id, m.debit_account_id)
                      AND NOT EXISTS (SELECT 1 FROM ledger_transfer t WHERE t.id = m.transfer_id)), 0)
            """,
            person_id,
            coins_account,
        )
    )


def _plan(record: ServiceRecord, policy: EarningPolicy, earnings: Earnings) -> list[Planned]:
    community, person = record.community_id, record.person_id
    pool = system_account_id(community, SystemRole.donation_pool, Asset.time_coins)

    def mine(asset: Asset) -> uuid.UUID:
        return account_id(community, "person", person, asset)

    # Party score is no leg of this chain: it counts per assessment period, by the catalogue's points and caps, so
    # the party assessment credits it when the record settles (see timebank.volunteering.party_score).
    lines: list[tuple[str, Asset, int, uuid.UUID, Code]] = [
        ("earn", Asset.service_minutes, earnings.minutes, mine(Asset.service_minutes), Code.service_credit),
        ("earn", Asset.time_coins, earnings.coins, mine(Asset.time_coins), Code.service_credit),
        ("overflow", Asset.time_coins, earnings.coins_overflow, pool, Code.overflow),
        ("team_donation", Asset.time_coins, earnings.coins_team_donation, pool, Code.donation),
        ("earn", Asset.points, earnings.points, mine(Asset.points), Code.service_credit),
    ]
    memo = f"{record.activity_title} · {record.service_day.isoformat()}"[:200]
    return [
        Planned(
            transfer_id=uuid.uuid5(record.id, f"credit/{record.posting_attempt}/{purpose}/{asset.name}"),
            asset=asset,
            debit_account_id=system_account_id(community, SystemRole.issuance, asset),
            credit_account_id=credit,
            amount=amount,
            code=code,
            policy_version=policy.version,
            ref_type=REF_TYPE,
            ref_id=record.id,
            memo=memo,
        )
        for purpose, asset, amount, credit, code in lines
        if amount > 0
    ]


_PURPOSE_BY_CODE = {Code.overflow: "overflow", Code.donation: "team_donation", Code.reversal: "reversal"}


async def store_planned(
    connection: asyncpg.Connection, record: ServiceRecord, planned: Sequence[Planned], *, first_position: int
) -> None:
    """Append ``planned`` to the record's current attempt, in chain order."""
    await connection.executemany(
        """
        INSERT INTO service_credit (transfer_id, community_id, record_id, person_id, attempt, position, purpose, asset,
            debit_account_id, credit_account_id, amount, code, policy_version, reverses_id, service_day)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
        """,
        [
            (
                item.transfer_id,
                record.community_id,
                record.id,
                record.person_id,
                record.posting_attempt,
                first_position + index,
                _PURPOSE_BY_CODE.get(Code(item.code), "earn"),
                int(item.asset),
                item.debit_account_id,
                item.credit_account_id,
                item.amount,
                item.code,
                item.policy_version,
                item.reverses_id,
                record.service_day,
            )
            for index, item in enumerate(planned)
        ],
    )


async def planned_of(connection: asyncpg.Connection, record: ServiceRecord) -> list[Planned]:
    """The stored plan of the record's current attempt, in chain order."""
    rows = await connection.fetch(
        """
        SELECT transfer_id, asset, debit_account_id, credit_account_id, amount, code, policy_version, reverses_id
        FROM service_credit WHERE record_id = $1 AND attempt = $2 ORDER BY position
        """,
        record.id,
        record.posting_attempt,
    )
    memo = f"{record.activity_title} · {record.service_day.isoformat()}"[:200]
    return [
        Planned(
            transfer_id=row["transfer_id"],
            asset=Asset(row["asset"]),
            debit_account_id=row["debit_account_id"],
            credit_account_id=row["credit_account_id"],
            amount=row["amount"],
            code=row["code"],
            policy_version=row["policy_version"],
            ref_type=REF_TYPE,
            ref_id=record.id,
            memo=memo if row["reverses_id"] is None else "",
            reverses_id=row["reverses_id"],
        )
        for row in rows
    ]


async def settle(
    connection: asyncpg.Connection, record_id: uuid.UUID, failure: Result | None, *, at: datetime | None = None
) -> ServiceRecord:
    """Record the ledger's answer: credited (and its party score credited in the assessment, on this transaction),
    or held again (``ledger_refused``) with a fresh attempt for next time.

    Only an approved record changes, under its row lock, so however often a crash or a retry gets here, a record is
    credited, and its party score asked for, once.
    """
    record = await get_record(connection, record_id, lock=True)
    if record.status != "approved":
        return record
    if failure is None:
        await connection.execute(
            "UPDATE service_credit SET posted_at = coalesce($3, clock_timestamp()) "
            "WHERE record_id = $1 AND attempt = $2 AND posted_at IS NULL",
            record_id,
            record.posting_attempt,
            at,
        )
        await connection.execute("UPDATE service_record SET status = 'credited' WHERE id = $1", record_id)
        await credit_party_score(connection, record)
    else:
        await connection.execute(
            """
            UPDATE service_record SET status = 'held', posting_attempt = posting_attempt + 1,
                anomalies = array_append(array_remove(anomalies, $2), $2), note = $3, policy_version = NULL,
                approved_by = NULL, approved_at = NULL, party_score_units = NULL
            WHERE id = $1
            """,
            record_id,
            LEDGER_REFUSED,
            f"the ledger refused the credits: {failure.name}",
        )
    return await get_record(connection, record_id)
