"""Wire types of the volunteering and time bank API: requests refuse unknown fields and carry their limits; each
response is built from its domain record attribute by attribute."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal, Self

import msgspec

from timebank.volunteering.policy import PolicyRules

Text = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Tag = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
Note = Annotated[str, msgspec.Meta(max_length=500)]
CoinMinutes = Annotated[int, msgspec.Meta(ge=1, le=10_000_000, description="Time coins in minutes (60 = one coin)")]
Cap = Annotated[int, msgspec.Meta(ge=0, le=100_000_000)] | None
AssetName = Literal["service_minutes", "time_coins", "points", "party_score"]


class _Request(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class _Response(msgspec.Struct, frozen=True, kw_only=True):
    @classmethod
    def of(cls, value: Any) -> Self:
        return msgspec.convert(value, cls, from_attributes=True)


# -- activities, sign-ups, attendance ---------------------------------------------------------------------------
class ActivityPublishRequest(_Request, kw_only=True):
    id: uuid.UUID
    title: Text
    category: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    place: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    starts_at: datetime
    ends_at: datetime
    capacity: Annotated[int, msgspec.Meta(ge=1, le=10_000)]
    leader_id: uuid.UUID
    organiser: Text
    content: Annotated[str, msgspec.Meta(max_length=1000)] = ""
    skills_wanted: Annotated[list[Tag], msgspec.Meta(max_length=20)] = msgspec.field(default_factory=list)
    tags: Annotated[list[Tag], msgspec.Meta(max_length=20)] = msgspec.field(default_factory=list)
    serves_kind: Literal["need", "project"] | None = None
    serves_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None
    team_service: bool = False


class ActivityResponse(_Response, frozen=True, kw_only=True):
    id: uuid.UUID
    community_id: uuid.UUID
    title: str
    category: str
    content: str
    place: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    enrolled: int
    waitlisted: int
    skills_wanted: list[str]
    tags: list[str]
    serves_kind: str | None
    serves_id: uuid.UUID | None
    team_id: uuid.UUID | None
    team_service: bool
    leader_id: uuid.UUID
    organiser: str
    status: str


class SignupRequest(_Request, kw_only=True):
    person_id: uuid.UUID


class SignupResponse(_Response, frozen=True, kw_only=True):
    id: uuid.UUID
    activity_id: uuid.UUID
    person_id: uuid.UUID
    status: str
    queued_at: datetime
    checked_in_at: datetime | None
    checked_out_at: datetime | None
    attendance_by: str | None


class RosterEntryResponse(SignupResponse, frozen=True, kw_only=True):
    name: str
    waitlist_position: int | None


class CheckInCodeResponse(_Response, frozen=True, kw_only=True):
    """The QR payload the leader's phone shows; it rotates, and stops working at ``expires_at``."""

    payload: str
    activity_id: uuid.UUID
    expires_at: datetime


class ScanRequest(_Request, kw_only=True):
    person_id: uuid.UUID
    code: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class AttendanceRequest(_Request, kw_only=True):
    checked_in_at: datetime
    checked_out_at: datetime | None = None


class RosterConfirmRequest(_Request, kw_only=True):
    """Confirm these people (all enrolled when omitted)."""

    person_ids: Annotated[list[uuid.UUID], msgspec.Meta(max_length=1000)] | None = None


class ConfirmOutcomeResponse(_Response, frozen=True, kw_only=True):
    person_id: uuid.UUID
    outcome: str
    record_id: uuid.UUID | None
    anomalies: list[str]


# -- records and corrections ------------------------------------------------------------------------------------
class ServiceRecordResponse(_Response, frozen=True, kw_only=True):
    """A volunteer service record as the national rules list it: who, what, where, when, how long, who recorded and
    who certified it."""

    id: uuid.UUID
    community_id: uuid.UUID
    activity_id: uuid.UUID
    person_id: uuid.UUID
    corrects_id: uuid.UUID | None
    activity_title: str
    category: str
    content: str
    place: str
    organiser: str
    leader_id: uuid.UUID
    started_at: datetime
    ended_at: datetime | None
    service_day: date
    minutes: int | None
    status: str
    anomalies: list[str]
    certified_by: uuid.UUID
    certified_at: datetime
    approved_by: uuid.UUID | None
    approved_at: datetime | None
    policy_version: int | None
    note: str
    party_score_units: Annotated[
        int | None,
        msgspec.Meta(description="units of the party assessment's volunteer_hour item the policy priced (0: none)"),
    ]
    party_score_outcome: Annotated[
        str | None,
        msgspec.Meta(
            description="what the party assessment answered on crediting: credited, capped, replayed, not_enrolled, "
            "no_open_period or not_in_catalogue (nothing scored then)"
        ),
    ]
    party_score: Annotated[int | None, msgspec.Meta(description="party score the assessment counted")]


class ApproveRequest(_Request, kw_only=True):
    record_ids: Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=500)]
    acknowledge_anomalies: bool = False


class ApprovalOutcomeResponse(_Response, frozen=True, kw_only=True):
    record_id: uuid.UUID
    status: str | None
    problem: str | None
    detail: str | None


class AmendRequest(_Request, kw_only=True):
    started_at: datetime
    ended_at: datetime
    note: Note = ""


class RejectRequest(_Request, kw_only=True):
    note: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class CorrectionRequest(_Request, kw_only=True):
    id: uuid.UUID
    started_at: datetime
    ended_at: datetime
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class CorrectionResponse(_Response, frozen=True, kw_only=True):
    id: uuid.UUID
    record_id: uuid.UUID
    requested_by: uuid.UUID
    started_at: datetime
    ended_at: datetime
    reason: str
    status: str
    corrected_record_id: uuid.UUID | None
    decided_by: uuid.UUID | None
    decided_at: datetime | None
    outcome: str


# -- policy -----------------------------------------------------------------------------------------------------
class PolicyWriteRequest(_Request, kw_only=True):
    """A new version of the earning policy. Coin amounts are minutes of coin (60 = one coin); a null cap is none."""

    version: Annotated[int, msgspec.Meta(ge=1, le=100_000)]
    valid_from: datetime
    valid_until: datetime | None = None
    rounding_minutes: Annotated[int, msgspec.Meta(ge=1, le=60)] = 15
    rounding_mode: Literal["down", "nearest", "up"] = "down"
    coin_minutes_per_hour: Annotated[int, msgspec.Meta(ge=0, le=600)] = 60
    points_per_hour: Annotated[int, msgspec.Meta(ge=0, le=1000)] = 1
    party_score_per_hour: Annotated[int, msgspec.Meta(ge=0, le=100)] = 1
    party_score_tags: Annotated[list[Tag], msgspec.Meta(max_length=50)] = msgspec.field(default_factory=list)
    coin_daily_cap: Cap = 120
    coin_lifetime_cap: Cap = 36_000
    coin_storage_cap: Cap = 90_000
    max_daily_service_minutes: Annotated[int, msgspec.Meta(ge=1, le=1440)] = 720
    team_coins_donation_only: bool = True
    redeem_age: Annotated[int, msgspec.Meta(ge=0, le=120)] = 65
    redeem_age_hardship: Annotated[int, msgspec.Meta(ge=0, le=120)] = 60
    auto_approve: bool = False
    trade_window_days: Annotated[int, msgspec.Meta(ge=0, le=366)] = 30
    note: Note = ""

    def rules(self) -> PolicyRules:
        values = msgspec.structs.asdict(self)
        for key in ("version", "valid_from", "valid_until"):
            del values[key]
        values["party_score_tags"] = tuple(values["party_score_tags"])
        return PolicyRules(**values)


class PolicyResponse(_Response, frozen=True, kw_only=True):
    community_id: uuid.UUID
    version: int
    valid_from: datetime
    valid_until: datetime | None
    rounding_minutes: int
    rounding_mode: str
    coin_minutes_per_hour: int
    points_per_hour: int
    party_score_per_hour: int
    party_score_tags: list[str]
    coin_daily_cap: int | None
    coin_lifetime_cap: int | None
    coin_storage_cap: int | None
    max_daily_service_minutes: int
    team_coins_donation_only: bool
    redeem_age: int
    redeem_age_hardship: int
    auto_approve: bool
    trade_window_days: int
    note: str


# -- the time bank ------------------------------------------------------------------------------------------------
class GiftRequest(_Request, kw_only=True):
    id: uuid.UUID
    from_person_id: uuid.UUID
    to_person_id: uuid.UUID
    amount: CoinMinutes
    memo: Annotated[str, msgspec.Meta(max_length=200)] = ""


class DonationRequest(_Request, kw_only=True):
    id: uuid.UUID
    person_id: uuid.UUID
    amount: CoinMinutes
    memo: Annotated[str, msgspec.Meta(max_length=200)] = ""


class GrantRequest(DonationRequest, kw_only=True):
    """A grant from the community's donation pool to ``person_id``."""


class MovementResponse(_Response, frozen=True, kw_only=True):
    id: uuid.UUID
    community_id: uuid.UUID
    kind: str
    from_person_id: uuid.UUID | None
    to_person_id: uuid.UUID | None
    amount: int
    transfer_id: uuid.UUID
    memo: str
    status: str
    created_at: datetime


class CoinAccountResponse(_Response, frozen=True, kw_only=True):
    person_id: uuid.UUID
    balance: int
    storage_cap: int | None
    may_redeem: bool
    redeem_age: int
    policy_version: int


class GrantCandidateResponse(_Response, frozen=True, kw_only=True):
    person_id: uuid.UUID
    name: str
    household_kind: str
    birth_date: date | None
    balance: int


# -- statements -----------------------------------------------------------------------------------------------------
class ActivityEarningsResponse(_Response, frozen=True, kw_only=True):
    activity_id: uuid.UUID
    title: str
    records: int
    service_minutes: int
    time_coins: int
    coins_to_pool: int
    points: int
    party_score: int


class MonthEarningsResponse(_Response, frozen=True, kw_only=True):
    person_id: uuid.UUID
    month: str
    activities: list[ActivityEarningsResponse]


class BalanceEntryResponse(_Response, frozen=True, kw_only=True):
    transfer_id: uuid.UUID
    at: datetime
    side: str
    amount: int
    code: int
    balance: int
    ref_type: str | None
    ref_id: uuid.UUID | None
    memo: str | None
