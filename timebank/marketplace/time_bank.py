"""Paying for help with time coins: who may spend them yet, by the volunteering capability's age gate."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg

from timebank.marketplace.errors import CoinsNotYetSpendable
from timebank.volunteering.time_bank import coin_account

__all__ = ["check_may_spend"]


async def check_may_spend(connection: asyncpg.Connection, community_id: uuid.UUID, requester_id: uuid.UUID) -> None:
    """Raise unless the requester has reached the age at which coins pay for help (上海: 65, or 60 in hardship).

    Raises:
        CoinsNotYetSpendable: the requester is younger, or their birth date is not known.
    """
    account = await coin_account(connection, community_id, requester_id, datetime.now(UTC))
    if not account.may_redeem:
        raise CoinsNotYetSpendable(
            f"time coins pay for help from age {account.redeem_age}; until then they are kept",
            field="settlement",
            redeem_age=account.redeem_age,
            policy_version=account.policy_version,
        )
