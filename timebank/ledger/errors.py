"""Ledger errors raised to callers of the single-transfer API; batch callers get per-item results instead."""

from __future__ import annotations

from timebank.errors import Conflict, RuleViolation

__all__ = ["TransferIdReused", "TransferRefused"]


class TransferRefused(RuleViolation):
    """The ledger refused the transfer; ``result`` names the rule (e.g. exceeds_credits, pending_expired)."""

    code = "transfer-refused"
    title = "Transfer refused"


class TransferIdReused(Conflict):
    """The transfer id was already used for a different transfer; ids are idempotency keys and never reused."""

    code = "transfer-id-reused"
    title = "Transfer id reused with different fields"
