"""HTTP face of the party assessment: catalogues, periods and leaderboards of a community.

The access policy decides who may call what before a handler runs (each handler names its action, see
``timebank/access/rules/scoring.py``); the services still refuse anything a member would decide about themselves.
Handlers bind their transaction to the caller's communities, so rows elsewhere are not found.
"""

from __future__ import annotations

import uuid
from contextlib import AbstractAsyncContextManager
from typing import Annotated

import asyncpg
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from timebank.access.principal import Principal
from timebank.access.scoped import bound_for
from timebank.db import Database
from timebank.http.responses import created
from timebank.scoring import boards, catalogue, periods
from timebank.scoring import contracts as wire
from timebank.scoring.records import get_period

__all__ = ["ScoringController", "scoring_bound"]


def scoring_bound(database: Database, principal: Principal) -> AbstractAsyncContextManager[asyncpg.Connection]:
    return bound_for(database.pool, principal)


class ScoringController(Controller):
    path = "/scoring"
    tags = ["party assessment"]  # noqa: RUF012

    @post(
        "/communities/{community_id:uuid}/catalogues",
        operation_id="PublishScoringCatalogue",
        summary="Publish the next catalogue version (idempotent by id)",
        opt={"action": "scoring.catalogue.write"},
    )
    async def publish_catalogue(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        community_id: FromPath[uuid.UUID],
        data: JSONBody[wire.CataloguePublishRequest],
    ) -> Response[wire.CatalogueResponse]:
        async with scoring_bound(database, principal) as connection:
            published, is_new = await catalogue.publish_catalogue(connection, principal, community_id, data.to_domain())
        return created(wire.CatalogueResponse.of(published), is_new)

    @get(
        "/communities/{community_id:uuid}/catalogues",
        operation_id="ListScoringCatalogues",
        summary="Every catalogue version of the community",
        opt={"action": "scoring.community.read"},
    )
    async def list_catalogues(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        community_id: FromPath[uuid.UUID],
    ) -> list[wire.CatalogueResponse]:
        async with scoring_bound(database, principal) as connection:
            found = await catalogue.list_catalogues(connection, community_id)
        return [wire.CatalogueResponse.of(c) for c in found]

    @post(
        "/communities/{community_id:uuid}/periods",
        operation_id="OpenScoringPeriod",
        summary="Open a period: every party member enrolled with the base score (again: enrols late joiners)",
        opt={"action": "scoring.period.open"},
    )
    async def open_period(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        community_id: FromPath[uuid.UUID],
        data: JSONBody[wire.PeriodOpenRequest],
    ) -> Response[wire.PeriodResponse]:
        async with scoring_bound(database, principal) as connection:
            period, is_new = await periods.open_period(
                connection,
                principal,
                community_id,
                id=data.id,
                name=data.name,
                starts_on=data.starts_on,
                ends_on=data.ends_on,
            )
        return created(wire.PeriodResponse.of(period), is_new)

    @get(
        "/communities/{community_id:uuid}/periods",
        operation_id="ListScoringPeriods",
        summary="The community's assessment periods, oldest first",
        opt={"action": "scoring.community.read"},
    )
    async def list_periods(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        community_id: FromPath[uuid.UUID],
    ) -> list[wire.PeriodResponse]:
        async with scoring_bound(database, principal) as connection:
            found = await periods.list_periods(connection, community_id)
        return [wire.PeriodResponse.of(p) for p in found]

    @get(
        "/periods/{period_id:uuid}",
        operation_id="GetScoringPeriod",
        summary="One assessment period",
        opt={"action": "scoring.period.read"},
    )
    async def get_period(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        period_id: FromPath[uuid.UUID],
    ) -> wire.PeriodResponse:
        async with scoring_bound(database, principal) as connection:
            return wire.PeriodResponse.of(await get_period(connection, period_id))

    @post(
        "/periods/{period_id:uuid}/close",
        operation_id="CloseScoringPeriod",
        summary="Close a period: comparisons scored, open pledges settled, every score account closed",
        status_code=200,
        opt={"action": "scoring.period.close"},
    )
    async def close_period(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        period_id: FromPath[uuid.UUID],
    ) -> wire.PeriodResponse:
        async with scoring_bound(database, principal) as connection:
            return wire.PeriodResponse.of(await periods.close_period(connection, principal, period_id))

    @get(
        "/periods/{period_id:uuid}/leaderboard",
        operation_id="GetScoringLeaderboard",
        summary="Members by total, ranked within the community, a branch or a building group",
        opt={"action": "scoring.period.read"},
    )
    async def leaderboard(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        period_id: FromPath[uuid.UUID],
        branch_id: FromQuery[uuid.UUID | None] = None,
        group_id: FromQuery[uuid.UUID | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
        offset: Annotated[int, QueryParameter(ge=0, le=100000)] = 0,
    ) -> list[wire.BoardRowResponse]:
        async with scoring_bound(database, principal) as connection:
            await get_period(connection, period_id)
            rows = await boards.leaderboard(
                connection, period_id, branch_id=branch_id, group_id=group_id, limit=limit, offset=offset
            )
        return [wire.BoardRowResponse.of(row) for row in rows]
