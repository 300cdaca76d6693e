"""The double-entry ledger: every hour, coin, point and score in timebank is a transfer here.

Capabilities that must write transfers atomically with rows of their own (an order and its hold, a period and its
score accounts) call :func:`write_batch` and :func:`insert_accounts` on their own transaction; everything else goes
through :class:`LedgerService`.
"""

from timebank.ledger.model import (
    MAX_BATCH,
    Account,
    AccountFlags,
    Asset,
    Code,
    NewAccount,
    Result,
    Transfer,
    TransferFlags,
    TransferRecord,
)
from timebank.ledger.service import LedgerService
from timebank.ledger.store import insert_accounts, write_batch

__all__ = [
    "MAX_BATCH",
    "Account",
    "AccountFlags",
    "Asset",
    "Code",
    "LedgerService",
    "NewAccount",
    "Result",
    "Transfer",
    "TransferFlags",
    "TransferRecord",
    "insert_accounts",
    "write_batch",
]
