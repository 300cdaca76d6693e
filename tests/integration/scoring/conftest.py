"""The ledger service on the session's database, for reading balances the assessment posted."""

from __future__ import annotations

import pytest

from timebank.db import Database
from timebank.ledger import LedgerService


@pytest.fixture(name="ledger", scope="session")
def fx_ledger(database: Database) -> LedgerService:
    return LedgerService(database.pool)
