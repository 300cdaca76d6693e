"""Transactions bound to what a principal may see: the one place that turns a caller into a row-level binding."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

import asyncpg

from timebank.access.principal import Principal
from timebank.db import EVERY_COMMUNITY, bound

__all__ = ["bound_for"]


@contextlib.asynccontextmanager
async def bound_for(pool: asyncpg.Pool, principal: Principal, *also: uuid.UUID) -> AsyncIterator[asyncpg.Connection]:
    """A transaction that sees the principal's communities (every community for a system account).

    ``also`` adds communities a request reaches beyond the caller's own, e.g. the paired community a member
    reports to; the handler must check that what it reads or writes there is what the request names.
    """
    communities = EVERY_COMMUNITY if principal.is_system else [*principal.communities, *also]
    async with bound(pool, communities) as connection:
        yield connection
