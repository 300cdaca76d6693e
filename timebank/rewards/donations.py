"""Goods donated in kind to the mutual-aid station (爱心汇流): logged with the donor, inspected, put into stock.

A resident's accepted donation earns points where the community's policy says so, up to a monthly cap; the points
are issued on the same transaction that books the goods in. Partner units' donations are logged for their
co-building record and earn no points.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from timebank.access.principal import Principal
from timebank.community import audit
from timebank.errors import Conflict, InvalidInput, NotFound
from timebank.rewards import points, stock
from timebank.rewards.catalogue import get_item
from timebank.rewards.model import Donation, DonationLine
from timebank.rewards.policy import current_policy

__all__ = ["DonationRequest", "get_donation", "list_donations", "receive_donation"]

_COLUMNS = (
    "id, community_id, station_id, donor_person_id, donor_unit_id, received_by, public_acknowledge, reward_points, "
    "reward_transfer_id, policy_version, note, at"
)
_MONTH_START = "date_trunc('month', clock_timestamp() AT TIME ZONE 'Asia/Shanghai') AT TIME ZONE 'Asia/Shanghai'"


@dataclass(frozen=True, slots=True, kw_only=True)
class DonationRequest:
    """A donation as staff log it at intake: per item, pieces accepted and rejected by the intake standard."""

    id: uuid.UUID
    station_id: uuid.UUID
    donor_person_id: uuid.UUID | None = None
    donor_unit_id: uuid.UUID | None = None
    lines: tuple[DonationLine, ...]
    public_acknowledge: bool = True
    note: str = ""


_CONDITIONS = frozenset({"new", "good", "usable"})


def _by_item(line: DonationLine) -> uuid.UUID:
    return line.item_id


def _check(request: DonationRequest) -> None:
    if (request.donor_person_id is None) == (request.donor_unit_id is None):
        raise InvalidInput("a donation names its donor: a person or a partner unit", field="donor_person_id")
    if not request.lines:
        raise InvalidInput("a donation lists at least one item", field="lines")
    seen: set[uuid.UUID] = set()
    for line in request.lines:
        if line.item_id in seen:
            raise InvalidInput("each item appears once in a donation", field="lines", item_id=str(line.item_id))
        seen.add(line.item_id)
        if line.accepted < 0 or line.rejected < 0 or not 1 <= line.accepted + line.rejected <= 10000:
            raise InvalidInput("pieces accepted and rejected are counts, at least one", field="lines")
        if line.condition not in _CONDITIONS:
            raise InvalidInput("condition is new, good or usable", field="lines", item_id=str(line.item_id))


async def receive_donation(
    connection: asyncpg.Connection, actor: Principal, community_id: uuid.UUID, request: DonationRequest
) -> tuple[Donation, bool]:
    """Log a donation, book the accepted pieces in, and reward a resident donor by policy; idempotent by id.

    Raises:
        NotFound: the station, an item, the donor or the unit is not in this community.
        Conflict: the id was used for another donation.
    """
    _check(request)
    try:
        existing = await get_donation(connection, request.id)
    except NotFound:
        existing = None
    if existing is not None:
        same = (
            existing.community_id == community_id
            and existing.station_id == request.station_id
            and (existing.donor_person_id, existing.donor_unit_id) == (request.donor_person_id, request.donor_unit_id)
            and sorted(existing.lines, key=_by_item) == sorted(request.lines, key=_by_item)
        )
        if not same:
            raise Conflict("this donation id was used for another donation", field="id")
        return existing, False
    for line in request.lines:
        try:
            item = await get_item(connection, line.item_id)
        except NotFound:
            raise NotFound("no such item", field="lines", item_id=str(line.item_id)) from None
        if item.community_id != community_id or item.station_id != request.station_id:
            raise NotFound("the item is not kept at this station", field="lines", item_id=str(line.item_id))
    if request.donor_person_id is not None and not await connection.fetchval(
        "SELECT EXISTS (SELECT 1 FROM person WHERE id = $1)", request.donor_person_id
    ):
        raise NotFound("no such person in this community", field="donor_person_id")
    policy = await current_policy(connection, community_id)
    accepted = sum(line.accepted for line in request.lines)
    reward = 0
    if request.donor_person_id is not None and accepted and policy.donation_reward_points:
        reward = await _reward_within_cap(
            connection, request.donor_person_id, policy.donation_reward_points, policy.donation_reward_monthly_cap
        )
    transfer = (
        points.reward(community_id, request.donor_person_id, request.id, reward, policy=policy.version)
        if reward and request.donor_person_id is not None
        else None
    )
    try:
        async with connection.transaction():
            await connection.execute(
                """
                INSERT INTO rewards_donation (id, community_id, station_id, donor_person_id, donor_unit_id, received_by,
                    public_acknowledge, reward_points, reward_transfer_id, policy_version, note)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                """,
                request.id,
                community_id,
                request.station_id,
                request.donor_person_id,
                request.donor_unit_id,
                actor.person_id,
                request.public_acknowledge,
                reward,
                None if transfer is None else transfer.id,
                policy.version,
                request.note,
            )
    except asyncpg.ForeignKeyViolationError as exc:
        field = "donor_unit_id" if "unit" in (exc.constraint_name or "") else "donor_person_id"
        raise NotFound("the donor is not in this community", field=field) from None
    await connection.executemany(
        "INSERT INTO rewards_donation_line (donation_id, community_id, item_id, accepted, rejected, condition) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        [(request.id, community_id, x.item_id, x.accepted, x.rejected, x.condition) for x in request.lines],
    )
    for line in sorted(request.lines, key=_by_item):
        if line.accepted:
            await stock.move(
                connection,
                id=uuid.uuid5(request.id, f"in/{line.item_id}"),
                item_id=line.item_id,
                kind="donation_in",
                quantity=line.accepted,
                ref_type=points.REF_DONATION,
                ref_id=request.id,
                actor_id=actor.person_id,
            )
    donation = await get_donation(connection, request.id)
    await audit.record(
        connection,
        actor,
        community_id=community_id,
        action="receive",
        entity="rewards_donation",
        entity_id=request.id,
        after={
            "donor_person_id": str(request.donor_person_id) if request.donor_person_id else None,
            "donor_unit_id": str(request.donor_unit_id) if request.donor_unit_id else None,
            "accepted": accepted,
            "rejected": sum(line.rejected for line in request.lines),
            "reward_points": reward,
        },
    )
    if transfer is not None:
        await points.apply(connection, [transfer])  # last: the ledger holds the community's chain until commit
    return donation, True


async def _reward_within_cap(
    connection: asyncpg.Connection, person_id: uuid.UUID, per_donation: int, monthly_cap: int | None
) -> int:
    """The reward for one more donation this month, under the cap; donations of one person are serialised."""
    await connection.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"rewards_donor/{person_id}")
    if monthly_cap is None:
        return per_donation
    earned: int = await connection.fetchval(
        "SELECT coalesce(sum(reward_points), 0) FROM rewards_donation "
        f"WHERE donor_person_id = $1 AND at >= {_MONTH_START}",
        person_id,
    )
    return max(0, min(per_donation, monthly_cap - earned))


async def get_donation(connection: asyncpg.Connection, donation_id: uuid.UUID) -> Donation:
    row = await connection.fetchrow(f"SELECT {_COLUMNS} FROM rewards_donation WHERE id = $1", donation_id)
    if row is None:
        raise NotFound("no such donation", donation_id=str(donation_id))
    lines = await connection.fetch(
        "SELECT item_id, accepted, rejected, condition FROM rewards_donation_line WHERE donation_id = $1 "
        "ORDER BY item_id",
        donation_id,
    )
    return Donation(**dict(row), lines=tuple(DonationLine(**dict(line)) for line in lines))


async def list_donations(connection: asyncpg.Connection, station_id: uuid.UUID, *, limit: int = 100) -> list[Donation]:
    """Newest first: the donor board (爱心榜) reads those with ``public_acknowledge``."""
    rows = await connection.fetch(
        "SELECT id FROM rewards_donation WHERE station_id = $1 ORDER BY at DESC, id LIMIT $2", station_id, limit
    )
    return [await get_donation(connection, row["id"]) for row in rows]
