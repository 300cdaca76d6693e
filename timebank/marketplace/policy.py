"""The order-cycle policy: per community, versioned, each version in force from a moment on.

An order is priced and timed by the version in force when it was placed, and names that version; closing it pays by
that version even if staff wrote a newer one since. A community that never wrote one gets version 1 with the
defaults below the first time an order is placed.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from timebank.access.principal import Principal
from timebank.community import audit
from timebank.errors import Conflict, InvalidInput, NotFound
from timebank.marketplace.model import Tier

__all__ = ["DEFAULT_RULES", "MarketplacePolicy", "OrderRules", "policy_at", "policy_version", "write_policy"]

_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
#: The longest time limit a policy may set (also keeps every deadline a representable timestamp).
_LONGEST = timedelta(days=366)


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderRules:
    """What a version says. Time coins are counted in minutes (60 = one coin)."""

    #: 临武: a micro-wish is generally worth at most ¥300.
    wish_value_cap_yuan: int = 300
    #: How long a published wish waits for a claimer.
    wish_claim_window: timedelta = timedelta(days=14)
    #: Time an order may spend at each tier before it escalates (凤县: same day, 3 days, 7 days, 15 days).
    compound_limit: timedelta = timedelta(days=1)
    community_limit: timedelta = timedelta(days=3)
    street_limit: timedelta = timedelta(days=7)
    department_limit: timedelta = timedelta(days=15)
    #: Time-bank help: coin minutes the requester pays per minute of help.
    coins_per_minute: int = 1
    #: Public-good service: points per started hour (江化: one point an hour).
    points_per_hour: int = 1
    #: Party score for a public-good order rated at least ``bonus_min_rating``.
    score_bonus: int = 2
    bonus_min_rating: int = 3

    def tier_limit(self, tier: Tier) -> timedelta:
        limits = {
            Tier.compound: self.compound_limit,
            Tier.community: self.community_limit,
            Tier.street: self.street_limit,
            Tier.department: self.department_limit,
        }
        return limits[tier]


DEFAULT_RULES = OrderRules()


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketplacePolicy(OrderRules):
    community_id: uuid.UUID
    version: int
    valid_from: datetime


_RULE_FIELDS = tuple(f.name for f in dataclasses.fields(OrderRules))
_COLUMNS = "community_id, version, valid_from, " + ", ".join(_RULE_FIELDS)


def _policy(row: asyncpg.Record) -> MarketplacePolicy:
    return MarketplacePolicy(**dict(row))


async def policy_at(connection: asyncpg.Connection, community_id: uuid.UUID, at: datetime) -> MarketplacePolicy:
    """The version in force at ``at``; a community without any gets the defaults as version 1."""
    row = await connection.fetchrow(
        f"""
        SELECT {_COLUMNS} FROM marketplace_policy WHERE community_id = $1 AND valid_from <= $2
        ORDER BY version DESC LIMIT 1
        """,
        community_id,
        at,
    )
    if row is not None:
        return _policy(row)
    if await connection.fetchval("SELECT 1 FROM community WHERE id = $1", community_id) is None:
        raise NotFound("no such community", community_id=str(community_id))
    await connection.execute(
        f"""
        INSERT INTO marketplace_policy ({_COLUMNS})
        VALUES ($1, 1, $2, {", ".join(f"${i}" for i in range(3, 3 + len(_RULE_FIELDS)))})
        ON CONFLICT DO NOTHING
        """,
        community_id,
        _EPOCH,
        *(getattr(DEFAULT_RULES, name) for name in _RULE_FIELDS),
    )
    return await policy_version(connection, community_id, 1)


async def policy_version(connection: asyncpg.Connection, community_id: uuid.UUID, version: int) -> MarketplacePolicy:
    row = await connection.fetchrow(
        f"SELECT {_COLUMNS} FROM marketplace_policy WHERE community_id = $1 AND version = $2", community_id, version
    )
    if row is None:
        raise NotFound(f"no marketplace policy version {version}", field="version")
    return _policy(row)


async def write_policy(
    connection: asyncpg.Connection,
    actor: Principal,
    community_id: uuid.UUID,
    *,
    version: int,
    valid_from: datetime,
    rules: OrderRules,
) -> tuple[MarketplacePolicy, bool]:
    """Append ``version`` (the next number, which makes a retry idempotent); returns it and whether it is new.

    Raises:
        Conflict: the number is taken by different rules, or is not the next one, or the version would start no
            later than the one before.
        InvalidInput: a rule is out of range.
    """
    _check(rules)
    # One writer at a time per community, so two staff cannot both append the same next number.
    await connection.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('marketplace.policy:' || $1::uuid::text, 0))", community_id
    )
    existing = await connection.fetchrow(
        f"SELECT {_COLUMNS} FROM marketplace_policy WHERE community_id = $1 AND version = $2", community_id, version
    )
    if existing is not None:
        policy = _policy(existing)
        if policy.valid_from != valid_from or _rules_of(policy) != rules:
            raise Conflict(f"version {version} exists with different rules", field="version")
        return policy, False
    latest = await connection.fetchrow(
        "SELECT version, valid_from FROM marketplace_policy WHERE community_id = $1 ORDER BY version DESC LIMIT 1",
        community_id,
    )
    expected = 1 if latest is None else latest["version"] + 1
    if version != expected:
        raise Conflict(f"the next version is {expected}", field="version", latest=expected - 1)
    if latest is not None and valid_from <= latest["valid_from"]:
        raise Conflict("a new version must start after the one before", field="valid_from")
    row = await connection.fetchrow(
        f"""
        INSERT INTO marketplace_policy ({_COLUMNS}, created_by)
        VALUES ($1, $2, $3, {", ".join(f"${i}" for i in range(4, 4 + len(_RULE_FIELDS)))}, ${4 + len(_RULE_FIELDS)})
        RETURNING {_COLUMNS}
        """,
        community_id,
        version,
        valid_from,
        *(getattr(rules, name) for name in _RULE_FIELDS),
        actor.person_id,
    )
    policy = _policy(row)
    await audit.record(
        connection,
        actor,
        community_id=community_id,
        action="write",
        entity="marketplace_policy",
        entity_id=f"{community_id}/{version}",
        after={"valid_from": valid_from.isoformat(), **_audit_rules(rules)},
    )
    return policy, True


def _rules_of(policy: MarketplacePolicy) -> OrderRules:
    return OrderRules(**{name: getattr(policy, name) for name in _RULE_FIELDS})


def _audit_rules(rules: OrderRules) -> dict[str, object]:
    return {
        name: (value.total_seconds() if isinstance(value, timedelta) else value)
        for name, value in dataclasses.asdict(rules).items()
    }


def _check(rules: OrderRules) -> None:
    limits = {tier.value + "_limit": rules.tier_limit(tier) for tier in Tier}
    limits["wish_claim_window"] = rules.wish_claim_window
    for field, limit in limits.items():
        if not timedelta(0) < limit <= _LONGEST:
            raise InvalidInput("a time limit is more than nothing and at most a year", field=field)
    if not 1 <= rules.bonus_min_rating <= 5:
        raise InvalidInput("bonus_min_rating is between 1 and 5", field="bonus_min_rating")
