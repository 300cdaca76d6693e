"""Why the points mall or the mutual-aid station refused a request; each error names the rule it protects."""

from __future__ import annotations

from timebank.errors import Conflict, RuleViolation

__all__ = [
    "LimitReached",
    "NotEligible",
    "NotEnoughPoints",
    "OutOfStock",
    "PickupWindowPassed",
    "WrongState",
]


class OutOfStock(RuleViolation):
    """Goods cannot be reserved or issued beyond what is on hand and not already reserved."""

    code = "out-of-stock"
    title = "Not enough goods in stock"


class NotEnoughPoints(RuleViolation):
    """An order cannot hold more points than the resident has available (posted balance less other holds)."""

    code = "not-enough-points"
    title = "Not enough points"


class LimitReached(RuleViolation):
    """A person may order an item at most as often as its per-day, per-month and per-person limits allow."""

    code = "limit-reached"
    title = "Redemption limit reached"


class NotEligible(RuleViolation):
    """An item is offered only within its availability window and to the ages and household kinds it names."""

    code = "not-eligible"
    title = "Not eligible for this item"


class PickupWindowPassed(RuleViolation):
    """Goods are handed over only while the order's points are held; after the window the order expires."""

    code = "pickup-window-passed"
    title = "Pickup window has passed"


class WrongState(Conflict):
    """An order or grant moves only along its states (e.g. an order is approved before pickup, closed only once)."""

    code = "wrong-state"
    title = "Not possible in the current state"
