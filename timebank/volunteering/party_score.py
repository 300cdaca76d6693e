"""A credited record's party score, scored by the party assessment (``timebank.scoring``) rather than the chain.

Why not a fourth leg of the record's linked chain any more: party score counts per assessment period, by the
catalogue's points and caps, for members enrolled in the period, and feeds their star rating; a transfer straight
to the person's ``party_score`` account would bypass all of that (and be invisible to the rating). So the chain
posts service minutes, time coins and points as one all-or-nothing unit, and the record's party score is credited
by :func:`timebank.scoring.credit_item` when the record is settled as credited, on the same transaction: a record
is credited together with its score, once (the assessment credits a business record once, however often asked).

When the assessment has nothing to credit (the member is not enrolled, no period is open on the service day, the
catalogue has no ``volunteer_hour`` item), the credit is skipped, not retried, and the record says why
(``party_score_outcome``), so staff can score it by hand if it should count.
"""

from __future__ import annotations

import uuid

import asyncpg

from timebank.scoring import VOLUNTEER_HOUR, CreditOutcome, WithdrawalOutcome, credit_item, withdraw_credit
from timebank.volunteering.records import ServiceRecord, get_record

__all__ = ["SOURCE_TYPE", "credit_party_score"]

#: How the assessment names the business record behind a volunteer_hour entry.
SOURCE_TYPE = "service_record"


async def credit_party_score(connection: asyncpg.Connection, record: ServiceRecord) -> None:
    """Score ``record`` (just marked credited) in the assessment, and note the answer on the record.

    A correction first takes back what the original record scored (so the item's cap has the room again); if the
    original scored in a period that has closed since, that score stands and the correction scores nothing.
    """
    if record.corrects_id is not None:
        original = await get_record(connection, record.corrects_id)
        if original.party_score:
            taken = await withdraw_credit(
                connection,
                community_id=original.community_id,
                person_id=original.person_id,
                item_code=VOLUNTEER_HOUR,
                source_type=SOURCE_TYPE,
                source_id=str(original.id),
                occurred_on=original.service_day,
                reason=f"service record corrected by {record.id}",
            )
            if taken.outcome is WithdrawalOutcome.period_closed and record.party_score_units:
                await _note(connection, record, CreditOutcome.no_open_period, 0, None)
                return
    if not record.party_score_units:
        return
    credit = await credit_item(
        connection,
        community_id=record.community_id,
        person_id=record.person_id,
        item_code=VOLUNTEER_HOUR,
        source_type=SOURCE_TYPE,
        source_id=str(record.id),
        occurred_on=record.service_day,
        quantity=record.party_score_units,
    )
    await _note(connection, record, credit.outcome, credit.amount, credit.entry_id)


async def _note(
    connection: asyncpg.Connection,
    record: ServiceRecord,
    outcome: CreditOutcome,
    amount: int,
    entry_id: uuid.UUID | None,
) -> None:
    await connection.execute(
        "UPDATE service_record SET party_score_outcome = $2, party_score = $3, party_score_entry_id = $4 WHERE id = $1",
        record.id,
        outcome.value,
        amount,
        entry_id,
    )
