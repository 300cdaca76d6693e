"""Ids derived from business records, so a retry, a re-run job or a second caller finds what the first one made.

Ledger transfer ids are UUIDv5 of the score entry they post, and automatic entries are UUIDv5 of the record that
earned them: a service record credited twice is one entry and one transfer.
"""

from __future__ import annotations

import uuid

__all__ = ["base_entry_id", "comparison_entry_id", "period_account_id", "reversal_id", "source_entry_id", "transfer_id"]

_NAMESPACE = uuid.UUID("3c0f8a52-7d1e-5b4a-9f3c-2e6d8b1a4c70")


def period_account_id(community_id: uuid.UUID, period_id: uuid.UUID, person_id: uuid.UUID) -> uuid.UUID:
    """The member's party_score account for one period (owner kind ``person_period``)."""
    return uuid.uuid5(_NAMESPACE, f"{community_id}/person_period/{person_id}/{period_id}/party_score")


def base_entry_id(period_id: uuid.UUID, person_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, f"base/{period_id}/{person_id}")


def source_entry_id(
    period_id: uuid.UUID, person_id: uuid.UUID, item_code: str, source_type: str, source_id: str
) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, f"source/{period_id}/{person_id}/{item_code}/{source_type}/{source_id}")


def comparison_entry_id(period_id: uuid.UUID, person_id: uuid.UUID, item_code: str) -> uuid.UUID:
    return source_entry_id(period_id, person_id, item_code, "comparison", item_code)


def transfer_id(entry_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(entry_id, "transfer")


def reversal_id(entry_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(entry_id, "reversal")
