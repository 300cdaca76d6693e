"""The audit events a bulk write leaves, appended in one statement per chunk rather than one per change."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import msgspec

__all__ = ["Actor", "AuditEvent", "append_events"]

_encode = msgspec.json.Encoder().encode


@dataclass(frozen=True, slots=True)
class Actor:
    """Who a bulk write acts for: a person, or a subject such as ``cli:<os user>`` when nobody is signed in."""

    subject: str
    person_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class AuditEvent:
    community_id: uuid.UUID | None
    action: str
    entity: str
    entity_id: uuid.UUID | str
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None


async def append_events(connection: asyncpg.Connection, events: Sequence[AuditEvent], actor: Actor) -> None:
    """Append ``events`` on the caller's transaction: the changes and their record commit or fail together."""
    if not events:
        return
    await connection.execute(
        """
        INSERT INTO audit_event (community_id, actor_id, actor_subject, action, entity, entity_id, before, after)
        SELECT community_id, $2, $8, action, entity, entity_id, before, after
        FROM unnest($1::uuid[], $3::text[], $4::text[], $5::text[], $6::jsonb[], $7::jsonb[])
            AS e(community_id, action, entity, entity_id, before, after)
        """,
        [event.community_id for event in events],
        actor.person_id,
        [event.action for event in events],
        [event.entity for event in events],
        [str(event.entity_id) for event in events],
        [_json(event.before) for event in events],
        [_json(event.after) for event in events],
        actor.subject,
    )


def _json(value: Mapping[str, Any] | None) -> str | None:
    return None if value is None else _encode(dict(value)).decode()
