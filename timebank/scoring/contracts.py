"""Wire types of the party-assessment API: requests refuse unknown fields and carry their bounds in the type."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal, TypeVar

import msgspec

from timebank.scoring.boards import BoardRow, Standing
from timebank.scoring.campaign import Display, Pledge, Review
from timebank.scoring.catalogue import NewCatalogue
from timebank.scoring.entries import Entry
from timebank.scoring.model import Catalogue, Item, ItemKind, ItemSource, ReviewerScope, ReviewWeights
from timebank.scoring.ratings import Objection, Rating, RatingList
from timebank.scoring.records import Period

T = TypeVar("T")
_NO_NUL = r"^[^\x00]*$"


def _text(max_length: int, *, min_length: int = 1) -> object:
    return msgspec.Meta(min_length=min_length, max_length=max_length, pattern=_NO_NUL)


Code = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{0,47}$", description="lower snake case")]
Kind = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z_]{0,31}$")]
Name = Annotated[str, _text(100)]
Note = Annotated[str, _text(500, min_length=0)]
Reason = Annotated[str, _text(500)]
LongReason = Annotated[str, _text(1000)]
Evidence = Annotated[list[Annotated[str, _text(500)]], msgspec.Meta(max_length=20)]
Percent = Annotated[int, msgspec.Meta(ge=0, le=100)]
Stars = Annotated[int, msgspec.Meta(ge=1, le=10)]
Quantity = Annotated[int, msgspec.Meta(ge=1, le=1000)]
MemberType = Literal["community_managed", "dual_registered", "property_company", "volunteer", "retired", "mobile"]


def view(value: object, type_: type[T]) -> T:
    """A domain record as its response type: fields are read by name, the rest of the record is left out."""
    return msgspec.convert(value, type_, from_attributes=True)


class _Request(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class _Response(msgspec.Struct, frozen=True, kw_only=True):
    pass


# -- catalogue ---------------------------------------------------------------------------------------------------
class ItemBody(_Request, kw_only=True):
    code: Code
    name: Name
    kind: Literal["bonus", "deduction"]
    source: Literal["manual", "automatic", "pledge", "comparison", "appraisal"]
    points: Annotated[int, msgspec.Meta(ge=1, le=1000, description="per unit; the most an appraisal gives")]
    cap: Annotated[int, msgspec.Meta(ge=1, le=100000, description="most per member and period")] | None = None
    evidence_required: bool = False
    reviewer: Literal["branch", "community"] = "branch"
    member_types: Annotated[list[MemberType], msgspec.Meta(max_length=6)] = msgspec.field(default_factory=list)

    def to_domain(self) -> Item:
        return Item(
            code=self.code,
            name=self.name,
            kind=ItemKind(self.kind),
            source=ItemSource(self.source),
            points=self.points,
            cap=self.cap,
            evidence_required=self.evidence_required,
            reviewer=ReviewerScope(self.reviewer),
            member_types=tuple(self.member_types),
        )


class CataloguePublishRequest(_Request, kw_only=True):
    """A catalogue version; it takes effect on ``effective_from``, after every earlier version's date."""

    id: uuid.UUID
    effective_from: date
    base_score: Annotated[int, msgspec.Meta(ge=0, le=1000)]
    items: Annotated[list[ItemBody], msgspec.Meta(min_length=1, max_length=200)]
    star_thresholds: Annotated[
        list[Annotated[int, msgspec.Meta(ge=-100000, le=100000)]],
        msgspec.Meta(min_length=1, max_length=9, description="least total for 2, 3, ... stars; ascending"),
    ] = msgspec.field(default_factory=lambda: [60, 70, 80, 90])
    period_cap: Annotated[int, msgspec.Meta(ge=1, le=100000)] | None = None
    notice_days: Annotated[int, msgspec.Meta(ge=1, le=30)] = 5
    leader_weight: Percent = 40
    peer_weight: Percent = 30
    resident_weight: Percent = 30
    pass_mark: Percent = 60
    show_kinds: Annotated[list[Kind], msgspec.Meta(min_length=1, max_length=10)] = msgspec.field(
        default_factory=lambda: ["identity", "pledge", "image"]
    )
    exempt_member_types: Annotated[list[MemberType], msgspec.Meta(max_length=6)] = msgspec.field(default_factory=list)

    def to_domain(self) -> NewCatalogue:
        return NewCatalogue(
            id=self.id,
            effective_from=self.effective_from,
            base_score=self.base_score,
            items=tuple(item.to_domain() for item in self.items),
            star_thresholds=tuple(self.star_thresholds),
            period_cap=self.period_cap,
            notice_days=self.notice_days,
            weights=ReviewWeights(leader=self.leader_weight, peer=self.peer_weight, resident=self.resident_weight),
            pass_mark=self.pass_mark,
            show_kinds=tuple(self.show_kinds),
            exempt_member_types=tuple(self.exempt_member_types),
        )


class ItemResponse(_Response, frozen=True, kw_only=True):
    code: str
    name: str
    kind: str
    source: str
    points: int
    cap: int | None
    evidence_required: bool
    reviewer: str
    member_types: list[str]


class CatalogueResponse(_Response, frozen=True, kw_only=True):
    id: uuid.UUID
    community_id: uuid.UUID
    version: int
    effective_from: date
    base_score: int
    period_cap: int | None
    star_thresholds: list[int]
    notice_days: int
    leader_weight: int
    peer_weight: int
    resident_weight: int
    pass_mark: int
    show_kinds: list[str]
    exempt_member_types: list[str]
    items: list[ItemResponse]

    @classmethod
    def of(cls, c: Catalogue) -> CatalogueResponse:
        return cls(
            id=c.id,
            community_id=c.community_id,
            version=c.version,
            effective_from=c.effective_from,
            base_score=c.base_score,
            period_cap=c.period_cap,
            star_thresholds=list(c.star_thresholds),
            notice_days=c.notice_days,
            leader_weight=c.weights.leader,
            peer_weight=c.weights.peer,
            resident_weight=c.weights.resident,
            pass_mark=c.pass_mark,
            show_kinds=list(c.show_kinds),
            exempt_member_types=list(c.exempt_member_types),
            items=[
                ItemResponse(
                    code=i.code,
                    name=i.name,
                    kind=i.kind.value,
                    source=i.source.value,
                    points=i.points,
                    cap=i.cap,
                    evidence_required=i.evidence_required,
                    reviewer=i.reviewer.value,
                    member_types=list(i.member_types),
                )
                for i in c.items
            ],
        )


# -- periods -----------------------------------------------------------------------------------------------------
class PeriodOpenRequest(_Request, kw_only=True):
    id: uuid.UUID
    name: Annotated[str, _text(32)]
    starts_on: date
    ends_on: date


class PeriodResponse(_Response, frozen=True, kw_only=True):
    id: uuid.UUID
    community_id: uuid.UUID
    name: str
    starts_on: date
    ends_on: date
    status: str
    opened_at: datetime
    closed_at: datetime | None

    @classmethod
    def of(cls, p: Period) -> PeriodResponse:
        return view(p, cls)


# -- entries -----------------------------------------------------------------------------------------------------
class EntryRecordRequest(_Request, kw_only=True):
    """The branch scores an item of the member's (its id is yours: recording again is a replay)."""

    id: uuid.UUID
    item_code: Code
    occurred_on: date
    quantity: Quantity = 1
    evidence: Evidence = msgspec.field(default_factory=list)
    note: Note = ""


class EntryReportRequest(_Request, kw_only=True):
    """The member reports an item of their own, with evidence, for the branch to decide."""

    id: uuid.UUID
    item_code: Code
    occurred_on: date
    quantity: Quantity = 1
    evidence: Evidence = msgspec.field(default_factory=list)
    note: Note = ""


class DecisionRequest(_Request, kw_only=True):
    note: Note = ""


class ReasonRequest(_Request, kw_only=True):
    reason: Reason


class AppraisalRequest(_Request, kw_only=True):
    points: Annotated[int, msgspec.Meta(ge=0, le=1000)]


class EntryResponse(_Response, frozen=True, kw_only=True):
    id: uuid.UUID
    period_id: uuid.UUID
    person_id: uuid.UUID
    kind: str
    item_code: str | None
    catalogue_id: uuid.UUID
    quantity: int
    requested: int
    amount: int
    capped: int
    source_type: str
    source_id: str | None
    occurred_on: date
    evidence: list[str]
    note: str
    status: str
    submitted_by: uuid.UUID | None
    decided_by: uuid.UUID | None
    decided_at: datetime | None
    decision_note: str
    transfer_id: uuid.UUID | None
    reversal_id: uuid.UUID | None
    created_at: datetime

    @classmethod
    def of(cls, e: Entry) -> EntryResponse:
        return view(e, cls)


class CardResponse(_Response, frozen=True, kw_only=True):
    period_id: uuid.UUID
    person_id: uuid.UUID
    account_id: uuid.UUID
    member_type: str
    branch_id: uuid.UUID | None
    group_id: uuid.UUID | None
    veto_reason: str | None


# -- 三亮三比 -----------------------------------------------------------------------------------------------------
class DisplayRequest(_Request, kw_only=True):
    content: Reason


class DisplayResponse(_Response, frozen=True, kw_only=True):
    person_id: uuid.UUID
    kind: str
    content: str
    published_at: datetime

    @classmethod
    def of(cls, d: Display) -> DisplayResponse:
        return view(d, cls)


class PledgeRequest(_Request, kw_only=True):
    id: uuid.UUID
    content: Reason
    due_on: date


class FulfilmentRequest(_Request, kw_only=True):
    evidence: Annotated[list[Annotated[str, _text(500)]], msgspec.Meta(min_length=1, max_length=20)]


class PledgeResponse(_Response, frozen=True, kw_only=True):
    id: uuid.UUID
    period_id: uuid.UUID
    person_id: uuid.UUID
    content: str
    due_on: date
    status: str
    evidence: list[str]
    reported_at: datetime | None
    review_score: int | None
    assessed_by: uuid.UUID | None
    assessed_at: datetime | None
    entry_id: uuid.UUID | None

    @classmethod
    def of(cls, p: Pledge) -> PledgeResponse:
        return view(p, cls)


class ReviewRequest(_Request, kw_only=True):
    """A review (三评) of the member's pledge or of one comparison; your role follows from who you are."""

    id: uuid.UUID
    score: Percent
    pledge_id: uuid.UUID | None = None
    compare_code: Code | None = None
    comment: Note = ""


class ReviewResponse(_Response, frozen=True, kw_only=True):
    id: uuid.UUID
    period_id: uuid.UUID
    person_id: uuid.UUID
    pledge_id: uuid.UUID | None
    compare_code: str | None
    reviewer_id: uuid.UUID
    reviewer_role: str
    score: int
    comment: str
    created_at: datetime

    @classmethod
    def of(cls, r: Review) -> ReviewResponse:
        return view(r, cls)


# -- boards ------------------------------------------------------------------------------------------------------
class BoardRowResponse(_Response, frozen=True, kw_only=True):
    rank: int
    person_id: uuid.UUID
    name: str
    total: int
    branch_id: uuid.UUID | None
    group_id: uuid.UUID | None

    @classmethod
    def of(cls, row: BoardRow) -> BoardRowResponse:
        return view(row, cls)


class BreakdownResponse(_Response, frozen=True, kw_only=True):
    item_code: str
    name: str
    kind: str
    points: int
    entries: int
    capped: int


class StandingResponse(_Response, frozen=True, kw_only=True):
    person_id: uuid.UUID
    total: int
    community_rank: int
    community_size: int
    branch_rank: int | None
    branch_size: int | None
    group_rank: int | None
    group_size: int | None
    breakdown: list[BreakdownResponse]

    @classmethod
    def of(cls, s: Standing) -> StandingResponse:
        return view(s, cls)


# -- ratings -----------------------------------------------------------------------------------------------------
class RatingListDraftRequest(_Request, kw_only=True):
    id: uuid.UUID


class ObjectionRequest(_Request, kw_only=True):
    id: uuid.UUID
    person_id: uuid.UUID
    reason: LongReason


class ResolutionRequest(_Request, kw_only=True):
    upheld: bool
    resolution: LongReason
    new_stars: Stars | None = None


class RatingResponse(_Response, frozen=True, kw_only=True):
    person_id: uuid.UUID
    total: int
    computed_stars: int
    stars: int
    vetoed: bool
    objection_id: uuid.UUID | None


class ObjectionResponse(_Response, frozen=True, kw_only=True):
    id: uuid.UUID
    list_id: uuid.UUID
    person_id: uuid.UUID
    filed_by: uuid.UUID
    reason: str
    filed_at: datetime
    status: str
    resolved_by: uuid.UUID | None
    resolved_at: datetime | None
    resolution: str | None
    new_stars: int | None

    @classmethod
    def of(cls, o: Objection) -> ObjectionResponse:
        return view(o, cls)


class RatingListResponse(_Response, frozen=True, kw_only=True):
    id: uuid.UUID
    community_id: uuid.UUID
    period_id: uuid.UUID
    catalogue_id: uuid.UUID
    status: str
    drafted_at: datetime
    notice_from: datetime | None
    notice_until: datetime | None
    finalised_at: datetime | None
    ratings: list[RatingResponse] | None = None
    objections: list[ObjectionResponse] | None = None

    @classmethod
    def of(
        cls,
        rating_list: RatingList,
        ratings: list[Rating] | None = None,
        objections: list[Objection] | None = None,
    ) -> RatingListResponse:
        return msgspec.structs.replace(
            view(rating_list, cls),
            ratings=None if ratings is None else [view(r, RatingResponse) for r in ratings],
            objections=None if objections is None else [view(o, ObjectionResponse) for o in objections],
        )
