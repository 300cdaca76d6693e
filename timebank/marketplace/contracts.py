"""Wire types of the three lists and the order cycle: requests refuse unknown fields and carry their limits; each
response is built from its domain record attribute by attribute. Edits send only the fields they change."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal, Self

import msgspec

from timebank.marketplace.model import Category

#: PostgreSQL text cannot hold NUL, so no text field may carry one (refused as 400, never a 500).
NO_NUL = r"^[^\x00]*$"
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=NO_NUL)]
LongText = Annotated[str, msgspec.Meta(max_length=2000, pattern=NO_NUL)]
Note = Annotated[str, msgspec.Meta(max_length=500, pattern=NO_NUL)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=500, pattern=NO_NUL)]
Skill = Annotated[str, msgspec.Meta(min_length=1, max_length=32, pattern=NO_NUL)]
Skills = Annotated[list[Skill], msgspec.Meta(max_length=20)]
Schedule = Annotated[str, msgspec.Meta(max_length=200, pattern=NO_NUL)]
Comment = Annotated[str, msgspec.Meta(max_length=1000, pattern=NO_NUL)]
Url = Annotated[str, msgspec.Meta(pattern=r"^https?://[^\s\x00]+$", max_length=500)]
Urls = Annotated[list[Url], msgspec.Meta(max_length=9)]
Minutes = Annotated[int, msgspec.Meta(ge=0, le=14400, description="minutes (at most ten days)")]
Weekday = Annotated[int, msgspec.Meta(ge=1, le=7, description="ISO weekday, 1 = Monday")]
Rating = Annotated[int, msgspec.Meta(ge=1, le=5)]
OwnerKind = Literal["unit", "team", "person", "community"]
WorkerKind = Literal["person", "team", "unit"]
Unset = msgspec.UnsetType
UNSET = msgspec.UNSET


class _Request(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    def changes(self) -> dict[str, Any]:
        """The fields the request sets (edits send only what they change)."""
        return {
            name: tuple(value) if isinstance(value, list) else value
            for name in self.__struct_fields__
            if (value := getattr(self, name)) is not UNSET
        }


class _Response(msgspec.Struct, frozen=True, kw_only=True):
    @classmethod
    def of(cls, value: Any) -> Self:
        return msgspec.convert(value, cls, from_attributes=True)


class Page(msgspec.Struct, frozen=True, kw_only=True):
    #: Pass as ``before`` for the next page; null on the last.
    next_before: uuid.UUID | None


# -- resources ---------------------------------------------------------------------------------------------------
class ResourcePublishRequest(_Request, kw_only=True):
    id: uuid.UUID
    owner_kind: OwnerKind
    owner_id: uuid.UUID | None = None
    category: Category
    title: Title
    detail: LongText = ""
    skills: Skills = msgspec.field(default_factory=list)
    capacity: Annotated[int, msgspec.Meta(ge=1, le=1000, description="orders it can take at once")] = 1
    schedule: Schedule = ""
    weekdays: Annotated[list[Weekday], msgspec.Meta(min_length=1, max_length=7)] = msgspec.field(
        default_factory=lambda: [1, 2, 3, 4, 5, 6, 7]
    )
    available_from: date | None = None
    available_until: date | None = None
    compound_id: uuid.UUID | None = None
    building_id: uuid.UUID | None = None


class ResourceEditRequest(_Request, kw_only=True):
    category: Category | Unset = UNSET
    title: Title | Unset = UNSET
    detail: LongText | Unset = UNSET
    skills: Skills | Unset = UNSET
    capacity: Annotated[int, msgspec.Meta(ge=1, le=1000)] | Unset = UNSET
    schedule: Schedule | Unset = UNSET
    weekdays: Annotated[list[Weekday], msgspec.Meta(min_length=1, max_length=7)] | Unset = UNSET
    available_from: date | Unset | None = UNSET
    available_until: date | Unset | None = UNSET
    compound_id: uuid.UUID | Unset | None = UNSET
    building_id: uuid.UUID | Unset | None = UNSET
    status: Literal["published", "withdrawn"] | Unset = UNSET


class ResourceResponse(_Response, frozen=True, kw_only=True):
    id: uuid.UUID
    community_id: uuid.UUID
    owner_kind: str
    owner_id: uuid.UUID | None
    category: str
    title: str
    detail: str
    skills: list[str]
    capacity: int
    schedule: str
    weekdays: list[int]
    available_from: date | None
    available_until: date | None
    compound_id: uuid.UUID | None
    building_id: uuid.UUID | None
    status: str
    created_at: datetime
    updated_at: datetime


class ResourcePage(Page, frozen=True, kw_only=True):
    items: list[ResourceResponse]


# -- needs and micro-wishes --------------------------------------------------------------------------------------
class NeedRaiseRequest(_Request, kw_only=True):
    id: uuid.UUID
    kind: Literal["need", "micro_wish"] = "need"
    category: Category
    title: Title
    description: LongText = ""
    skills: Skills = msgspec.field(default_factory=list)
    requester_id: uuid.UUID | None = None
    household_id: uuid.UUID | None = None
    building_id: uuid.UUID | None = None
    compound_id: uuid.UUID | None = None
    urgency: Literal["routine", "urgent", "emergency"] = "routine"
    preferred_from: datetime | None = None
    preferred_until: datetime | None = None
    est_minutes: Minutes = 60
    settlement: Literal["time_bank", "public_good", "none"] = "public_good"
    value_yuan: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)] | None = None
    source: Literal["resident", "grid_worker", "staff", "visit", "wall", "box", "school"] | None = None


class NeedResponse(_Response, frozen=True, kw_only=True):
    id: uuid.UUID
    community_id: uuid.UUID
    kind: str
    category: str
    title: str
    description: str
    skills: list[str]
    requester_id: uuid.UUID | None
    requester_name: str | None
    name_masked: bool
    household_id: uuid.UUID | None
    building_id: uuid.UUID | None
    compound_id: uuid.UUID | None
    urgency: str
    preferred_from: datetime | None
    preferred_until: datetime | None
    est_minutes: int
    settlement: str
    value_yuan: int | None
    source: str
    status: str
    raised_by: uuid.UUID | None
    raised_at: datetime
    reviewed_by: uuid.UUID | None
    reviewed_at: datetime | None
    review_note: str
    order_id: uuid.UUID | None


class NeedPage(Page, frozen=True, kw_only=True):
    items: list[NeedResponse]


class WishVerifyRequest(_Request, kw_only=True):
    note: Note = ""
    accept_by: datetime | None = None


class WishRejectRequest(_Request, kw_only=True):
    note: Reason


# -- orders ------------------------------------------------------------------------------------------------------
class OrderPlaceRequest(_Request, kw_only=True):
    id: uuid.UUID
    mode: Literal["directed", "open"]
    assignee_kind: WorkerKind | None = None
    assignee_id: uuid.UUID | None = None
    project_id: uuid.UUID | None = None
    accept_by: datetime | None = None


class OrderRedirectRequest(_Request, kw_only=True):
    mode: Literal["directed", "open"]
    assignee_kind: WorkerKind | None = None
    assignee_id: uuid.UUID | None = None
    accept_by: datetime | None = None


class ReasonRequest(_Request, kw_only=True):
    reason: Reason


class ClaimRequest(_Request, kw_only=True):
    id: uuid.UUID
    claimant_kind: WorkerKind = "person"
    claimant_id: uuid.UUID | None = None
    participants: Annotated[list[uuid.UUID], msgspec.Meta(max_length=50)] = msgspec.field(default_factory=list)


class DoneRequest(_Request, kw_only=True):
    minutes: Minutes
    proof_text: LongText = ""
    proof_urls: Urls = msgspec.field(default_factory=list)


class RatingRequest(_Request, kw_only=True):
    rating: Rating
    comment: Comment = ""


class ClaimResponse(_Response, frozen=True, kw_only=True):
    id: uuid.UUID
    claimant_kind: str
    claimant_id: uuid.UUID
    claimed_by: uuid.UUID
    status: str
    claimed_at: datetime
    ended_at: datetime | None
    end_reason: str | None
    hold_transfer_id: uuid.UUID | None
    participants: list[uuid.UUID]


class ScoreCreditResponse(_Response, frozen=True, kw_only=True):
    """What became of one party member's score bonus when the order closed."""

    person_id: uuid.UUID
    units: Annotated[int, msgspec.Meta(description="units of the party assessment's order_service item offered")]
    outcome: Annotated[
        str,
        msgspec.Meta(
            description="credited or capped; else nothing counted: withheld (rated below the policy's minimum), "
            "not_enrolled, no_open_period or not_in_catalogue"
        ),
    ]
    amount: Annotated[int, msgspec.Meta(description="party score counted in the member's period total")]
    entry_id: uuid.UUID | None


class OrderResponse(_Response, frozen=True, kw_only=True):
    id: uuid.UUID
    community_id: uuid.UUID
    need_id: uuid.UUID
    mode: str
    assignee_kind: str | None
    assignee_id: uuid.UUID | None
    project_id: uuid.UUID | None
    status: str
    tier: str
    tier_due_at: datetime
    accept_by: datetime
    policy_version: int
    created_by: uuid.UUID | None
    created_at: datetime
    accepted_at: datetime | None
    done_at: datetime | None
    done_minutes: int | None
    proof_text: str | None
    proof_urls: list[str]
    rating: int | None
    rating_comment: str | None
    rated_by: uuid.UUID | None
    closed_at: datetime | None
    cancelled_at: datetime | None
    credit_transfer_ids: list[uuid.UUID]
    score_credits: list[ScoreCreditResponse]
    claim: ClaimResponse | None


class OrderPage(Page, frozen=True, kw_only=True):
    items: list[OrderResponse]


class OrderEventResponse(_Response, frozen=True, kw_only=True):
    id: int
    action: str
    from_status: str | None
    to_status: str
    tier: str
    actor_id: uuid.UUID | None
    actor_subject: str
    detail: dict[str, Any] | None
    at: datetime


class WishReviewResponse(_Response, frozen=True, kw_only=True):
    need: NeedResponse
    order: OrderResponse | None


# -- projects ----------------------------------------------------------------------------------------------------
class ProjectPublishRequest(_Request, kw_only=True):
    id: uuid.UUID
    unit_id: uuid.UUID
    category: Category
    title: Title
    goal: LongText = ""
    starts_on: date
    ends_on: date
    slots: Annotated[int, msgspec.Meta(ge=1, le=10000)]
    points_budget: Annotated[int, msgspec.Meta(ge=0, le=100_000_000)] | None = None
    skills: Skills = msgspec.field(default_factory=list)
    compound_id: uuid.UUID | None = None
    building_id: uuid.UUID | None = None
    status: Literal["proposed", "active"] = "active"


class ProjectEditRequest(_Request, kw_only=True):
    category: Category | Unset = UNSET
    title: Title | Unset = UNSET
    goal: LongText | Unset = UNSET
    starts_on: date | Unset = UNSET
    ends_on: date | Unset = UNSET
    slots: Annotated[int, msgspec.Meta(ge=1, le=10000)] | Unset = UNSET
    points_budget: Annotated[int, msgspec.Meta(ge=0, le=100000000)] | Unset | None = UNSET
    skills: Skills | Unset = UNSET
    status: Literal["proposed", "active", "completed", "closed"] | Unset = UNSET


class ProjectUpdateRequest(_Request, kw_only=True):
    id: uuid.UUID
    body: Annotated[str, msgspec.Meta(min_length=1, max_length=2000, pattern=NO_NUL)]
    progress_percent: Annotated[int, msgspec.Meta(ge=0, le=100)] | None = None
    photo_urls: Urls = msgspec.field(default_factory=list)


class ProjectUpdateResponse(_Response, frozen=True, kw_only=True):
    id: uuid.UUID
    project_id: uuid.UUID
    body: str
    progress_percent: int | None
    photo_urls: list[str]
    posted_by: uuid.UUID | None
    posted_at: datetime


class ProjectResponse(_Response, frozen=True, kw_only=True):
    id: uuid.UUID
    community_id: uuid.UUID
    unit_id: uuid.UUID
    category: str
    title: str
    goal: str
    starts_on: date
    ends_on: date
    slots: int
    slots_taken: int
    points_budget: int | None
    points_spent: int
    skills: list[str]
    compound_id: uuid.UUID | None
    building_id: uuid.UUID | None
    status: str
    progress_percent: int
    created_at: datetime
    updated_at: datetime


class ProjectDetailResponse(ProjectResponse, frozen=True, kw_only=True):
    updates: list[ProjectUpdateResponse]


class ProjectPage(Page, frozen=True, kw_only=True):
    items: list[ProjectResponse]


# -- matching and metrics ----------------------------------------------------------------------------------------
class ReasonResponse(_Response, frozen=True, kw_only=True):
    #: Stable, for clients to translate; ``text`` says it in plain words.
    code: str
    text: str


class SuggestionResponse(_Response, frozen=True, kw_only=True):
    kind: Literal["member", "team", "unit", "resource", "project"]
    id: uuid.UUID
    name: str
    score: float
    fits: bool
    reasons: list[ReasonResponse]


class OpeningResponse(_Response, frozen=True, kw_only=True):
    need_id: uuid.UUID
    order_id: uuid.UUID | None
    kind: str
    title: str
    score: float
    reasons: list[ReasonResponse]


class FiguresResponse(_Response, frozen=True, kw_only=True):
    scope: Literal["community", "unit", "team"]
    id: uuid.UUID
    name: str
    community_id: uuid.UUID
    orders: int
    claimed: int
    closed: int
    wishes: int
    wishes_claimed: int
    claim_rate: float | None
    median_hours_to_claim: float | None
    median_hours_to_close: float | None
    rated: int
    mean_rating: float | None
    satisfied_share: float | None


# -- policy ------------------------------------------------------------------------------------------------------
Limit = Annotated[timedelta, msgspec.Meta(description="ISO 8601 duration, e.g. P3D")]


class PolicyWriteRequest(_Request, kw_only=True):
    version: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]
    valid_from: datetime
    wish_value_cap_yuan: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 300
    wish_claim_window: Limit = timedelta(days=14)
    compound_limit: Limit = timedelta(days=1)
    community_limit: Limit = timedelta(days=3)
    street_limit: Limit = timedelta(days=7)
    department_limit: Limit = timedelta(days=15)
    coins_per_minute: Annotated[int, msgspec.Meta(ge=0, le=100)] = 1
    points_per_hour: Annotated[int, msgspec.Meta(ge=0, le=1000)] = 1
    score_bonus: Annotated[int, msgspec.Meta(ge=0, le=100)] = 2
    bonus_min_rating: Rating = 3


class PolicyResponse(_Response, frozen=True, kw_only=True):
    community_id: uuid.UUID
    version: int
    valid_from: datetime
    wish_value_cap_yuan: int
    wish_claim_window: timedelta
    compound_limit: timedelta
    community_limit: timedelta
    street_limit: timedelta
    department_limit: timedelta
    coins_per_minute: int
    points_per_hour: int
    score_bonus: int
    bonus_min_rating: int
