"""Caps, 三评 weighting and star levels, worked by hand."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from timebank.scoring.model import Catalogue, ReviewerRole, ReviewWeights, capped, local_day, scaled, weighted_score

LEADER, PEER, RESIDENT = ReviewerRole.leader, ReviewerRole.peer, ReviewerRole.resident


@pytest.mark.parametrize(
    ("requested", "used", "cap", "expected"),
    [(3, 0, 12, 3), (3, 9, 12, 3), (3, 10, 12, 2), (3, 12, 12, 0), (3, 15, 12, 0), (7, 100, None, 7)],
)
def test_capped(requested: int, used: int, cap: int | None, expected: int) -> None:
    assert capped(requested, used=used, cap=cap) == expected


def test_weighted_score_uses_each_roles_mean() -> None:
    # 0.4 x 90 + 0.3 x mean(80, 70) + 0.3 x 100 = 36 + 22.5 + 30 = 88.5, rounded half up.
    assert weighted_score({LEADER: [90], PEER: [80, 70], RESIDENT: [100]}, ReviewWeights()) == 89


def test_missing_roles_share_out_their_weight() -> None:
    # Only leader (40) and resident (30): (40 x 80 + 30 x 66) / 70 = 74.0
    assert weighted_score({LEADER: [80], RESIDENT: [66]}, ReviewWeights()) == 74
    assert weighted_score({}, ReviewWeights()) is None
    assert weighted_score({PEER: [100]}, ReviewWeights(leader=50, peer=0, resident=50)) is None


@pytest.mark.parametrize(("points", "score", "expected"), [(5, 100, 5), (5, 85, 4), (5, 90, 5), (10, 85, 9), (5, 0, 0)])
def test_scaled(points: int, score: int, expected: int) -> None:
    assert scaled(points, score) == expected


def _catalogue(thresholds: tuple[int, ...]) -> Catalogue:
    return Catalogue(
        id=uuid.uuid4(),
        community_id=uuid.uuid4(),
        version=1,
        effective_from=date(2026, 1, 1),
        base_score=60,
        period_cap=None,
        star_thresholds=thresholds,
        notice_days=5,
        weights=ReviewWeights(),
        pass_mark=60,
        show_kinds=("identity",),
        exempt_member_types=(),
        items=(),
    )


@pytest.mark.parametrize(("total", "stars"), [(-5, 1), (59, 1), (60, 2), (69, 2), (70, 3), (89, 4), (90, 5), (130, 5)])
def test_stars_by_threshold(total: int, stars: int) -> None:
    catalogue = _catalogue((60, 70, 80, 90))
    assert catalogue.levels == 5
    assert catalogue.stars_for(total) == stars


def test_a_veto_means_one_star() -> None:
    assert _catalogue((60, 70, 80, 90)).stars_for(99, vetoed=True) == 1


def test_days_are_the_communitys_calendar_days() -> None:
    # 20:00 UTC on 30 June is already 1 July in the community: a pledge due on 30 June is past due then.
    assert local_day(datetime(2026, 6, 30, 20, tzinfo=UTC)) == date(2026, 7, 1)
    assert local_day(datetime(2026, 6, 30, 15, 59, tzinfo=UTC)) == date(2026, 6, 30)
