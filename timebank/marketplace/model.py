"""The marketplace's vocabulary and its pure rules: categories, states, tiers, name masking, what a closed order pays.

No I/O here; the services load rows, ask these functions, and write what they answer.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

from timebank.ledger import Asset

__all__ = [
    "LIVE",
    "UNCLAIMED",
    "Category",
    "ClaimStatus",
    "ClaimantKind",
    "Credit",
    "NeedKind",
    "NeedStatus",
    "OrderMode",
    "OrderStatus",
    "ScoreBonus",
    "ScoreCredit",
    "Settlement",
    "Tier",
    "Urgency",
    "credited_minutes",
    "mask_name",
    "next_tier",
    "plan_credits",
    "score_bonuses",
]


class Category(StrEnum):
    """What a need asks for or a resource offers (中江's eight post kinds, widened for everyday help)."""

    elder_care = "elder_care"
    child_care = "child_care"
    disability_support = "disability_support"
    health = "health"
    legal = "legal"
    repair = "repair"
    cleaning = "cleaning"
    errands = "errands"
    companionship = "companionship"
    education = "education"
    culture_sports = "culture_sports"
    safety_patrol = "safety_patrol"
    governance = "governance"
    employment = "employment"
    goods = "goods"
    other = "other"


class NeedKind(StrEnum):
    need = "need"
    micro_wish = "micro_wish"


class NeedStatus(StrEnum):
    pending_review = "pending_review"
    published = "published"
    ordered = "ordered"
    fulfilled = "fulfilled"
    rejected = "rejected"
    withdrawn = "withdrawn"


class Urgency(StrEnum):
    routine = "routine"
    urgent = "urgent"
    emergency = "emergency"


class Settlement(StrEnum):
    """How a closed order pays: the requester's coins to the helper, the community's points and score, or nothing."""

    time_bank = "time_bank"
    public_good = "public_good"
    none = "none"


class OrderMode(StrEnum):
    directed = "directed"
    open = "open"


class OrderStatus(StrEnum):
    dispatched = "dispatched"
    open = "open"
    accepted = "accepted"
    done = "done"
    closed = "closed"
    cancelled = "cancelled"


#: An order nobody has accepted yet.
UNCLAIMED = frozenset({OrderStatus.dispatched, OrderStatus.open})
#: An order still being worked on; it escalates when its tier's time runs out.
LIVE = frozenset({OrderStatus.dispatched, OrderStatus.open, OrderStatus.accepted})


class ClaimantKind(StrEnum):
    person = "person"
    team = "team"
    unit = "unit"


class ClaimStatus(StrEnum):
    live = "live"
    withdrawn = "withdrawn"
    revoked = "revoked"
    completed = "completed"


class Tier(StrEnum):
    """Who answers for an order: 小区解决 → 社区协调 → 街道统筹 → 部门认领."""

    compound = "compound"
    community = "community"
    street = "street"
    department = "department"


_TIERS = tuple(Tier)


def next_tier(tier: Tier) -> Tier | None:
    """The tier an overdue order escalates to; None at the last tier."""
    index = _TIERS.index(tier)
    return _TIERS[index + 1] if index + 1 < len(_TIERS) else None


def mask_name(name: str) -> str:
    """A name as the public list shows it: the first character, the rest starred (王秀英 → 王**)."""
    return name[:1] + "*" * max(len(name) - 1, 1)


@dataclass(frozen=True, slots=True, kw_only=True)
class Credit:
    """One transfer a closed order makes: ``purpose`` names it (and its id), ``person_id`` receives it."""

    purpose: str
    person_id: uuid.UUID
    asset: Asset
    amount: int


def credited_minutes(done_minutes: int, est_minutes: int) -> int:
    """Minutes paid for: what the helper reports, never more than the need asked for (the requester's offer)."""
    return max(0, min(done_minutes, est_minutes))


def plan_credits(
    *,
    settlement: Settlement,
    minutes: int,
    coins_per_minute: int,
    points_per_hour: int,
    participants: list[uuid.UUID],
) -> list[Credit]:
    """What closing an order pays on the ledger's linked chain, in order (the party score bonus is not part of it:
    see :func:`score_bonuses`).

    Time bank: the one helper receives ``minutes × coins_per_minute`` time coins from the requester (the hold made
    at claiming, posted). Public good: every participant receives points for each started hour from the community.

    Args:
        settlement: how the need pays.
        minutes: the credited minutes (see :func:`credited_minutes`).
        coins_per_minute: time-coin minutes per minute of help.
        points_per_hour: points per started hour of service.
        participants: who did the work, the claimer first.

    Returns:
        The credits, zero amounts left out.
    """
    credits: list[Credit] = []
    if settlement is Settlement.time_bank:
        coins = minutes * coins_per_minute
        if coins > 0:
            credits.append(Credit(purpose="coins", person_id=participants[0], asset=Asset.time_coins, amount=coins))
        return credits
    if settlement is Settlement.none:
        return credits
    points = -(-minutes * points_per_hour // 60)
    if points > 0:
        credits.extend(
            Credit(purpose="points", person_id=person_id, asset=Asset.points, amount=points)
            for person_id in participants
        )
    return credits


@dataclass(frozen=True, slots=True, kw_only=True)
class ScoreBonus:
    """A party member's score bonus for a closed public-good order, in units of the assessment's order item; a
    rating below the policy's minimum withholds it."""

    person_id: uuid.UUID
    units: int
    withheld: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class ScoreCredit:
    """What became of one member's score bonus when the order closed: ``outcome`` is the party assessment's answer
    (credited, capped, not_enrolled, no_open_period, not_in_catalogue) or ``withheld`` (rated below the minimum);
    ``amount`` is what counted in the member's period total."""

    person_id: uuid.UUID
    units: int
    outcome: str
    amount: int = 0
    entry_id: uuid.UUID | None = None


def score_bonuses(
    *,
    settlement: Settlement,
    rating: int,
    score_bonus: int,
    bonus_min_rating: int,
    party_members: list[uuid.UUID],
) -> list[ScoreBonus]:
    """The party score bonus of each party member who worked on a public-good order, withheld if rated low.

    Args:
        settlement: how the need pays; only public-good service earns the bonus.
        rating: the requester's rating, 1–5.
        score_bonus: units of the bonus a well-rated order earns (0: the policy pays none).
        bonus_min_rating: the lowest rating that still earns it.
        party_members: the participants who are party members, the claimer first.
    """
    if settlement is not Settlement.public_good or score_bonus <= 0:
        return []
    withheld = rating < bonus_min_rating
    return [ScoreBonus(person_id=person, units=score_bonus, withheld=withheld) for person in party_members]
