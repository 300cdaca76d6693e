"""Stations and their catalogue: items with a point price, limits, availability and eligibility, and their stock.

Staff create and change items and bring goods in or write them off; every such change is audited with the row
before and after, so a price or stock change can always be traced to who made it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import asdict, fields
from datetime import datetime
from typing import Any

import asyncpg

from timebank.access.principal import Principal
from timebank.community import audit
from timebank.errors import Conflict, InvalidInput, NotFound
from timebank.rewards import stock
from timebank.rewards.model import ITEM_MUTABLE, Item, NewItem, Station

__all__ = [
    "create_item",
    "create_station",
    "get_item",
    "get_station",
    "list_items",
    "list_stations",
    "move_stock",
    "update_item",
]

_STATION_COLUMNS = "id, community_id, name, opening_hours"
_ITEM_FIELDS = tuple(f.name for f in fields(Item) if f.name not in ("on_hand", "reserved"))
_ITEM_COLUMNS = ", ".join(f"i.{name}" for name in _ITEM_FIELDS) + ", s.on_hand, s.reserved"
_ITEM_FROM = "rewards_item i JOIN rewards_stock s ON s.item_id = i.id"
#: Movements staff book by hand; the others follow from orders, returns, donations, grants and counts.
_MANUAL_KINDS = {"purchase_in": 1, "writeoff": -1}


def _item(row: asyncpg.Record) -> Item:
    values = dict(row)
    kinds = values["household_kinds"]
    values["household_kinds"] = tuple(kinds) if kinds is not None else None
    return Item(**values)


def _audit_view(item: Item) -> dict[str, Any]:
    return {
        key: value.isoformat() if isinstance(value, datetime) else str(value) if isinstance(value, uuid.UUID) else value
        for key, value in asdict(item).items()
        if key not in ("on_hand", "reserved")
    }


async def create_station(
    connection: asyncpg.Connection,
    actor: Principal,
    community_id: uuid.UUID,
    *,
    id: uuid.UUID,
    name: str,
    opening_hours: str = "",
) -> tuple[Station, bool]:
    """Open a station (a mall counter or mutual-aid station); idempotent by id."""
    try:
        async with connection.transaction():
            row = await connection.fetchrow(
                f"""
                INSERT INTO rewards_station (id, community_id, name, opening_hours) VALUES ($1, $2, $3, $4)
                ON CONFLICT (id) DO NOTHING RETURNING {_STATION_COLUMNS}
                """,
                id,
                community_id,
                name,
                opening_hours,
            )
    except asyncpg.UniqueViolationError:
        raise Conflict("a station with this name exists already", field="name") from None
    except asyncpg.ForeignKeyViolationError:
        raise NotFound("no such community", field="community_id") from None
    if row is None:
        existing = await get_station(connection, id)
        if (existing.community_id, existing.name, existing.opening_hours) != (community_id, name, opening_hours):
            raise Conflict("this station id was used for another station", field="id")
        return existing, False
    station = Station(**dict(row))
    await audit.record(
        connection,
        actor,
        community_id=community_id,
        action="create",
        entity="rewards_station",
        entity_id=id,
        after={"name": name, "opening_hours": opening_hours},
    )
    return station, True


async def get_station(connection: asyncpg.Connection, station_id: uuid.UUID) -> Station:
    row = await connection.fetchrow(f"SELECT {_STATION_COLUMNS} FROM rewards_station WHERE id = $1", station_id)
    if row is None:
        raise NotFound("no such station", station_id=str(station_id))
    return Station(**dict(row))


async def list_stations(connection: asyncpg.Connection, community_id: uuid.UUID) -> list[Station]:
    rows = await connection.fetch(
        f"SELECT {_STATION_COLUMNS} FROM rewards_station WHERE community_id = $1 ORDER BY name", community_id
    )
    return [Station(**dict(row)) for row in rows]


def _check_item(values: Mapping[str, Any]) -> None:
    """Rules a reader of the request can check on its own, reported with the field they concern."""
    if (values.get("source") == "partner_donated") != (values.get("partner_unit_id") is not None):
        raise InvalidInput("goods donated by a partner unit name the unit, and only they do", field="partner_unit_id")
    start, end = values.get("available_from"), values.get("available_until")
    if start is not None and end is not None and end <= start:
        raise InvalidInput("the availability window ends before it starts", field="available_until")
    low, high = values.get("min_age"), values.get("max_age")
    if low is not None and high is not None and high < low:
        raise InvalidInput("the maximum age is below the minimum age", field="max_age")


async def create_item(
    connection: asyncpg.Connection, actor: Principal, community_id: uuid.UUID, new: NewItem
) -> tuple[Item, bool]:
    """List an item at a station with an empty stock row; idempotent by id.

    Raises:
        NotFound: the station or partner unit is not in this community.
        Conflict: the id names another item, or the station lists an item of this name already.
    """
    values = asdict(new)
    _check_item(values)
    kinds = new.household_kinds
    try:
        async with connection.transaction():
            inserted = await connection.fetchval(
                """
                INSERT INTO rewards_item (id, community_id, station_id, name, category, price_points, image_url, source,
                    partner_unit_id, unit_cost_fen, limit_per_day, limit_per_month, limit_per_person, available_from,
                    available_until, min_age, max_age, household_kinds, listed)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
                ON CONFLICT (id) DO NOTHING RETURNING true
                """,
                new.id,
                community_id,
                new.station_id,
                new.name,
                str(new.category),
                new.price_points,
                new.image_url,
                str(new.source),
                new.partner_unit_id,
                new.unit_cost_fen,
                new.limit_per_day,
                new.limit_per_month,
                new.limit_per_person,
                new.available_from,
                new.available_until,
                new.min_age,
                new.max_age,
                list(kinds) if kinds is not None else None,
                new.listed,
            )
            if inserted:
                await connection.execute(
                    "INSERT INTO rewards_stock (item_id, community_id, station_id) VALUES ($1, $2, $3)",
                    new.id,
                    community_id,
                    new.station_id,
                )
    except asyncpg.UniqueViolationError:
        raise Conflict("the station lists an item of this name already", field="name") from None
    except asyncpg.ForeignKeyViolationError as exc:
        field = "partner_unit_id" if "partner_unit" in (exc.constraint_name or "") else "station_id"
        raise NotFound("the item refers to something not in this community", field=field) from None
    except asyncpg.CheckViolationError as exc:
        raise InvalidInput(f"the item is invalid ({exc.constraint_name})", field="item") from None
    item = await get_item(connection, new.id)
    if not inserted:
        stored = {name: getattr(item, name) for name in values if name != "id"}
        given = {**values, "category": str(new.category), "source": str(new.source)}
        if item.community_id != community_id or any(stored[name] != given[name] for name in stored):
            raise Conflict("this item id was used for another item", field="id")
        return item, False
    await audit.record(
        connection,
        actor,
        community_id=community_id,
        action="create",
        entity="rewards_item",
        entity_id=item.id,
        after=_audit_view(item),
    )
    return item, True


async def get_item(connection: asyncpg.Connection, item_id: uuid.UUID, *, lock: bool = False) -> Item:
    suffix = " FOR UPDATE OF i" if lock else ""
    row = await connection.fetchrow(f"SELECT {_ITEM_COLUMNS} FROM {_ITEM_FROM} WHERE i.id = $1{suffix}", item_id)
    if row is None:
        raise NotFound("no such item", item_id=str(item_id))
    return _item(row)


async def list_items(connection: asyncpg.Connection, station_id: uuid.UUID, *, listed_only: bool = True) -> list[Item]:
    rows = await connection.fetch(
        f"""
        SELECT {_ITEM_COLUMNS} FROM {_ITEM_FROM}
        WHERE i.station_id = $1 AND (i.listed OR NOT $2) ORDER BY i.category, i.name
        """,
        station_id,
        listed_only,
    )
    return [_item(row) for row in rows]


async def update_item(
    connection: asyncpg.Connection, actor: Principal, item_id: uuid.UUID, changes: Mapping[str, Any]
) -> Item:
    """Change price, listing, limits, window or eligibility; the audit log keeps the item before and after.

    Orders already placed keep the price they were placed at.
    """
    unknown = set(changes) - set(ITEM_MUTABLE)
    if unknown:
        raise InvalidInput(f"{sorted(unknown)[0]} cannot be changed", field=sorted(unknown)[0])
    before = await get_item(connection, item_id, lock=True)
    merged = {**asdict(before), **changes}
    _check_item(merged)
    if not changes or all(getattr(before, name) == value for name, value in changes.items()):
        return before
    names = sorted(changes)
    # asyncpg sends a list as a PostgreSQL array; the item keeps household kinds as a tuple.
    values = [list(changes[name]) if isinstance(changes[name], tuple) else changes[name] for name in names]
    assignments = ", ".join(f"{name} = ${index + 2}" for index, name in enumerate(names))
    try:
        async with connection.transaction():
            await connection.execute(f"UPDATE rewards_item SET {assignments} WHERE id = $1", item_id, *values)
    except asyncpg.UniqueViolationError:
        raise Conflict("the station lists an item of this name already", field="name") from None
    except asyncpg.CheckViolationError as exc:
        raise InvalidInput(f"the item is invalid ({exc.constraint_name})", field="item") from None
    after = await get_item(connection, item_id)
    await audit.record(
        connection,
        actor,
        community_id=after.community_id,
        action="update",
        entity="rewards_item",
        entity_id=item_id,
        before=_audit_view(before),
        after=_audit_view(after),
    )
    return after


async def move_stock(
    connection: asyncpg.Connection,
    actor: Principal,
    item_id: uuid.UUID,
    *,
    id: uuid.UUID,
    kind: str,
    quantity: int,
    note: str = "",
) -> tuple[Item, bool]:
    """Book goods bought in (``purchase_in``) or written off (``writeoff``, e.g. spoiled); idempotent by ``id``.

    ``quantity`` is the number of pieces, positive either way.

    Raises:
        OutOfStock: a write-off would leave fewer pieces than are on hand and reserved.
    """
    sign = _MANUAL_KINDS.get(kind)
    if sign is None:
        raise InvalidInput(f"stock is moved by hand only as {' or '.join(_MANUAL_KINDS)}", field="kind")
    if quantity <= 0:
        raise InvalidInput("the quantity must be positive", field="quantity")
    await stock.lock(connection, [item_id])
    before = await get_item(connection, item_id)
    moved = await stock.move(
        connection,
        id=id,
        item_id=item_id,
        kind=kind,
        quantity=sign * quantity,
        ref_type="staff",
        actor_id=actor.person_id,
        note=note,
    )
    if not moved:
        existing = await connection.fetchrow(
            "SELECT item_id, kind, quantity FROM rewards_stock_movement WHERE id = $1", id
        )
        if existing is None or tuple(existing) != (item_id, kind, sign * quantity):
            raise Conflict("this movement id was used for another movement", field="id")
        return before, False
    after = await get_item(connection, item_id)
    await audit.record(
        connection,
        actor,
        community_id=after.community_id,
        action=kind,
        entity="rewards_stock",
        entity_id=item_id,
        before={"on_hand": before.on_hand, "reserved": before.reserved},
        after={"on_hand": after.on_hand, "reserved": after.reserved, "movement_id": str(id), "note": note},
    )
    return after, True
