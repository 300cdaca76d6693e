"""Party-member assessment (党员积分 and 星级党员, with 三亮三比) on the ``party_score`` ledger.

Modules by use case: ``catalogue`` (versioned items, caps, thresholds), ``periods`` (open, enrol, close),
``recording`` (items recorded, reported, approved, reversed; appraisal and veto), ``campaign`` (三亮三比 displays,
pledges, 三评 reviews), ``ratings`` (draft, notice, objections, final list), ``boards`` (leaderboards and
breakdowns). Other capabilities credit party members through :func:`credit_item` (and take a credit back with
:func:`withdraw_credit`).
"""

from timebank.scoring.automatic import (
    AUTOMATIC_ITEMS,
    ORDER_SERVICE,
    VOLUNTEER_HOUR,
    Credit,
    CreditOutcome,
    Withdrawal,
    WithdrawalOutcome,
    credit_item,
    withdraw_credit,
)

__all__ = [
    "AUTOMATIC_ITEMS",
    "ORDER_SERVICE",
    "VOLUNTEER_HOUR",
    "Credit",
    "CreditOutcome",
    "Withdrawal",
    "WithdrawalOutcome",
    "credit_item",
    "withdraw_credit",
]
