"""Errors of the three lists and the order cycle, each naming the rule it protects."""

from __future__ import annotations

from timebank.errors import Conflict, RuleViolation

__all__ = [
    "AlreadyClaimed",
    "ClaimDeadlinePassed",
    "CoinsDoNotCover",
    "CoinsNotYetSpendable",
    "OrderNotInState",
    "WishOverValueCap",
]


class AlreadyClaimed(Conflict):
    """Someone else holds the live claim on this order; an order has one live claim at a time."""

    code = "already-claimed"
    title = "Order already claimed"


class OrderNotInState(Conflict):
    """The order's current status does not allow this step (e.g. rating an order that is not done)."""

    code = "order-not-in-state"
    title = "Order not in the required state"


class ClaimDeadlinePassed(RuleViolation):
    """The order had to be accepted before its deadline; staff may extend it by dispatching again."""

    code = "claim-deadline-passed"
    title = "Claim deadline passed"


class WishOverValueCap(RuleViolation):
    """A micro-wish is worth at most the community policy's cap (e.g. ¥300)."""

    code = "wish-over-value-cap"
    title = "Micro-wish over the value cap"


class CoinsDoNotCover(RuleViolation):
    """The requester's available time coins do not cover the help asked for; coins are held when it is claimed."""

    code = "coins-do-not-cover"
    title = "Time coins do not cover the order"


class CoinsNotYetSpendable(RuleViolation):
    """Time coins pay for help only from the earning policy's age gate (65, or 60 in a hardship household).

    Until then they are kept for later, as the time bank intends.
    """

    code = "coins-not-yet-spendable"
    title = "Time coins not yet spendable"
