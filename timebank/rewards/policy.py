"""A community's mall rules: versioned, effective-dated, append-only; the version in force prices every posting."""

from __future__ import annotations

import uuid
from dataclasses import asdict, fields
from datetime import datetime

import asyncpg

from timebank.access.principal import Principal
from timebank.community import audit
from timebank.errors import Conflict, InvalidInput, NotFound
from timebank.rewards.model import Policy

__all__ = ["current_policy", "policy_history", "set_policy"]

_RULES = tuple(f.name for f in fields(Policy) if f.name not in ("community_id", "version", "effective_from"))
_COLUMNS = "community_id, version, effective_from, " + ", ".join(_RULES)


async def current_policy(
    connection: asyncpg.Connection, community_id: uuid.UUID, *, at: datetime | None = None
) -> Policy:
    """The version in force at ``at`` (now by default); the defaults of :class:`Policy` when none was set."""
    row = await connection.fetchrow(
        f"""
        SELECT {_COLUMNS} FROM rewards_policy
        WHERE community_id = $1 AND effective_from <= coalesce($2, clock_timestamp())
        ORDER BY effective_from DESC LIMIT 1
        """,
        community_id,
        at,
    )
    return Policy(community_id=community_id) if row is None else Policy(**dict(row))


async def policy_history(connection: asyncpg.Connection, community_id: uuid.UUID) -> list[Policy]:
    rows = await connection.fetch(
        f"SELECT {_COLUMNS} FROM rewards_policy WHERE community_id = $1 ORDER BY version", community_id
    )
    return [Policy(**dict(row)) for row in rows]


async def set_policy(connection: asyncpg.Connection, actor: Principal, policy: Policy) -> tuple[Policy, bool]:
    """Add ``policy.version`` (the next number); ``effective_from`` None means now. Idempotent by version.

    Raises:
        Conflict: the version exists with other rules, or is not the next one.
        InvalidInput: the version would take effect before the one it follows.
    """
    if policy.version is None:
        raise InvalidInput("a policy needs a version", field="version")
    # Versions of one community are numbered in turn; serialise writers of the same community.
    await connection.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"rewards_policy/{policy.community_id}"
    )
    existing = await connection.fetchrow(
        f"SELECT {_COLUMNS} FROM rewards_policy WHERE community_id = $1 AND version = $2",
        policy.community_id,
        policy.version,
    )
    if existing is not None:
        stored = Policy(**dict(existing))
        if any(getattr(stored, rule) != getattr(policy, rule) for rule in _RULES) or (
            policy.effective_from is not None and policy.effective_from != stored.effective_from
        ):
            raise Conflict("this policy version was set with other rules", field="version")
        return stored, False
    latest = await connection.fetchrow(
        "SELECT version, effective_from FROM rewards_policy WHERE community_id = $1 ORDER BY version DESC LIMIT 1",
        policy.community_id,
    )
    expected = 1 if latest is None else latest["version"] + 1
    if policy.version != expected:
        raise Conflict(f"the next policy version is {expected}", field="version", expected=expected)
    effective = policy.effective_from or await connection.fetchval("SELECT clock_timestamp()")
    if latest is not None and effective <= latest["effective_from"]:
        raise InvalidInput("a new version must take effect after the one before", field="effective_from")
    try:
        async with connection.transaction():
            row = await connection.fetchrow(
                f"""
                INSERT INTO rewards_policy ({_COLUMNS}, created_by)
                VALUES ({", ".join(f"${i + 1}" for i in range(len(_RULES) + 4))})
                RETURNING {_COLUMNS}
                """,
                policy.community_id,
                policy.version,
                effective,
                *(getattr(policy, rule) for rule in _RULES),
                actor.person_id,
            )
    except asyncpg.CheckViolationError as exc:
        raise InvalidInput(f"a policy rule is out of range ({exc.constraint_name})", field="policy") from None
    except asyncpg.ForeignKeyViolationError:
        raise NotFound("no such community", field="community_id") from None
    stored = Policy(**dict(row))
    await audit.record(
        connection,
        actor,
        community_id=policy.community_id,
        action="set_policy",
        entity="rewards_policy",
        entity_id=f"{policy.community_id}/{policy.version}",
        after={key: str(value) if value is not None else None for key, value in asdict(stored).items()},
    )
    return stored, True
