"""Liveness and readiness probes."""

from __future__ import annotations

import msgspec
from litestar import Controller, Response, get
from litestar.di import NamedDependency

from timebank.db import Database

__all__ = ["HealthController"]


class Liveness(msgspec.Struct, frozen=True, kw_only=True):
    status: str


class Readiness(msgspec.Struct, frozen=True, kw_only=True):
    status: str
    database: bool
    migrations_current: bool
    pending_migrations: list[str]


class HealthController(Controller):
    path = "/health"
    tags = ["health"]  # noqa: RUF012

    @get("/live", operation_id="GetLiveness", summary="The process is up")
    async def live(self) -> Liveness:
        return Liveness(status="ok")

    @get("/ready", operation_id="GetReadiness", summary="The database answers and its schema is current")
    async def ready(self, database: NamedDependency[Database]) -> Response[Readiness]:
        reachable = await database.ping()
        pending: list[str] = []
        if reachable:
            pending = list((await database.migration_state()).pending)
        ready = reachable and not pending
        body = Readiness(
            status="ok" if ready else "unavailable",
            database=reachable,
            migrations_current=reachable and not pending,
            pending_migrations=pending,
        )
        return Response(body, status_code=200 if ready else 503)
