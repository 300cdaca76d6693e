"""The pure rules, worked by hand: what a closed order pays, the tier ladder, masked names, skill fit."""

from __future__ import annotations

import uuid

from timebank.ledger import Asset
from timebank.marketplace.fit import Score, category_of_skill, load_score, matching_skills, rating_score
from timebank.marketplace.model import (
    Category,
    Credit,
    ScoreBonus,
    Settlement,
    Tier,
    credited_minutes,
    mask_name,
    next_tier,
    plan_credits,
    score_bonuses,
)

HELPER, OTHER = uuid.UUID(int=1), uuid.UUID(int=2)
RULES = {"coins_per_minute": 1, "points_per_hour": 1}
BONUS = {"score_bonus": 2, "bonus_min_rating": 3}


def test_time_bank_help_pays_the_minutes_in_coins_to_the_one_helper() -> None:
    credits = plan(Settlement.time_bank, minutes=45, participants=[HELPER])
    assert credits == [Credit(purpose="coins", person_id=HELPER, asset=Asset.time_coins, amount=45)]
    assert score_bonuses(settlement=Settlement.time_bank, rating=5, party_members=[HELPER], **BONUS) == []


def test_public_good_pays_each_participant_a_point_per_started_hour_and_members_the_bonus() -> None:
    credits = plan(Settlement.public_good, minutes=61, participants=[HELPER, OTHER])
    assert [(c.person_id, c.asset, c.amount) for c in credits] == [(HELPER, Asset.points, 2), (OTHER, Asset.points, 2)]
    # The bonus is no ledger credit of the chain: the party assessment scores it, in units of its order item.
    bonuses = score_bonuses(settlement=Settlement.public_good, rating=3, party_members=[HELPER], **BONUS)
    assert bonuses == [ScoreBonus(person_id=HELPER, units=2, withheld=False)]


def test_a_low_rating_withholds_only_the_score_bonus() -> None:
    credits = plan(Settlement.public_good, minutes=60, participants=[HELPER])
    assert [(c.asset, c.amount) for c in credits] == [(Asset.points, 1)]
    bonuses = score_bonuses(settlement=Settlement.public_good, rating=2, party_members=[HELPER], **BONUS)
    assert bonuses == [ScoreBonus(person_id=HELPER, units=2, withheld=True)]
    no_bonus = {"score_bonus": 0, "bonus_min_rating": 3}
    assert score_bonuses(settlement=Settlement.public_good, rating=5, party_members=[HELPER], **no_bonus) == []


def test_nothing_is_paid_for_zero_minutes_or_no_settlement() -> None:
    assert plan(Settlement.time_bank, minutes=0, participants=[HELPER]) == []
    assert plan(Settlement.none, minutes=600, participants=[HELPER]) == []
    assert score_bonuses(settlement=Settlement.none, rating=5, party_members=[HELPER], **BONUS) == []


def test_the_helper_is_paid_at_most_what_the_need_offered() -> None:
    assert credited_minutes(90, 60) == 60
    assert credited_minutes(30, 60) == 30


def test_tiers_climb_to_the_department_and_stop() -> None:
    assert [next_tier(tier) for tier in Tier] == [Tier.community, Tier.street, Tier.department, None]


def test_names_keep_only_their_first_character() -> None:
    assert mask_name("王秀英") == "王**"
    assert mask_name("李") == "李*"


def test_free_text_skills_find_their_category() -> None:
    assert category_of_skill("家电维修", Category.repair)
    assert category_of_skill("陪伴老人", Category.companionship)
    assert category_of_skill("陪伴老人", Category.elder_care)
    assert not category_of_skill("合唱", Category.repair)
    assert matching_skills(("电工",), ("水电工", "合唱")) == ["水电工"]


def test_a_steady_record_outranks_one_lucky_rating_and_load_spreads_work() -> None:
    lucky, steady = Score(), Score()
    rating_score(5, 1, lucky)
    rating_score(48, 10, steady)
    assert steady.rating > lucky.rating
    free, busy = Score(), Score()
    load_score(0, free)
    load_score(3, busy)
    assert (free.load, busy.load) == (1.0, 0.25)
    assert busy.reasons[-1].text == "3 orders in hand now"


def plan(settlement: Settlement, *, minutes: int, participants: list[uuid.UUID]) -> list[Credit]:
    return plan_credits(settlement=settlement, minutes=minutes, participants=participants, **RULES)
