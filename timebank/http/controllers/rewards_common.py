"""What the points-mall controllers share: the caller's bound transaction, the pickup-code key, 201 or 200."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from litestar import Response
from litestar.di import NamedDependency, Provide

from timebank.access.principal import Principal
from timebank.db import EVERY_COMMUNITY, Database, bound
from timebank.keys import Keys
from timebank.rewards.codes import PICKUP_KEY_PURPOSE, PickupCodes

__all__ = ["DEPENDENCIES", "bound_to", "created"]


@asynccontextmanager
async def bound_to(database: Database, principal: Principal) -> AsyncIterator[asyncpg.Connection]:
    """A transaction that sees the caller's communities only (system accounts: every community)."""
    communities: list[uuid.UUID] | None = None if principal.is_system else list(principal.communities)
    async with bound(database.pool, EVERY_COMMUNITY if communities is None else communities) as connection:
        yield connection


def created(body: Any, is_new: bool) -> Response[Any]:
    """201 when the request made something, 200 when it was a replay of one that did."""
    return Response(body, status_code=201 if is_new else 200)


def provide_pickup_codes(keys: NamedDependency[Keys]) -> PickupCodes:
    return PickupCodes(keys.derive(PICKUP_KEY_PURPOSE))


#: Every points-mall controller gets the pickup codes this way.
DEPENDENCIES = {"codes": Provide(provide_pickup_codes, sync_to_thread=False)}
