"""The composition root: :func:`create_app` wires settings, database, capabilities and HTTP together."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import structlog
from litestar import Litestar, Router
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin
from litestar.types import ASGIApp

import timebank
from timebank.access.rules import POLICY
from timebank.access.service import AccessService
from timebank.db import Database
from timebank.embedded import database_dsn
from timebank.http.auth import AccessGuard, access_exception_handlers, provide_principal
from timebank.http.controllers.health import HealthController
from timebank.http.middleware import RequestContextMiddleware, require_json_body
from timebank.http.problems import exception_handlers
from timebank.http.routes import API_CONTROLLERS
from timebank.http.transfer_lane import TransferLane
from timebank.keys import Keys, load_keys
from timebank.ledger import LedgerService
from timebank.ledger.batcher import TransferBatcher
from timebank.logging import configure_logging
from timebank.process import settle_heap
from timebank.settings import Settings

__all__ = ["create_app", "create_app_from_env"]


class _TimebankLitestar(Litestar):
    """Litestar with the request context outermost, and the single-transfer lane inside it.

    App-level middleware runs only after routing, so unrouted requests (404, 405) would go unlogged and without a
    request id; wrapping the whole handler, as Litestar does for its OpenTelemetry middleware, covers every request.
    The lane (timebank/http/transfer_lane.py) sits inside, so its requests get the same request id and log line.
    """

    def __init__(self, *args: Any, lane: Callable[[ASGIApp], ASGIApp] | None = None, **kwargs: Any) -> None:
        self._lane = lane  # read by _create_asgi_handler, which Litestar's __init__ calls
        super().__init__(*args, **kwargs)

    def _create_asgi_handler(self) -> ASGIApp:
        handler = super()._create_asgi_handler()
        return RequestContextMiddleware(self._lane(handler) if self._lane is not None else handler)


def _openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="timebank",
        version=timebank.__version__,
        description="Volunteer time bank and points ledger for urban communities.",
        path="/schema",
        render_plugins=[ScalarRenderPlugin()],
    )


def create_app(settings: Settings, *, database: Database | None = None, transfer_lane: bool = True) -> Litestar:
    """Build the ASGI application.

    Args:
        settings: the service configuration.
        database: an already-open database to use (tests share one); when omitted, the app's lifespan opens one
            from ``settings`` (starting the embedded PostgreSQL if no URL is set) and closes it at shutdown.

    Returns:
        The Litestar app, with the API under ``/v1`` and the probes under ``/health``.
    """

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            if database is None:
                dsn = await stack.enter_async_context(database_dsn(settings))
                owned = Database(dsn, pool_size=settings.db_pool_size)
                await owned.open()
                stack.push_async_callback(owned.close)
                app.state.database = owned
            if access.dev_mode:
                structlog.get_logger("timebank.access").warning(
                    "wechat_provider_dev", note="development login: phone codes are returned to callers"
                )
            settle_heap()
            yield
            if (batcher := app.state.get("batcher")) is not None:
                await batcher.stop()

    def provide_database() -> Database:
        return database if database is not None else app.state.database

    access = AccessService(settings, lambda: provide_database().pool, policy=POLICY)

    def provide_access() -> AccessService:
        return access

    # Loaded on first use: without TIMEBANK_SECRET_KEY the key file lives in the data directory.
    keys = functools.cache(lambda: load_keys(settings))

    def provide_keys() -> Keys:
        return keys()

    ledger: LedgerService | None = None

    def provide_ledger() -> LedgerService:
        # One service per pool: it remembers the accounts its writes committed (timebank/ledger/account_cache.py).
        nonlocal ledger
        pool = provide_database().pool
        if ledger is None or ledger.pool is not pool:
            ledger = LedgerService(pool)
        return ledger

    async def provide_batcher() -> TransferBatcher:
        # Started on first use, so apps driven without a lifespan (in-process tests) get one too. start() never
        # suspends, so two first requests cannot both create one.
        batcher: TransferBatcher | None = app.state.get("batcher")
        if batcher is None:
            batcher = TransferBatcher(provide_ledger().create_transfers)
            await batcher.start()
            app.state.batcher = batcher
        return batcher

    # Every API route passes the access guard: the token, then the one policy (timebank/access/rules).
    api = Router(path="/v1", route_handlers=API_CONTROLLERS, guards=[AccessGuard(access)])

    def lane(handler: ASGIApp) -> ASGIApp:
        return TransferLane(handler, access=access, batcher=provide_batcher, max_body_bytes=settings.max_body_bytes)

    app = _TimebankLitestar(
        route_handlers=[HealthController, api],
        dependencies={
            "database": Provide(provide_database, sync_to_thread=False),
            "ledger": Provide(provide_ledger, sync_to_thread=False),
            "batcher": Provide(provide_batcher),
            "access": Provide(provide_access, sync_to_thread=False),
            "principal": Provide(provide_principal, sync_to_thread=False),
            "keys": Provide(provide_keys, sync_to_thread=False),
        },
        before_request=require_json_body,
        exception_handlers={**exception_handlers(), **access_exception_handlers()},
        lifespan=[lifespan],
        openapi_config=_openapi_config(),
        request_max_body_size=settings.max_body_bytes,
        logging_config=None,
        debug=False,
        lane=lane if transfer_lane else None,
    )
    return app


def create_app_from_env() -> Litestar:
    """Factory for ASGI servers: read settings from the environment once and build the app."""
    settings = Settings.from_env()
    configure_logging(settings)
    return create_app(settings)
