"""Goods granted at zero points to registered households in need (定向帮扶): requested, approved, issued.

Only households registered as in need (hardship, solitary or bereaved elders, disabled) may receive grants. A
second member of staff approves what the first requested; approval reserves the goods, and issuing them, against
the recipient's signature (领取签字), takes them out of stock. No points move.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from timebank.access.principal import Principal
from timebank.community import audit
from timebank.errors import Conflict, Forbidden, InvalidInput, NotFound
from timebank.rewards import stock
from timebank.rewards.catalogue import get_item
from timebank.rewards.errors import NotEligible, WrongState
from timebank.rewards.model import Grant, GrantLine, GrantStatus

__all__ = [
    "NEED_KINDS",
    "GrantRequest",
    "approve_grant",
    "cancel_grant",
    "get_grant",
    "issue_grant",
    "list_grants",
    "reject_grant",
    "request_grant",
]

#: Household kinds registered as in need of material help.
NEED_KINDS = frozenset({"hardship", "solitary_elder", "bereaved_elder", "disabled"})
_COLUMNS = (
    "id, community_id, station_id, household_id, reason, status, requested_by, requested_at, decided_by, decided_at, "
    "issued_at, signed_by"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class GrantRequest:
    id: uuid.UUID
    station_id: uuid.UUID
    household_id: uuid.UUID
    lines: tuple[GrantLine, ...]
    reason: str


async def get_grant(connection: asyncpg.Connection, grant_id: uuid.UUID, *, lock: bool = False) -> Grant:
    suffix = " FOR UPDATE" if lock else ""
    row = await connection.fetchrow(f"SELECT {_COLUMNS} FROM rewards_grant WHERE id = $1{suffix}", grant_id)
    if row is None:
        raise NotFound("no such grant", grant_id=str(grant_id))
    lines = await connection.fetch(
        "SELECT item_id, quantity FROM rewards_grant_line WHERE grant_id = $1 ORDER BY item_id", grant_id
    )
    values = dict(row)
    values["status"] = GrantStatus(values["status"])
    return Grant(**values, lines=tuple(GrantLine(**dict(line)) for line in lines))


async def list_grants(
    connection: asyncpg.Connection, station_id: uuid.UUID, *, status: GrantStatus | None = None, limit: int = 100
) -> list[Grant]:
    rows = await connection.fetch(
        """
        SELECT id FROM rewards_grant WHERE station_id = $1 AND ($2::text IS NULL OR status = $2)
        ORDER BY requested_at DESC, id LIMIT $3
        """,
        station_id,
        None if status is None else str(status),
        limit,
    )
    return [await get_grant(connection, row["id"]) for row in rows]


def _check_lines(lines: Sequence[GrantLine]) -> None:
    if not lines:
        raise InvalidInput("a grant lists at least one item", field="lines")
    if len({line.item_id for line in lines}) != len(lines):
        raise InvalidInput("each item appears once in a grant", field="lines")
    if any(not 1 <= line.quantity <= 1000 for line in lines):
        raise InvalidInput("a quantity is between 1 and 1000", field="lines")


async def request_grant(
    connection: asyncpg.Connection, actor: Principal, community_id: uuid.UUID, request: GrantRequest
) -> tuple[Grant, bool]:
    """File a grant for a household in need; idempotent by id.

    Raises:
        NotEligible: the household is not registered as in need.
        NotFound: the household, station or an item is not in this community.
    """
    _check_lines(request.lines)
    if not request.reason.strip():
        raise InvalidInput("a grant needs a reason", field="reason")
    try:
        existing: Grant | None = await get_grant(connection, request.id)
    except NotFound:
        existing = None
    if existing is not None:
        if (existing.community_id, existing.household_id, existing.station_id, set(existing.lines)) != (
            community_id,
            request.household_id,
            request.station_id,
            set(request.lines),
        ):
            raise Conflict("this grant id was used for another grant", field="id")
        return existing, False
    kind = await connection.fetchval(
        "SELECT kind FROM household WHERE id = $1 AND community_id = $2", request.household_id, community_id
    )
    if kind is None:
        raise NotFound("no such household in this community", field="household_id")
    if kind not in NEED_KINDS:
        raise NotEligible("grants go to households registered as in need", field="household_id", household_kind=kind)
    for line in request.lines:
        try:
            item = await get_item(connection, line.item_id)
        except NotFound:
            raise NotFound("no such item", field="lines", item_id=str(line.item_id)) from None
        if item.community_id != community_id or item.station_id != request.station_id:
            raise NotFound("the item is not kept at this station", field="lines", item_id=str(line.item_id))
    try:
        async with connection.transaction():
            await connection.execute(
                """
                INSERT INTO rewards_grant (id, community_id, station_id, household_id, reason, status, requested_by)
                VALUES ($1, $2, $3, $4, $5, 'requested', $6)
                """,
                request.id,
                community_id,
                request.station_id,
                request.household_id,
                request.reason,
                actor.person_id,
            )
    except asyncpg.ForeignKeyViolationError:
        raise NotFound("no such station in this community", field="station_id") from None
    await connection.executemany(
        "INSERT INTO rewards_grant_line (grant_id, community_id, item_id, quantity) VALUES ($1, $2, $3, $4)",
        [(request.id, community_id, line.item_id, line.quantity) for line in request.lines],
    )
    grant = await get_grant(connection, request.id)
    await _audit(connection, actor, grant, "request")
    return grant, True


async def approve_grant(connection: asyncpg.Connection, actor: Principal, grant_id: uuid.UUID) -> Grant:
    """A second member of staff approves and the goods are reserved; idempotent.

    Raises:
        Forbidden: the approver requested the grant.
        OutOfStock: the goods are not there to reserve.
    """
    grant = await get_grant(connection, grant_id, lock=True)
    if grant.status is GrantStatus.approved:
        return grant
    _require(grant, GrantStatus.requested)
    if actor.person_id is not None and actor.person_id == grant.requested_by:
        raise Forbidden("a grant is approved by someone other than who requested it", field="grant_id")
    await stock.reserve(connection, {line.item_id: line.quantity for line in grant.lines})
    return await _decide(connection, actor, grant, GrantStatus.approved)


async def reject_grant(connection: asyncpg.Connection, actor: Principal, grant_id: uuid.UUID) -> Grant:
    grant = await get_grant(connection, grant_id, lock=True)
    if grant.status is GrantStatus.rejected:
        return grant
    _require(grant, GrantStatus.requested)
    return await _decide(connection, actor, grant, GrantStatus.rejected)


async def cancel_grant(connection: asyncpg.Connection, actor: Principal, grant_id: uuid.UUID) -> Grant:
    """Withdraw a grant not yet issued; approved goods go back to stock."""
    grant = await get_grant(connection, grant_id, lock=True)
    if grant.status is GrantStatus.cancelled:
        return grant
    _require(grant, GrantStatus.requested, GrantStatus.approved)
    if grant.status is GrantStatus.approved:
        await stock.release(connection, {line.item_id: line.quantity for line in grant.lines})
    return await _decide(connection, actor, grant, GrantStatus.cancelled)


async def issue_grant(connection: asyncpg.Connection, actor: Principal, grant_id: uuid.UUID, signed_by: str) -> Grant:
    """Hand the goods over against the recipient's signature; they leave stock. Idempotent."""
    if not 1 <= len(signed_by.strip()) <= 64:
        raise InvalidInput("the recipient signs with a name of 1 to 64 characters", field="signed_by")
    grant = await get_grant(connection, grant_id, lock=True)
    if grant.status is GrantStatus.issued:
        return grant
    _require(grant, GrantStatus.approved)
    quantities = {line.item_id: line.quantity for line in grant.lines}
    await stock.release(connection, quantities)
    for item_id in sorted(quantities):
        await stock.move(
            connection,
            id=uuid.uuid5(grant.id, f"out/{item_id}"),
            item_id=item_id,
            kind="grant_out",
            quantity=-quantities[item_id],
            ref_type="aid_grant",
            ref_id=grant.id,
            actor_id=actor.person_id,
        )
    await connection.execute(
        "UPDATE rewards_grant SET status = 'issued', issued_at = clock_timestamp(), signed_by = $2 WHERE id = $1",
        grant.id,
        signed_by.strip(),
    )
    issued = await get_grant(connection, grant.id)
    await _audit(connection, actor, issued, "issue", before=grant)
    return issued


def _require(grant: Grant, *states: GrantStatus) -> None:
    if grant.status not in states:
        raise WrongState(f"the grant is {grant.status}", field="grant_id", status=str(grant.status))


async def _decide(connection: asyncpg.Connection, actor: Principal, grant: Grant, status: GrantStatus) -> Grant:
    await connection.execute(
        "UPDATE rewards_grant SET status = $2, decided_by = $3, decided_at = clock_timestamp() WHERE id = $1",
        grant.id,
        str(status),
        actor.person_id,
    )
    decided = await get_grant(connection, grant.id)
    await _audit(connection, actor, decided, str(status), before=grant)
    return decided


async def _audit(
    connection: asyncpg.Connection, actor: Principal, grant: Grant, action: str, *, before: Grant | None = None
) -> None:
    def view(g: Grant) -> dict[str, object]:
        return {
            "status": str(g.status),
            "household_id": str(g.household_id),
            "lines": {str(line.item_id): line.quantity for line in g.lines},
            "signed_by": g.signed_by,
        }

    await audit.record(
        connection,
        actor,
        community_id=grant.community_id,
        action=action,
        entity="rewards_grant",
        entity_id=grant.id,
        before=None if before is None else view(before),
        after=view(grant),
    )
