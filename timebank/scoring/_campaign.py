"""What the 三亮三比 modules share: the day of an action within its period, and the catalogue in force then."""

from __future__ import annotations

from datetime import date, datetime

import asyncpg

from timebank.access.principal import Principal
from timebank.scoring.catalogue import catalogue_on
from timebank.scoring.model import Catalogue, local_day
from timebank.scoring.records import (
    Card,
    Period,
    card_of,
    require_person,
)

__all__ = ["campaign_catalogue", "own_card", "within"]


def within(period: Period, day: date) -> date:
    return min(max(day, period.starts_on), period.ends_on)


async def campaign_catalogue(connection: asyncpg.Connection, period: Period, now: datetime) -> Catalogue:
    """The catalogue in force on the day of the action, taken within the period."""
    return await catalogue_on(connection, period.community_id, within(period, local_day(now)))


async def own_card(connection: asyncpg.Connection, actor: Principal, period: Period) -> Card:
    return await card_of(connection, period.id, require_person(actor))
