"""The points mall (积分超市) and the mutual-aid station (邻里互助站).

Residents spend points on goods: an order holds the points on the ledger and reserves the goods in one
transaction; staff approve and hand the goods over against a pickup code, which posts the hold. Closing an order
any other way voids the hold and releases the goods. The station also takes donations in kind and grants goods to
households in need at zero points. Reconciliation checks goods and points against each other; an expiry job lets
old points lapse after a notice, where the community's policy says they expire.

Every function takes a connection the caller bound to the principal's communities (``timebank.db.bound``),
except the jobs (sweeper, expiry), which take the pool and bind every community themselves.
"""

from timebank.rewards.codes import PICKUP_KEY_PURPOSE, PickupCodes
from timebank.rewards.model import (
    Category,
    Donation,
    DonationLine,
    ExpiryNotice,
    Grant,
    GrantLine,
    GrantStatus,
    Item,
    NewItem,
    Order,
    OrderLine,
    OrderStatus,
    Policy,
    Return,
    Source,
    Station,
)

__all__ = [
    "PICKUP_KEY_PURPOSE",
    "Category",
    "Donation",
    "DonationLine",
    "ExpiryNotice",
    "Grant",
    "GrantLine",
    "GrantStatus",
    "Item",
    "NewItem",
    "Order",
    "OrderLine",
    "OrderStatus",
    "PickupCodes",
    "Policy",
    "Return",
    "Source",
    "Station",
]
