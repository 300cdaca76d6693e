"""The points mall's records: policy, stations, items with their stock, orders, returns, donations and grants.

Plain data, no I/O. Points are integers; quantities are whole pieces.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

__all__ = [
    "ITEM_MUTABLE",
    "LOCAL_TIME",
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
    "Policy",
    "Return",
    "Source",
    "Station",
]

#: Day and month limits, ages and "today" are reckoned in the communities' own time.
LOCAL_TIME = ZoneInfo("Asia/Shanghai")


class OrderStatus(StrEnum):
    placed = "placed"
    approved = "approved"
    picked_up = "picked_up"
    rejected = "rejected"
    cancelled = "cancelled"
    expired = "expired"

    @property
    def open(self) -> bool:
        """Points still held and goods still reserved."""
        return self in (OrderStatus.placed, OrderStatus.approved)


class GrantStatus(StrEnum):
    requested = "requested"
    approved = "approved"
    issued = "issued"
    rejected = "rejected"
    cancelled = "cancelled"


class Category(StrEnum):
    grain_oil = "grain_oil"
    daily_goods = "daily_goods"
    health = "health"
    vouchers = "vouchers"
    services = "services"
    clothing = "clothing"
    books = "books"
    toys = "toys"
    other = "other"


class Source(StrEnum):
    purchased = "purchased"
    partner_donated = "partner_donated"
    resident_donated = "resident_donated"


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    """A community's mall rules in force; ``version`` None means no policy was set and these defaults apply."""

    community_id: uuid.UUID
    version: int | None = None
    effective_from: datetime | None = None
    auto_approve_max_points: int = 0
    pickup_window_seconds: int = 86400
    donation_reward_points: int = 0
    donation_reward_monthly_cap: int | None = None
    points_validity_days: int | None = None
    expiry_notice_days: int = 30


@dataclass(frozen=True, slots=True, kw_only=True)
class Station:
    id: uuid.UUID
    community_id: uuid.UUID
    name: str
    opening_hours: str


@dataclass(frozen=True, slots=True, kw_only=True)
class NewItem:
    """A catalogue entry to create; ``id`` is the client's idempotency key."""

    id: uuid.UUID
    station_id: uuid.UUID
    name: str
    category: Category
    price_points: int
    source: Source
    partner_unit_id: uuid.UUID | None = None
    unit_cost_fen: int | None = None
    image_url: str | None = None
    limit_per_day: int | None = None
    limit_per_month: int | None = None
    limit_per_person: int | None = None
    available_from: datetime | None = None
    available_until: datetime | None = None
    min_age: int | None = None
    max_age: int | None = None
    household_kinds: tuple[str, ...] | None = None
    listed: bool = True


#: What staff may change on an item after it is created (every change is audited with before and after).
ITEM_MUTABLE = (
    "name",
    "category",
    "price_points",
    "image_url",
    "unit_cost_fen",
    "limit_per_day",
    "limit_per_month",
    "limit_per_person",
    "available_from",
    "available_until",
    "min_age",
    "max_age",
    "household_kinds",
    "listed",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Item:
    id: uuid.UUID
    community_id: uuid.UUID
    station_id: uuid.UUID
    name: str
    category: str
    price_points: int
    image_url: str | None
    source: str
    partner_unit_id: uuid.UUID | None
    unit_cost_fen: int | None
    limit_per_day: int | None
    limit_per_month: int | None
    limit_per_person: int | None
    available_from: datetime | None
    available_until: datetime | None
    min_age: int | None
    max_age: int | None
    household_kinds: tuple[str, ...] | None
    listed: bool
    on_hand: int
    reserved: int

    @property
    def available(self) -> int:
        """Pieces that can still be ordered or granted."""
        return self.on_hand - self.reserved


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderLine:
    item_id: uuid.UUID
    quantity: int
    unit_points: int
    picked_quantity: int
    returned_quantity: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Order:
    id: uuid.UUID
    community_id: uuid.UUID
    station_id: uuid.UUID
    person_id: uuid.UUID
    placed_by: uuid.UUID | None
    status: OrderStatus
    total_points: int
    posted_points: int | None
    hold_transfer_id: uuid.UUID
    policy_version: int | None
    expires_at: datetime
    code_attempt: int
    placed_at: datetime
    approved_at: datetime | None
    approved_by: uuid.UUID | None
    closed_at: datetime | None
    closed_by: uuid.UUID | None
    close_reason: str | None
    lines: tuple[OrderLine, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Return:
    id: uuid.UUID
    community_id: uuid.UUID
    order_id: uuid.UUID
    item_id: uuid.UUID
    quantity: int
    points: int
    reason: str
    refund_transfer_id: uuid.UUID
    actor_id: uuid.UUID | None
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class DonationLine:
    item_id: uuid.UUID
    accepted: int
    rejected: int
    condition: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Donation:
    id: uuid.UUID
    community_id: uuid.UUID
    station_id: uuid.UUID
    donor_person_id: uuid.UUID | None
    donor_unit_id: uuid.UUID | None
    received_by: uuid.UUID | None
    public_acknowledge: bool
    reward_points: int
    reward_transfer_id: uuid.UUID | None
    policy_version: int | None
    note: str
    at: datetime
    lines: tuple[DonationLine, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class GrantLine:
    item_id: uuid.UUID
    quantity: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Grant:
    id: uuid.UUID
    community_id: uuid.UUID
    station_id: uuid.UUID
    household_id: uuid.UUID
    reason: str
    status: GrantStatus
    requested_by: uuid.UUID | None
    requested_at: datetime
    decided_by: uuid.UUID | None
    decided_at: datetime | None
    issued_at: datetime | None
    signed_by: str | None
    lines: tuple[GrantLine, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpiryNotice:
    id: uuid.UUID
    community_id: uuid.UUID
    person_id: uuid.UUID
    amount: int
    earned_until: datetime
    due_at: datetime
    policy_version: int
    noticed_at: datetime
