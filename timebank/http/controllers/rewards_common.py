"""What the points-mall controllers share: the caller's bound transaction, the pickup-code key, 201 or 200."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager

import asyncpg
from litestar.di import NamedDependency, Provide

from timebank.access.principal import Principal
from timebank.access.scoped import bound_for
from timebank.db import Database
from timebank.keys import Keys
from timebank.rewards.codes import PICKUP_KEY_PURPOSE, PickupCodes

__all__ = ["DEPENDENCIES", "bound_to"]


def bound_to(database: Database, principal: Principal) -> AbstractAsyncContextManager[asyncpg.Connection]:
    """A transaction that sees the caller's communities only (system accounts: every community)."""
    return bound_for(database.pool, principal)


def provide_pickup_codes(keys: NamedDependency[Keys]) -> PickupCodes:
    return PickupCodes(keys.derive(PICKUP_KEY_PURPOSE))


#: Every points-mall controller gets the pickup codes this way.
DEPENDENCIES = {"codes": Provide(provide_pickup_codes, sync_to_thread=False)}
