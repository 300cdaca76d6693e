"""A closed order's party score bonus, scored by the party assessment (``timebank.scoring``) on the close's
transaction, rather than as a leg of the close's linked chain.

Why: party score counts per assessment period, by the catalogue's points and caps, for members enrolled in the
period, and feeds their star rating; a transfer straight to the person's ``party_score`` account would bypass all
of that. So the chain pays coins or points, and :func:`timebank.scoring.credit_item` scores the bonus (item
``order_service``, source ``order``) in the same transaction: the order closes together with its score, or not at
all, and once (a closed order never closes again, and the assessment credits a business record once).

When nothing is credited (rated too low, not enrolled, no open period, no ``order_service`` item in the catalogue),
the order keeps why in its ``score_credits``, so staff can score the member by hand if it should count.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

import asyncpg

from timebank.marketplace.model import ScoreBonus, ScoreCredit
from timebank.scoring import ORDER_SERVICE, credit_item

__all__ = ["SOURCE_TYPE", "WITHHELD", "credit_bonuses", "party_members"]

#: How the assessment names the business record behind an order_service entry.
SOURCE_TYPE = "order"
#: The outcome of a bonus a low rating withheld (the others are the assessment's ``CreditOutcome`` values).
WITHHELD = "withheld"


async def party_members(
    connection: asyncpg.Connection, community_id: uuid.UUID, people: Sequence[uuid.UUID]
) -> list[uuid.UUID]:
    """Those of ``people`` with an active party membership in the community, in the order given.

    Whether a member is assessed (enrolled, not exempt) is the assessment's answer, recorded per member.
    """
    rows = await connection.fetch(
        """
        SELECT DISTINCT person_id FROM membership
        WHERE community_id = $1 AND person_id = ANY ($2::uuid[]) AND kind = 'party_member' AND left_on IS NULL
        """,
        community_id,
        list(people),
    )
    members = {row["person_id"] for row in rows}
    return [person for person in people if person in members]


async def credit_bonuses(
    connection: asyncpg.Connection,
    *,
    community_id: uuid.UUID,
    order_id: uuid.UUID,
    bonuses: Sequence[ScoreBonus],
    occurred_on: date,
) -> list[ScoreCredit]:
    """Score each bonus not withheld in the assessment, on the caller's transaction; what became of each."""
    credited = []
    for bonus in bonuses:
        if bonus.withheld:
            credited.append(ScoreCredit(person_id=bonus.person_id, units=bonus.units, outcome=WITHHELD))
            continue
        credit = await credit_item(
            connection,
            community_id=community_id,
            person_id=bonus.person_id,
            item_code=ORDER_SERVICE,
            source_type=SOURCE_TYPE,
            source_id=str(order_id),
            occurred_on=occurred_on,
            quantity=bonus.units,
        )
        credited.append(
            ScoreCredit(
                person_id=bonus.person_id,
                units=bonus.units,
                outcome=credit.outcome.value,
                amount=credit.amount,
                entry_id=credit.entry_id,
            )
        )
    return credited
