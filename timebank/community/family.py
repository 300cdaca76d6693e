"""Family links between lineal relatives, verified by staff; a verified link lets a member act for the relative."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import datetime

import asyncpg

from timebank.access.principal import Principal
from timebank.community import audit
from timebank.errors import Conflict, Forbidden, InvalidInput, NotFound

__all__ = ["FamilyLink", "can_act_for", "get_link", "request_link", "revoke_link", "verify_link"]

_COLUMNS = "id, community_id, person_id, relative_id, relation, requested_at, verified_by, verified_at, revoked_at"


@dataclass(frozen=True, slots=True, kw_only=True)
class FamilyLink:
    id: uuid.UUID
    community_id: uuid.UUID
    person_id: uuid.UUID
    relative_id: uuid.UUID
    relation: str
    requested_at: datetime
    verified_by: uuid.UUID | None
    verified_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.verified_at is not None and self.revoked_at is None


async def request_link(
    connection: asyncpg.Connection,
    actor: Principal,
    *,
    id: uuid.UUID,
    person_id: uuid.UUID,
    relative_id: uuid.UUID,
    relation: str,
) -> tuple[FamilyLink, bool]:
    """Ask staff to verify that ``relative_id`` is ``relation`` of ``person_id``; filed in the relative's community."""
    if person_id == relative_id:
        raise InvalidInput("a person cannot be their own relative", field="relative_id")
    community_id = await connection.fetchval("SELECT community_id FROM person WHERE id = $1", relative_id)
    if community_id is None:
        raise NotFound("no such relative", field="relative_id")
    try:
        async with connection.transaction():
            row = await connection.fetchrow(
                f"""
                INSERT INTO family_link (id, community_id, person_id, relative_id, relation)
                VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING RETURNING {_COLUMNS}
                """,
                id,
                community_id,
                person_id,
                relative_id,
                relation,
            )
    except asyncpg.UniqueViolationError:
        raise Conflict("this link has been requested already", field="relative_id") from None
    if row is None:
        existing = await _get(connection, id)
        if (existing.person_id, existing.relative_id, existing.relation) != (person_id, relative_id, relation):
            raise Conflict("this link id was used for another link", field="id")
        return existing, False
    link = FamilyLink(**dict(row))
    await audit.record(
        connection,
        actor,
        community_id=community_id,
        action="request",
        entity="family_link",
        entity_id=id,
        after=_view(link),
    )
    return link, True


async def verify_link(connection: asyncpg.Connection, actor: Principal, link_id: uuid.UUID) -> FamilyLink:
    """Staff confirm the relation (e.g. from the household register); verifying twice changes nothing."""
    if actor.person_id is None:
        raise Forbidden("a family link is verified by a person on the staff, who answers for it")
    before = await _get(connection, link_id, lock=True)
    if before.revoked_at is not None:
        raise Conflict("the link was revoked; request it again", field="link_id")
    if before.verified_at is not None:
        return before
    if actor.person_id in (before.person_id, before.relative_id):
        raise Conflict("staff cannot verify a link of their own family", field="link_id")
    row = await connection.fetchrow(
        f"UPDATE family_link SET verified_by = $2, verified_at = now() WHERE id = $1 RETURNING {_COLUMNS}",
        link_id,
        actor.person_id,
    )
    link = FamilyLink(**dict(row))
    await audit.record(
        connection,
        actor,
        community_id=link.community_id,
        action="verify",
        entity="family_link",
        entity_id=link_id,
        before=_view(before),
        after=_view(link),
    )
    return link


async def revoke_link(connection: asyncpg.Connection, actor: Principal, link_id: uuid.UUID) -> FamilyLink:
    before = await _get(connection, link_id, lock=True)
    if before.revoked_at is not None:
        return before
    row = await connection.fetchrow(
        f"UPDATE family_link SET revoked_at = now() WHERE id = $1 RETURNING {_COLUMNS}", link_id
    )
    link = FamilyLink(**dict(row))
    await audit.record(
        connection,
        actor,
        community_id=link.community_id,
        action="revoke",
        entity="family_link",
        entity_id=link_id,
        before=_view(before),
        after=_view(link),
    )
    return link


async def can_act_for(connection: asyncpg.Connection, person_id: uuid.UUID, relative_id: uuid.UUID) -> bool:
    """Whether ``person_id`` may act for ``relative_id`` (gift coins, order in the mall) by a verified link."""
    return bool(
        await connection.fetchval(
            """
            SELECT EXISTS (SELECT 1 FROM family_link WHERE person_id = $1 AND relative_id = $2
                           AND verified_at IS NOT NULL AND revoked_at IS NULL)
            """,
            person_id,
            relative_id,
        )
    )


async def get_link(connection: asyncpg.Connection, link_id: uuid.UUID) -> FamilyLink:
    return await _get(connection, link_id)


async def _get(connection: asyncpg.Connection, link_id: uuid.UUID, *, lock: bool = False) -> FamilyLink:
    suffix = " FOR UPDATE" if lock else ""
    row = await connection.fetchrow(f"SELECT {_COLUMNS} FROM family_link WHERE id = $1{suffix}", link_id)
    if row is None:
        raise NotFound("no such family link", link_id=str(link_id))
    return FamilyLink(**dict(row))


def _view(link: FamilyLink) -> dict[str, object]:
    return {key: None if value is None else str(value) for key, value in asdict(link).items()}
