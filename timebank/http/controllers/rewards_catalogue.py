"""HTTP face of the points mall's catalogue: stations, items, stock movements and counts, the mall policy, and
reconciliation. Who may call what is the access policy's (timebank/access/rules/rewards.py)."""

from __future__ import annotations

import uuid
from datetime import datetime

from litestar import Controller, Response, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from timebank.access.principal import Principal
from timebank.db import Database
from timebank.http.controllers.rewards_common import DEPENDENCIES, bound_to
from timebank.http.responses import created
from timebank.rewards import Category, NewItem, Source, catalogue, policy
from timebank.rewards import contracts as wire
from timebank.rewards.reconciliation import count_stock, reconcile

__all__ = ["MallCommunityController", "MallItemController", "MallStationCatalogueController"]


class MallCommunityController(Controller):
    path = "/mall/communities/{community_id:uuid}"
    tags = ["points mall"]  # noqa: RUF012
    dependencies = DEPENDENCIES

    @get("/stations", operation_id="ListMallStations", opt={"action": "rewards.stations.read"})
    async def list_stations(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        community_id: FromPath[uuid.UUID],
    ) -> list[wire.StationResponse]:
        async with bound_to(database, principal) as connection:
            return [wire.StationResponse.of(s) for s in await catalogue.list_stations(connection, community_id)]

    @post("/stations", operation_id="CreateMallStation", opt={"action": "rewards.stations.write"})
    async def create_station(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        community_id: FromPath[uuid.UUID],
        data: JSONBody[wire.StationCreateRequest],
    ) -> Response[wire.StationResponse]:
        async with bound_to(database, principal) as connection:
            station, is_new = await catalogue.create_station(
                connection, principal, community_id, id=data.id, name=data.name, opening_hours=data.opening_hours
            )
        return created(wire.StationResponse.of(station), is_new)

    @get("/mall-policy", operation_id="GetMallPolicy", opt={"action": "rewards.policy.read"})
    async def get_policy(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        community_id: FromPath[uuid.UUID],
    ) -> wire.PolicyResponse:
        async with bound_to(database, principal) as connection:
            return wire.PolicyResponse.of(await policy.current_policy(connection, community_id))

    @post(
        "/mall-policy",
        operation_id="SetMallPolicy",
        opt={"action": "rewards.policy.write"},
        summary="Add the next version of the mall policy (idempotent by version)",
    )
    async def set_policy(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        community_id: FromPath[uuid.UUID],
        data: JSONBody[wire.PolicyRequest],
    ) -> Response[wire.PolicyResponse]:
        async with bound_to(database, principal) as connection:
            stored, is_new = await policy.set_policy(connection, principal, data.policy(community_id))
        return created(wire.PolicyResponse.of(stored), is_new)


class MallStationCatalogueController(Controller):
    path = "/mall/stations/{station_id:uuid}"
    tags = ["points mall"]  # noqa: RUF012
    dependencies = DEPENDENCIES

    @get("/items", operation_id="ListMallItems", opt={"action": "rewards.catalogue.read"})
    async def list_items(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        station_id: FromPath[uuid.UUID],
        include_unlisted: FromQuery[bool] = False,
    ) -> list[wire.ItemResponse]:
        async with bound_to(database, principal) as connection:
            items = await catalogue.list_items(connection, station_id, listed_only=not include_unlisted)
        return [wire.ItemResponse.of(item) for item in items]

    @post("/items", operation_id="CreateMallItem", opt={"action": "rewards.catalogue.write"})
    async def create_item(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        station_id: FromPath[uuid.UUID],
        data: JSONBody[wire.ItemCreateRequest],
    ) -> Response[wire.ItemResponse]:
        new = NewItem(
            id=data.id,
            station_id=station_id,
            name=data.name,
            category=Category(data.category),
            price_points=data.price_points,
            source=Source(data.source),
            partner_unit_id=data.partner_unit_id,
            unit_cost_fen=data.unit_cost_fen,
            image_url=data.image_url,
            limit_per_day=data.limit_per_day,
            limit_per_month=data.limit_per_month,
            limit_per_person=data.limit_per_person,
            available_from=data.available_from,
            available_until=data.available_until,
            min_age=data.min_age,
            max_age=data.max_age,
            household_kinds=None if data.household_kinds is None else tuple(data.household_kinds),
            listed=data.listed,
        )
        async with bound_to(database, principal) as connection:
            station = await catalogue.get_station(connection, station_id)
            item, is_new = await catalogue.create_item(connection, principal, station.community_id, new)
        return created(wire.ItemResponse.of(item), is_new)

    @get(
        "/reconciliation",
        operation_id="ReconcileMallStation",
        opt={"action": "rewards.reconcile"},
        summary="Goods and points of the station over a period, checked against each other (账物相符)",
    )
    async def reconcile(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        station_id: FromPath[uuid.UUID],
        since: FromQuery[datetime],
        until: FromQuery[datetime | None] = None,
    ) -> wire.ReconciliationResponse:
        async with bound_to(database, principal) as connection:
            return wire.ReconciliationResponse.of(await reconcile(connection, station_id, since=since, until=until))


class MallItemController(Controller):
    path = "/mall/items/{item_id:uuid}"
    tags = ["points mall"]  # noqa: RUF012
    dependencies = DEPENDENCIES

    @get("", operation_id="GetMallItem", opt={"action": "rewards.item.read"})
    async def get_item(
        self, database: NamedDependency[Database], principal: NamedDependency[Principal], item_id: FromPath[uuid.UUID]
    ) -> wire.ItemResponse:
        async with bound_to(database, principal) as connection:
            return wire.ItemResponse.of(await catalogue.get_item(connection, item_id))

    @patch(
        "",
        operation_id="UpdateMallItem",
        opt={"action": "rewards.item.write"},
        summary="Change price, listing, limits, window or eligibility (audited)",
    )
    async def update_item(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        item_id: FromPath[uuid.UUID],
        data: JSONBody[wire.ItemUpdateRequest],
    ) -> wire.ItemResponse:
        async with bound_to(database, principal) as connection:
            return wire.ItemResponse.of(await catalogue.update_item(connection, principal, item_id, data.changes()))

    @post("/stock-movements", operation_id="MoveMallStock", opt={"action": "rewards.stock.write"})
    async def move_stock(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        item_id: FromPath[uuid.UUID],
        data: JSONBody[wire.StockMovementRequest],
    ) -> Response[wire.ItemResponse]:
        async with bound_to(database, principal) as connection:
            item, is_new = await catalogue.move_stock(
                connection, principal, item_id, id=data.id, kind=data.kind, quantity=data.quantity, note=data.note
            )
        return created(wire.ItemResponse.of(item), is_new)

    @post("/counts", operation_id="CountMallStock", opt={"action": "rewards.stock.write"})
    async def count(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        item_id: FromPath[uuid.UUID],
        data: JSONBody[wire.StockCountRequest],
    ) -> Response[wire.StockCountResponse]:
        async with bound_to(database, principal) as connection:
            done, is_new = await count_stock(
                connection, principal, id=data.id, item_id=item_id, counted=data.counted, note=data.note
            )
        return created(wire.StockCountResponse.of(done), is_new)
