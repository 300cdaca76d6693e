"""The double-entry ledger: every hour, coin, point and score in timebank is a transfer here."""

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
]
