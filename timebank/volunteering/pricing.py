"""What a service record earns under a policy: rounding, rates, caps and overflow. Pure arithmetic, no I/O.

Time coins are counted in minutes (60 = one coin), so a cap of two coins a day is 120 and every split below is exact
to the minute. Rates are per hour of service and round down: a volunteer is never credited for time not given.
"""

from __future__ import annotations

from dataclasses import dataclass

from timebank.volunteering.policy import EarningPolicy

__all__ = ["Earnings", "Usage", "price", "round_minutes"]


def round_minutes(minutes: int, unit: int, mode: str) -> int:
    """``minutes`` rounded to a multiple of ``unit``: down, up, or to the nearest (halves round up)."""
    if minutes <= 0:
        return 0
    whole, rest = divmod(minutes, unit)
    if mode == "down" or rest == 0:
        return whole * unit
    if mode == "up":
        return (whole + 1) * unit
    return (whole + (1 if 2 * rest >= unit else 0)) * unit


@dataclass(frozen=True, slots=True, kw_only=True)
class Usage:
    """What the person already holds under the caps, before this record.

    ``coins_today``: coin-minutes credited for service on the record's day; ``coins_lifetime``: ever credited by
    service; ``coin_balance``: the coins now held (including credits planned but not yet posted).
    """

    coins_today: int
    coins_lifetime: int
    coin_balance: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Earnings:
    """A record's credits per asset. Coins over a cap, and a team's coins, go to the donation pool."""

    minutes: int
    coins: int
    coins_overflow: int
    coins_team_donation: int
    points: int
    party_score: int
    capped_by: tuple[str, ...]


def price(
    policy: EarningPolicy,
    *,
    minutes: int,
    usage: Usage,
    team_service: bool,
    party_member: bool,
    tags: tuple[str, ...],
) -> Earnings:
    """Price ``minutes`` of service (already rounded) for one person under ``policy``."""
    earned_coins = minutes * policy.coin_minutes_per_hour // 60
    coins = overflow = team_donation = 0
    capped_by: list[str] = []
    if team_service and policy.team_coins_donation_only:
        team_donation = earned_coins
    else:
        rooms = {
            "daily": _room(policy.coin_daily_cap, usage.coins_today),
            "lifetime": _room(policy.coin_lifetime_cap, usage.coins_lifetime),
            "storage": _room(policy.coin_storage_cap, usage.coin_balance),
        }
        coins = min([earned_coins, *(room for room in rooms.values() if room is not None)])
        overflow = earned_coins - coins
        if overflow:
            capped_by = [name for name, room in rooms.items() if room is not None and room < earned_coins]
    scores_party = party_member and (not policy.party_score_tags or bool(set(policy.party_score_tags) & set(tags)))
    return Earnings(
        minutes=minutes,
        coins=coins,
        coins_overflow=overflow,
        coins_team_donation=team_donation,
        points=minutes * policy.points_per_hour // 60,
        party_score=minutes * policy.party_score_per_hour // 60 if scores_party else 0,
        capped_by=tuple(capped_by),
    )


def _room(cap: int | None, used: int) -> int | None:
    return None if cap is None else max(0, cap - used)
