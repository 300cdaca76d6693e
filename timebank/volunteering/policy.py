"""The earning policy: per community, versioned, each version valid from a moment on.

A record is priced by the version in force when the service was given. Staff append versions; a new version may not
reach back over service already credited, so the version each transfer names keeps explaining it. A community that
never wrote one gets version 1 with the pilots' defaults the first time a record is priced.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from timebank.access.principal import Principal
from timebank.community import audit
from timebank.errors import Conflict, InvalidInput, RuleViolation

__all__ = [
    "DEFAULT_RULES",
    "EarningPolicy",
    "NoPolicyInForce",
    "PolicyRules",
    "community_lock",
    "policy_at",
    "policy_versions",
    "write_policy",
]

_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyRules:
    """What a version says. Coin amounts are minutes of coin (60 = one coin); None means no cap."""

    rounding_minutes: int = 15
    rounding_mode: str = "down"
    coin_minutes_per_hour: int = 60
    points_per_hour: int = 1
    party_score_per_hour: int = 1
    party_score_tags: tuple[str, ...] = ()
    coin_daily_cap: int | None = 2 * 60
    coin_lifetime_cap: int | None = 600 * 60
    coin_storage_cap: int | None = 1500 * 60
    max_daily_service_minutes: int = 12 * 60
    team_coins_donation_only: bool = True
    redeem_age: int = 65
    redeem_age_hardship: int = 60
    auto_approve: bool = False
    trade_window_days: int = 30
    note: str = ""


#: The pilots' defaults: 1 coin an hour (上海), 2 coins a day and 600 in all (长宁), 1,500 stored hours (南京),
#: team hours donated (南京), redeeming from 65, or 60 in hardship (上海 2026), quarter hours rounded down.
DEFAULT_RULES = PolicyRules()


@dataclass(frozen=True, slots=True, kw_only=True)
class EarningPolicy(PolicyRules):
    community_id: uuid.UUID
    version: int
    valid_from: datetime
    valid_until: datetime | None


class NoPolicyInForce(RuleViolation):
    """No earning policy version covers the time of the service, so it cannot be priced."""

    code = "no-policy-in-force"
    title = "No earning policy in force"


_RULE_FIELDS = tuple(f.name for f in dataclasses.fields(PolicyRules))
_COLUMNS = "community_id, version, valid_from, valid_until, " + ", ".join(_RULE_FIELDS)


def _policy(row: asyncpg.Record) -> EarningPolicy:
    values = dict(row)
    values["party_score_tags"] = tuple(values["party_score_tags"])
    return EarningPolicy(**values)


async def community_lock(connection: asyncpg.Connection, community_id: uuid.UUID, *, exclusive: bool) -> None:
    """Pricing holds this shared, writing a version holds it exclusively: a version never lands mid-pricing."""
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    await connection.execute(
        f"SELECT {function}(hashtextextended('volunteering.policy:' || $1::uuid::text, 0))", community_id
    )


async def policy_at(connection: asyncpg.Connection, community_id: uuid.UUID, at: datetime) -> EarningPolicy:
    """The version in force at ``at``; a community without any gets the defaults as version 1."""
    row = await connection.fetchrow(
        f"""
        SELECT {_COLUMNS} FROM earning_policy WHERE community_id = $1 AND valid_from <= $2
        ORDER BY version DESC LIMIT 1
        """,
        community_id,
        at,
    )
    if row is None and not await connection.fetchval(
        "SELECT EXISTS (SELECT 1 FROM earning_policy WHERE community_id = $1)", community_id
    ):
        await _insert(connection, None, community_id, 1, _EPOCH, None, DEFAULT_RULES)
        return await policy_at(connection, community_id, at)
    if row is None or (row["valid_until"] is not None and row["valid_until"] <= at):
        raise NoPolicyInForce("no earning policy covers the time of this service", at=at.isoformat())
    return _policy(row)


async def policy_versions(connection: asyncpg.Connection, community_id: uuid.UUID) -> list[EarningPolicy]:
    rows = await connection.fetch(
        f"SELECT {_COLUMNS} FROM earning_policy WHERE community_id = $1 ORDER BY version", community_id
    )
    return [_policy(row) for row in rows]


async def write_policy(
    connection: asyncpg.Connection,
    actor: Principal,
    community_id: uuid.UUID,
    *,
    version: int,
    valid_from: datetime,
    valid_until: datetime | None,
    rules: PolicyRules,
) -> tuple[EarningPolicy, bool]:
    """Append ``version`` (the next number, which makes a retry idempotent); returns it and whether it is new.

    Raises:
        Conflict: the number is taken by a different version, or the version would reach back over service already
            credited under an earlier one.
        InvalidInput: a rule is out of range, or the validity period is empty.
    """
    _check_rules(rules, valid_from, valid_until)
    await community_lock(connection, community_id, exclusive=True)
    existing = await connection.fetchrow(
        f"SELECT {_COLUMNS} FROM earning_policy WHERE community_id = $1 AND version = $2", community_id, version
    )
    if existing is not None:
        policy = _policy(existing)
        if (policy.valid_from, policy.valid_until, _rules_of(policy)) != (valid_from, valid_until, rules):
            raise Conflict(f"version {version} exists with different rules", field="version")
        return policy, False
    latest = await connection.fetchval("SELECT max(version) FROM earning_policy WHERE community_id = $1", community_id)
    if version != (latest or 0) + 1:
        raise Conflict(f"the next version is {(latest or 0) + 1}", field="version", latest=latest or 0)
    priced_after = await connection.fetchval(
        """
        SELECT max(started_at) FROM service_record
        WHERE community_id = $1 AND status IN ('approved', 'credited', 'corrected')
        """,
        community_id,
    )
    if priced_after is not None and valid_from <= priced_after:
        raise Conflict(
            "service given at or after valid_from is credited already; start the new version later",
            field="valid_from",
            credited_until=priced_after.isoformat(),
        )
    written = await _insert(connection, actor, community_id, version, valid_from, valid_until, rules)
    if written is None:
        raise Conflict(f"version {version} was written concurrently", field="version")
    return written, True


def _rules_of(policy: EarningPolicy) -> PolicyRules:
    return PolicyRules(**{name: getattr(policy, name) for name in _RULE_FIELDS})


def _check_rules(rules: PolicyRules, valid_from: datetime, valid_until: datetime | None) -> None:
    if valid_until is not None and valid_until <= valid_from:
        raise InvalidInput("valid_until must be later than valid_from", field="valid_until")
    if rules.rounding_mode not in ("down", "nearest", "up"):
        raise InvalidInput("rounding_mode is down, nearest or up", field="rounding_mode")
    if rules.redeem_age_hardship > rules.redeem_age:
        raise InvalidInput("the hardship age gate cannot be above the general one", field="redeem_age_hardship")


async def _insert(
    connection: asyncpg.Connection,
    actor: Principal | None,
    community_id: uuid.UUID,
    version: int,
    valid_from: datetime,
    valid_until: datetime | None,
    rules: PolicyRules,
) -> EarningPolicy | None:
    values = [getattr(rules, name) for name in _RULE_FIELDS]
    values[_RULE_FIELDS.index("party_score_tags")] = list(rules.party_score_tags)
    placeholders = ", ".join(f"${i}" for i in range(5, 5 + len(_RULE_FIELDS)))
    try:
        async with connection.transaction():
            row = await connection.fetchrow(
                f"""
                INSERT INTO earning_policy ({_COLUMNS}, created_by)
                VALUES ($1, $2, $3, $4, {placeholders}, ${5 + len(_RULE_FIELDS)})
                ON CONFLICT (community_id, version) DO NOTHING
                RETURNING {_COLUMNS}
                """,
                community_id,
                version,
                valid_from,
                valid_until,
                *values,
                actor.person_id if actor is not None else None,
            )
    except asyncpg.CheckViolationError as exc:
        raise InvalidInput(f"the policy breaks a rule ({exc.constraint_name})", field=_field_of(exc)) from None
    if row is None:
        # Another transaction wrote this number first (the defaults, priced concurrently): theirs stands.
        return None
    policy = _policy(row)
    await audit.record(
        connection,
        actor,
        community_id=community_id,
        action="write",
        entity="earning_policy",
        entity_id=f"{community_id}/{version}",
        after={"valid_from": valid_from.isoformat(), **{name: _plain(getattr(rules, name)) for name in _RULE_FIELDS}},
    )
    return policy


def _field_of(exc: asyncpg.CheckViolationError) -> str:
    constraint = exc.constraint_name or ""
    for name in sorted(_RULE_FIELDS, key=len, reverse=True):
        if name in constraint:
            return name
    return "valid_from"


def _plain(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value
