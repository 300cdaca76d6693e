"""Pure rules, no database: rounding, pricing with caps, the age gate and the rotating check-in codes."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from timebank.volunteering.checkin_codes import (
    STEP_SECONDS,
    CheckInCodeExpired,
    InvalidCheckInCode,
    issue_code,
    read_code,
)
from timebank.volunteering.policy import DEFAULT_RULES, EarningPolicy
from timebank.volunteering.pricing import Usage, price, round_minutes
from timebank.volunteering.time_bank import may_redeem

POLICY = EarningPolicy(
    **{name: getattr(DEFAULT_RULES, name) for name in DEFAULT_RULES.__dataclass_fields__},
    community_id=uuid.uuid4(),
    version=3,
    valid_from=datetime(2026, 1, 1, tzinfo=UTC),
    valid_until=None,
)
NOTHING_YET = Usage(coins_today=0, coins_lifetime=0, coin_balance=0)


@pytest.mark.parametrize(
    ("minutes", "mode", "expected"),
    [(0, "down", 0), (14, "down", 0), (52, "down", 45), (52, "up", 60), (52, "nearest", 45), (53, "nearest", 60),
     (60, "up", 60), (-5, "up", 0)],
)  # fmt: skip
def test_rounding_to_the_quarter_hour(minutes: int, mode: str, expected: int) -> None:
    assert round_minutes(minutes, 15, mode) == expected


def test_a_volunteer_hour_earns_one_coin_one_point_and_party_score_for_members() -> None:
    earned = price(POLICY, minutes=60, usage=NOTHING_YET, team_service=False, party_member=True, tags=())
    assert (earned.coins, earned.coins_overflow, earned.points, earned.party_score) == (60, 0, 1, 1)
    plain = price(POLICY, minutes=60, usage=NOTHING_YET, team_service=False, party_member=False, tags=())
    assert plain.party_score == 0


def test_party_score_only_for_the_policy_tags() -> None:
    tagged = replace(POLICY, party_score_tags=("三亮三比",))
    assert price(tagged, minutes=60, usage=NOTHING_YET, team_service=False, party_member=True, tags=()).party_score == 0
    scored = price(tagged, minutes=60, usage=NOTHING_YET, team_service=False, party_member=True, tags=("三亮三比",))
    assert scored.party_score == 1


def test_the_tightest_cap_wins_and_the_rest_overflows() -> None:
    usage = Usage(coins_today=100, coins_lifetime=36_000 - 5, coin_balance=0)
    earned = price(POLICY, minutes=60, usage=usage, team_service=False, party_member=False, tags=())
    assert (earned.coins, earned.coins_overflow, earned.capped_by) == (5, 55, ("daily", "lifetime"))
    full = Usage(coins_today=0, coins_lifetime=0, coin_balance=90_000)
    stored = price(POLICY, minutes=30, usage=full, team_service=False, party_member=False, tags=())
    assert (stored.coins, stored.coins_overflow, stored.capped_by) == (0, 30, ("storage",))


def test_team_service_coins_are_donated_whatever_the_caps() -> None:
    earned = price(POLICY, minutes=90, usage=NOTHING_YET, team_service=True, party_member=False, tags=())
    assert (earned.coins, earned.coins_team_donation, earned.minutes) == (0, 90, 90)


def test_the_age_gate() -> None:
    on = date(2026, 6, 1)
    assert may_redeem(date(1961, 6, 1), None, POLICY, on)
    assert not may_redeem(date(1961, 6, 2), None, POLICY, on)
    assert may_redeem(date(1966, 6, 1), "hardship", POLICY, on)
    assert not may_redeem(None, "hardship", POLICY, on)


def test_check_in_codes_rotate_and_expire() -> None:
    key, activity = b"k" * 32, uuid.uuid4()
    now = datetime(2026, 3, 2, 1, 0, 5, tzinfo=UTC)
    code = issue_code(key, activity, now)
    assert read_code(key, code.payload, now) == activity
    assert read_code(key, code.payload, now + timedelta(seconds=STEP_SECONDS)) == activity
    with pytest.raises(CheckInCodeExpired):
        read_code(key, code.payload, now + timedelta(seconds=2 * STEP_SECONDS))
    with pytest.raises(InvalidCheckInCode):
        read_code(b"x" * 32, code.payload, now)
    forged = code.payload.rsplit(".", 1)[0] + ".AAAA"
    for bad in (forged, "", "TBCI1.zz.1.A", code.payload.replace(activity.hex, uuid.uuid4().hex)):
        with pytest.raises(InvalidCheckInCode):
            read_code(key, bad, now)
