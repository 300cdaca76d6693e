"""The assessment's vocabulary and arithmetic: catalogue items, caps, 三评 weighting and star levels. No I/O."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from fractions import Fraction
from zoneinfo import ZoneInfo

__all__ = [
    "LOCAL_TIME",
    "Catalogue",
    "Item",
    "ItemKind",
    "ItemSource",
    "ReviewWeights",
    "ReviewerRole",
    "ReviewerScope",
    "capped",
    "local_day",
    "scaled",
    "weighted_score",
]


#: Days (due dates, the day an entry is scored on, the end of a period) are the communities' own calendar days.
LOCAL_TIME = ZoneInfo("Asia/Shanghai")


def local_day(moment: datetime) -> date:
    return moment.astimezone(LOCAL_TIME).date()


class ItemKind(StrEnum):
    bonus = "bonus"
    deduction = "deduction"


class ItemSource(StrEnum):
    """How an item comes to be scored."""

    #: Recorded by the branch, or reported by the member with evidence and approved by someone else.
    manual = "manual"
    #: Credited by another capability's policy (volunteer service, closed orders) through ``credit_item``.
    automatic = "automatic"
    #: A fulfilled pledge (亮承诺).
    pledge = "pledge"
    #: One comparison of 三亮三比 (比作风 / 比奉献 / 比业绩 or a variant): ``points`` scaled by its 三评 reviews.
    comparison = "comparison"
    #: The democratic appraisal (民主评议): up to ``points``, recorded by the branch.
    appraisal = "appraisal"


class ReviewerScope(StrEnum):
    """Who reviews a self-reported item's evidence: the member's branch, or community staff only."""

    branch = "branch"
    community = "community"


class ReviewerRole(StrEnum):
    """三评: branch leaders (领导点评), fellow members (党员互评), residents (群众评议)."""

    leader = "leader"
    peer = "peer"
    resident = "resident"


@dataclass(frozen=True, slots=True, kw_only=True)
class Item:
    code: str
    name: str
    kind: ItemKind
    source: ItemSource
    points: int
    cap: int | None = None
    evidence_required: bool = False
    reviewer: ReviewerScope = ReviewerScope.branch
    member_types: tuple[str, ...] = ()

    def applies_to(self, member_type: str) -> bool:
        """Items name the member types they apply to; none named means every type."""
        return not self.member_types or member_type in self.member_types


@dataclass(frozen=True, slots=True, kw_only=True)
class ReviewWeights:
    """Percentages of the three reviewer roles; they sum to 100."""

    leader: int = 40
    peer: int = 30
    resident: int = 30

    def of(self, role: ReviewerRole) -> int:
        return {ReviewerRole.leader: self.leader, ReviewerRole.peer: self.peer, ReviewerRole.resident: self.resident}[
            role
        ]


@dataclass(frozen=True, slots=True, kw_only=True)
class Catalogue:
    """One version of a community's catalogue; it prices every entry that occurs from ``effective_from`` on."""

    id: uuid.UUID
    community_id: uuid.UUID
    version: int
    effective_from: date
    base_score: int
    period_cap: int | None
    star_thresholds: tuple[int, ...]
    notice_days: int
    weights: ReviewWeights
    pass_mark: int
    show_kinds: tuple[str, ...]
    exempt_member_types: tuple[str, ...]
    items: tuple[Item, ...]

    def item(self, code: str) -> Item | None:
        return next((item for item in self.items if item.code == code), None)

    def of_source(self, source: ItemSource) -> tuple[Item, ...]:
        return tuple(item for item in self.items if item.source is source)

    @property
    def levels(self) -> int:
        """How many star levels there are: one more than the thresholds."""
        return len(self.star_thresholds) + 1

    def stars_for(self, total: int, *, vetoed: bool = False) -> int:
        """One star, plus one for every threshold the total reaches; a veto (一票否决) means one star."""
        if vetoed:
            return 1
        return 1 + sum(total >= threshold for threshold in self.star_thresholds)


def capped(requested: int, *, used: int, cap: int | None) -> int:
    """What still counts of ``requested`` when ``used`` of ``cap`` is taken: never negative, never over the cap."""
    if cap is None:
        return requested
    return max(0, min(requested, cap - used))


def _round_half_up(value: Fraction) -> int:
    return int(value + Fraction(1, 2)) if value >= 0 else -int(-value + Fraction(1, 2))


def weighted_score(scores: Mapping[ReviewerRole, Sequence[int]], weights: ReviewWeights) -> int | None:
    """The 三评 result, 0-100: each role's mean score, weighted; roles nobody reviewed as share out their weight.

    Returns None when no role with a weight has a review. Exact (fractions), rounded half up once at the end.
    """
    present = [(weights.of(role), Fraction(sum(values), len(values))) for role, values in scores.items() if values]
    present = [(weight, mean) for weight, mean in present if weight > 0]
    if not present:
        return None
    total_weight = sum(weight for weight, _ in present)
    return _round_half_up(sum((weight * mean for weight, mean in present), Fraction(0)) / total_weight)


def scaled(points: int, score: int) -> int:
    """``points`` scaled by a 0-100 review result, rounded half up: a comparison reviewed at 85 of 10 gives 9."""
    return _round_half_up(Fraction(points * score, 100))
