"""The audit log: every staff action, who did it, when, and the row before and after."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import asyncpg
import msgspec
import structlog

from timebank.access.principal import Principal

__all__ = ["record"]

_encode = msgspec.json.Encoder().encode


async def record(
    connection: asyncpg.Connection,
    actor: Principal | None,
    *,
    community_id: uuid.UUID | None,
    action: str,
    entity: str,
    entity_id: uuid.UUID | str,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> None:
    """Append one event on the caller's transaction, so the action and its record commit or fail together."""
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    await connection.execute(
        """
        INSERT INTO audit_event
            (community_id, actor_id, actor_subject, action, entity, entity_id, before, after, request_id)
        VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb, $9)
        """,
        community_id,
        actor.person_id if actor is not None else None,
        actor.subject if actor is not None else "system",
        action,
        entity,
        str(entity_id),
        None if before is None else _encode(dict(before)).decode(),
        None if after is None else _encode(dict(after)).decode(),
        request_id,
    )
