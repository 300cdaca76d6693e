"""Wire types of the points-mall API: requests refuse unknown fields; points and pieces are integers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from timebank.rewards.model import (
    Donation,
    ExpiryNotice,
    Grant,
    Item,
    Order,
    Policy,
    Return,
    Station,
)
from timebank.rewards.reconciliation import ItemBalance, PointsBalance, Reconciliation, StockCount

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Note = Annotated[str, msgspec.Meta(max_length=500)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
Points = Annotated[int, msgspec.Meta(ge=0, le=1_000_000, description="points (integer)")]
Pieces = Annotated[int, msgspec.Meta(ge=1, le=1000, description="pieces of one item")]
Limit = Annotated[int, msgspec.Meta(ge=1, le=100_000)]
Age = Annotated[int, msgspec.Meta(ge=0, le=150)]
Url = Annotated[str, msgspec.Meta(pattern=r"^https?://\S+$", max_length=500)]
PickupDigits = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{6}$", description="the six-digit pickup code")]
QrPayload = Annotated[str, msgspec.Meta(min_length=1, max_length=200, description="the scanned QR payload")]
Category = Literal["grain_oil", "daily_goods", "health", "vouchers", "services", "clothing", "books", "toys", "other"]
Source = Literal["purchased", "partner_donated", "resident_donated"]
HouseholdKind = Literal["ordinary", "solitary_elder", "bereaved_elder", "hardship", "disabled", "veteran"]
Condition = Literal["new", "good", "usable"]


class _Request(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class _Response(msgspec.Struct, frozen=True, kw_only=True):
    pass


class StationCreateRequest(_Request, kw_only=True):
    id: uuid.UUID
    name: Name
    opening_hours: Annotated[str, msgspec.Meta(max_length=200)] = ""


class StationResponse(_Response, frozen=True, kw_only=True):
    id: uuid.UUID
    community_id: uuid.UUID
    name: str
    opening_hours: str

    @classmethod
    def of(cls, station: Station) -> StationResponse:
        return cls(
            id=station.id, community_id=station.community_id, name=station.name, opening_hours=station.opening_hours
        )


class ItemCreateRequest(_Request, kw_only=True):
    """A catalogue entry. Price 0: given only as a grant. Goods donated by a partner unit name the unit."""

    id: uuid.UUID
    name: Name
    category: Category
    price_points: Points
    source: Source
    partner_unit_id: uuid.UUID | None = None
    unit_cost_fen: Annotated[int, msgspec.Meta(ge=0, le=10**9)] | None = None
    image_url: Url | None = None
    limit_per_day: Limit | None = None
    limit_per_month: Limit | None = None
    limit_per_person: Limit | None = None
    available_from: datetime | None = None
    available_until: datetime | None = None
    min_age: Age | None = None
    max_age: Age | None = None
    household_kinds: Annotated[list[HouseholdKind], msgspec.Meta(min_length=1, max_length=6)] | None = None
    listed: bool = True


class ItemUpdateRequest(_Request, kw_only=True):
    """Only the fields present change; ``null`` clears a limit, window or rule."""

    name: Name | msgspec.UnsetType = msgspec.UNSET
    category: Category | msgspec.UnsetType = msgspec.UNSET
    price_points: Points | msgspec.UnsetType = msgspec.UNSET
    image_url: Url | msgspec.UnsetType | None = msgspec.UNSET
    unit_cost_fen: Annotated[int, msgspec.Meta(ge=0, le=10**9)] | msgspec.UnsetType | None = msgspec.UNSET
    limit_per_day: Limit | msgspec.UnsetType | None = msgspec.UNSET
    limit_per_month: Limit | msgspec.UnsetType | None = msgspec.UNSET
    limit_per_person: Limit | msgspec.UnsetType | None = msgspec.UNSET
    available_from: datetime | msgspec.UnsetType | None = msgspec.UNSET
    available_until: datetime | msgspec.UnsetType | None = msgspec.UNSET
    min_age: Age | msgspec.UnsetType | None = msgspec.UNSET
    max_age: Age | msgspec.UnsetType | None = msgspec.UNSET
    household_kinds: (
        Annotated[list[HouseholdKind], msgspec.Meta(min_length=1, max_length=6)] | msgspec.UnsetType | None
    ) = msgspec.UNSET
    listed: bool | msgspec.UnsetType = msgspec.UNSET

    def changes(self) -> dict[str, object]:
        values: dict[str, object] = {}
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if value is not msgspec.UNSET:
                values[name] = tuple(value) if isinstance(value, list) else value
        return values


class ItemResponse(_Response, frozen=True, kw_only=True):
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
    household_kinds: list[str] | None
    listed: bool
    on_hand: int
    reserved: int
    available: int

    @classmethod
    def of(cls, item: Item) -> ItemResponse:
        return cls(
            id=item.id,
            community_id=item.community_id,
            station_id=item.station_id,
            name=item.name,
            category=item.category,
            price_points=item.price_points,
            image_url=item.image_url,
            source=item.source,
            partner_unit_id=item.partner_unit_id,
            unit_cost_fen=item.unit_cost_fen,
            limit_per_day=item.limit_per_day,
            limit_per_month=item.limit_per_month,
            limit_per_person=item.limit_per_person,
            available_from=item.available_from,
            available_until=item.available_until,
            min_age=item.min_age,
            max_age=item.max_age,
            household_kinds=None if item.household_kinds is None else list(item.household_kinds),
            listed=item.listed,
            on_hand=item.on_hand,
            reserved=item.reserved,
            available=item.available,
        )


class StockMovementRequest(_Request, kw_only=True):
    """Goods bought in, or written off (spoiled, lost); ``id`` makes a retry move stock once."""

    id: uuid.UUID
    kind: Literal["purchase_in", "writeoff"]
    quantity: Annotated[int, msgspec.Meta(ge=1, le=100_000)]
    note: Note = ""


class StockCountRequest(_Request, kw_only=True):
    id: uuid.UUID
    counted: Annotated[int, msgspec.Meta(ge=0, le=10_000_000)]
    note: Note = ""


class StockCountResponse(_Response, frozen=True, kw_only=True):
    id: uuid.UUID
    item_id: uuid.UUID
    expected: int
    counted: int
    difference: int
    counted_by: uuid.UUID | None
    note: str
    at: datetime

    @classmethod
    def of(cls, count: StockCount) -> StockCountResponse:
        return cls(
            id=count.id,
            item_id=count.item_id,
            expected=count.expected,
            counted=count.counted,
            difference=count.difference,
            counted_by=count.counted_by,
            note=count.note,
            at=count.at,
        )


class PolicyRequest(_Request, kw_only=True):
    """The next version of the community's mall rules; it takes effect at ``effective_from`` (now if absent)."""

    version: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]
    effective_from: datetime | None = None
    auto_approve_max_points: Points = 0
    pickup_window_seconds: Annotated[int, msgspec.Meta(ge=60, le=2_592_000)] = 86400
    donation_reward_points: Annotated[int, msgspec.Meta(ge=0, le=100_000)] = 0
    donation_reward_monthly_cap: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)] | None = None
    points_validity_days: Annotated[int, msgspec.Meta(ge=1, le=3650)] | None = None
    expiry_notice_days: Annotated[int, msgspec.Meta(ge=0, le=365)] = 30

    def policy(self, community_id: uuid.UUID) -> Policy:
        return Policy(
            community_id=community_id,
            version=self.version,
            effective_from=self.effective_from,
            auto_approve_max_points=self.auto_approve_max_points,
            pickup_window_seconds=self.pickup_window_seconds,
            donation_reward_points=self.donation_reward_points,
            donation_reward_monthly_cap=self.donation_reward_monthly_cap,
            points_validity_days=self.points_validity_days,
            expiry_notice_days=self.expiry_notice_days,
        )


class PolicyResponse(_Response, frozen=True, kw_only=True):
    """The rules in force; ``version`` null means none were set and these are the defaults."""

    community_id: uuid.UUID
    version: int | None
    effective_from: datetime | None
    auto_approve_max_points: int
    pickup_window_seconds: int
    donation_reward_points: int
    donation_reward_monthly_cap: int | None
    points_validity_days: int | None
    expiry_notice_days: int

    @classmethod
    def of(cls, policy: Policy) -> PolicyResponse:
        return cls(**{name: getattr(policy, name) for name in cls.__struct_fields__})


class OrderLineRequest(_Request, kw_only=True):
    item_id: uuid.UUID
    quantity: Pieces


class OrderCreateRequest(_Request, kw_only=True):
    """An order at a station; ``person_id`` spends the points (yourself, or a relative you act for)."""

    id: uuid.UUID
    person_id: uuid.UUID
    lines: Annotated[list[OrderLineRequest], msgspec.Meta(min_length=1, max_length=50)]


class OrderLineResponse(_Response, frozen=True, kw_only=True):
    item_id: uuid.UUID
    quantity: int
    unit_points: int
    picked_quantity: int
    returned_quantity: int


class OrderResponse(_Response, frozen=True, kw_only=True):
    """An order. The pickup code and QR payload show only to the person and those acting for them, once approved."""

    id: uuid.UUID
    community_id: uuid.UUID
    station_id: uuid.UUID
    person_id: uuid.UUID
    placed_by: uuid.UUID | None
    status: str
    total_points: int
    posted_points: int | None
    hold_transfer_id: uuid.UUID
    policy_version: int | None
    expires_at: datetime
    placed_at: datetime
    approved_at: datetime | None
    approved_by: uuid.UUID | None
    closed_at: datetime | None
    closed_by: uuid.UUID | None
    close_reason: str | None
    lines: list[OrderLineResponse]
    pickup_code: str | None = None
    pickup_qr: str | None = None

    @classmethod
    def of(cls, order: Order, *, code: tuple[str, str] | None = None) -> OrderResponse:
        return cls(
            id=order.id,
            community_id=order.community_id,
            station_id=order.station_id,
            person_id=order.person_id,
            placed_by=order.placed_by,
            status=str(order.status),
            total_points=order.total_points,
            posted_points=order.posted_points,
            hold_transfer_id=order.hold_transfer_id,
            policy_version=order.policy_version,
            expires_at=order.expires_at,
            placed_at=order.placed_at,
            approved_at=order.approved_at,
            approved_by=order.approved_by,
            closed_at=order.closed_at,
            closed_by=order.closed_by,
            close_reason=order.close_reason,
            lines=[
                OrderLineResponse(
                    item_id=line.item_id,
                    quantity=line.quantity,
                    unit_points=line.unit_points,
                    picked_quantity=line.picked_quantity,
                    returned_quantity=line.returned_quantity,
                )
                for line in order.lines
            ],
            pickup_code=None if code is None else code[0],
            pickup_qr=None if code is None else code[1],
        )


class ReasonRequest(_Request, kw_only=True):
    reason: Reason


class CancelRequest(_Request, kw_only=True):
    reason: Note = ""


class CounterLookupRequest(_Request, kw_only=True):
    """The six digits the resident reads out, or the QR payload staff scanned: one of them."""

    code: PickupDigits | None = None
    qr: QrPayload | None = None


class TakenRequest(_Request, kw_only=True):
    item_id: uuid.UUID
    quantity: Annotated[int, msgspec.Meta(ge=0, le=1000)]


class HandOverRequest(_Request, kw_only=True):
    """Hand the goods over; ``taken`` lists pieces per item when fewer than ordered are taken (absent: all)."""

    code: PickupDigits | None = None
    qr: QrPayload | None = None
    taken: Annotated[list[TakenRequest], msgspec.Meta(max_length=50)] | None = None


class ReturnRequest(_Request, kw_only=True):
    id: uuid.UUID
    item_id: uuid.UUID
    quantity: Pieces
    reason: Reason


class ReturnResponse(_Response, frozen=True, kw_only=True):
    id: uuid.UUID
    order_id: uuid.UUID
    item_id: uuid.UUID
    quantity: int
    points: int
    reason: str
    refund_transfer_id: uuid.UUID
    actor_id: uuid.UUID | None
    at: datetime

    @classmethod
    def of(cls, done: Return) -> ReturnResponse:
        return cls(
            id=done.id,
            order_id=done.order_id,
            item_id=done.item_id,
            quantity=done.quantity,
            points=done.points,
            reason=done.reason,
            refund_transfer_id=done.refund_transfer_id,
            actor_id=done.actor_id,
            at=done.at,
        )


class DonationLineRequest(_Request, kw_only=True):
    item_id: uuid.UUID
    accepted: Annotated[int, msgspec.Meta(ge=0, le=10_000)]
    rejected: Annotated[int, msgspec.Meta(ge=0, le=10_000)] = 0
    condition: Condition


class DonationCreateRequest(_Request, kw_only=True):
    """Goods donated in kind, as inspected at intake; the donor is a resident or a partner unit."""

    id: uuid.UUID
    donor_person_id: uuid.UUID | None = None
    donor_unit_id: uuid.UUID | None = None
    lines: Annotated[list[DonationLineRequest], msgspec.Meta(min_length=1, max_length=50)]
    public_acknowledge: bool = True
    note: Note = ""


class DonationLineResponse(_Response, frozen=True, kw_only=True):
    item_id: uuid.UUID
    accepted: int
    rejected: int
    condition: str


class DonationResponse(_Response, frozen=True, kw_only=True):
    id: uuid.UUID
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
    lines: list[DonationLineResponse]

    @classmethod
    def of(cls, d: Donation) -> DonationResponse:
        return cls(
            id=d.id,
            station_id=d.station_id,
            donor_person_id=d.donor_person_id,
            donor_unit_id=d.donor_unit_id,
            received_by=d.received_by,
            public_acknowledge=d.public_acknowledge,
            reward_points=d.reward_points,
            reward_transfer_id=d.reward_transfer_id,
            policy_version=d.policy_version,
            note=d.note,
            at=d.at,
            lines=[
                DonationLineResponse(
                    item_id=line.item_id, accepted=line.accepted, rejected=line.rejected, condition=line.condition
                )
                for line in d.lines
            ],
        )


class GrantLineRequest(_Request, kw_only=True):
    item_id: uuid.UUID
    quantity: Pieces


class GrantCreateRequest(_Request, kw_only=True):
    id: uuid.UUID
    household_id: uuid.UUID
    lines: Annotated[list[GrantLineRequest], msgspec.Meta(min_length=1, max_length=50)]
    reason: Reason


class IssueRequest(_Request, kw_only=True):
    signed_by: Annotated[str, msgspec.Meta(min_length=1, max_length=64, description="the recipient's signature")]


class GrantLineResponse(_Response, frozen=True, kw_only=True):
    item_id: uuid.UUID
    quantity: int


class GrantResponse(_Response, frozen=True, kw_only=True):
    id: uuid.UUID
    station_id: uuid.UUID
    household_id: uuid.UUID
    reason: str
    status: str
    requested_by: uuid.UUID | None
    requested_at: datetime
    decided_by: uuid.UUID | None
    decided_at: datetime | None
    issued_at: datetime | None
    signed_by: str | None
    lines: list[GrantLineResponse]

    @classmethod
    def of(cls, g: Grant) -> GrantResponse:
        return cls(
            id=g.id,
            station_id=g.station_id,
            household_id=g.household_id,
            reason=g.reason,
            status=str(g.status),
            requested_by=g.requested_by,
            requested_at=g.requested_at,
            decided_by=g.decided_by,
            decided_at=g.decided_at,
            issued_at=g.issued_at,
            signed_by=g.signed_by,
            lines=[GrantLineResponse(item_id=line.item_id, quantity=line.quantity) for line in g.lines],
        )


class ItemBalanceResponse(_Response, frozen=True, kw_only=True):
    item_id: uuid.UUID
    name: str
    source: str
    partner_unit_id: uuid.UUID | None
    opening: int
    received: int
    returned: int
    redeemed: int
    granted: int
    written_off: int
    count_adjusted: int
    closing: int
    on_hand: int
    reserved: int
    reserved_for_orders: int
    reserved_for_grants: int

    @classmethod
    def of(cls, b: ItemBalance) -> ItemBalanceResponse:
        return cls(**{name: getattr(b, name) for name in cls.__struct_fields__})


class PointsBalanceResponse(_Response, frozen=True, kw_only=True):
    held_at_start: int
    held: int
    posted: int
    released: int
    held_at_end: int
    refunded: int
    goods_out_points: int
    goods_returned_points: int
    open_orders_points: int

    @classmethod
    def of(cls, b: PointsBalance) -> PointsBalanceResponse:
        return cls(**{name: getattr(b, name) for name in cls.__struct_fields__})


class ReconciliationResponse(_Response, frozen=True, kw_only=True):
    """Goods and points of a station over a period; ``balanced`` when every check adds up."""

    station_id: uuid.UUID
    since: datetime
    until: datetime
    balanced: bool
    discrepancies: list[str]
    items: list[ItemBalanceResponse]
    points: PointsBalanceResponse

    @classmethod
    def of(cls, r: Reconciliation) -> ReconciliationResponse:
        return cls(
            station_id=r.station_id,
            since=r.since,
            until=r.until,
            balanced=r.balanced,
            discrepancies=list(r.discrepancies),
            items=[ItemBalanceResponse.of(item) for item in r.items],
            points=PointsBalanceResponse.of(r.points),
        )


class ExpiryNoticeResponse(_Response, frozen=True, kw_only=True):
    id: uuid.UUID
    person_id: uuid.UUID
    amount: int
    earned_until: datetime
    due_at: datetime
    policy_version: int
    noticed_at: datetime

    @classmethod
    def of(cls, n: ExpiryNotice) -> ExpiryNoticeResponse:
        return cls(
            id=n.id,
            person_id=n.person_id,
            amount=n.amount,
            earned_until=n.earned_until,
            due_at=n.due_at,
            policy_version=n.policy_version,
            noticed_at=n.noticed_at,
        )
