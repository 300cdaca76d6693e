"""Pickup codes and item eligibility: pure functions, no database."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from timebank.errors import InvalidInput
from timebank.rewards import Item
from timebank.rewards.codes import PickupCodes
from timebank.rewards.eligibility import age_on, check_eligible
from timebank.rewards.errors import NotEligible

CODES = PickupCodes(b"a" * 32)
ORDER = uuid.UUID("8b5d1c1e-0000-4000-8000-000000000001")


def test_codes_are_six_digits_stable_per_attempt_and_bound_to_their_key() -> None:
    code = CODES.code(ORDER, 0)
    assert len(code) == 6
    assert code.isdigit()
    assert CODES.code(ORDER, 0) == code
    assert CODES.code(ORDER, 1) != code
    assert PickupCodes(b"b" * 32).code(ORDER, 0) != code
    assert CODES.matches(ORDER, 0, code)
    assert not CODES.matches(ORDER, 1, code)


def test_the_digest_depends_on_the_station_and_code_only() -> None:
    station, other = uuid.uuid4(), uuid.uuid4()
    assert CODES.digest(station, "123456") == CODES.digest(station, "123456")
    assert CODES.digest(station, "123456") != CODES.digest(other, "123456")
    assert len(CODES.digest(station, "123456")) == 32


def test_a_qr_payload_names_its_order_and_cannot_be_forged() -> None:
    payload = CODES.qr_payload(ORDER, 2)
    assert CODES.read_qr(payload) == (ORDER, 2)
    other = uuid.uuid4()
    head, _, attempt, signature = payload.split(".")
    forged = ".".join([head, CODES.qr_payload(other, 2).split(".")[1], attempt, signature])
    for bad in (forged, PickupCodes(b"b" * 32).qr_payload(ORDER, 2), "TBP1.x.0.y", "garbage", f"{payload}.extra",
                payload.replace(".2.", ".²."), ""):  # fmt: skip
        with pytest.raises(InvalidInput):
            CODES.read_qr(bad)


def _item(**rules: object) -> Item:
    values: dict[str, object] = {
        "id": uuid.uuid4(), "community_id": uuid.uuid4(), "station_id": uuid.uuid4(), "name": "奶粉",
        "category": "health", "price_points": 10, "image_url": None, "source": "purchased", "partner_unit_id": None,
        "unit_cost_fen": None, "limit_per_day": None, "limit_per_month": None, "limit_per_person": None,
        "available_from": None, "available_until": None, "min_age": None, "max_age": None, "household_kinds": None,
        "listed": True, "on_hand": 1, "reserved": 0,
    }  # fmt: skip
    values.update(rules)
    return Item(**values)  # type: ignore[arg-type]


def test_age_is_reckoned_on_the_local_date() -> None:
    assert age_on(date(1960, 3, 1), date(2020, 2, 29)) == 59
    assert age_on(date(1960, 3, 1), date(2020, 3, 1)) == 60
    # 16:30 UTC on 29 Feb is already 1 March in Shanghai: the resident turned 60 there.
    evening = datetime(2020, 2, 29, 16, 30, tzinfo=UTC)
    check_eligible(_item(min_age=60), now=evening, birth_date=date(1960, 3, 1), household_kind=None)
    with pytest.raises(NotEligible):
        check_eligible(
            _item(min_age=60), now=evening.replace(hour=15), birth_date=date(1960, 3, 1), household_kind=None
        )


def test_window_and_household_rules() -> None:
    now = datetime(2026, 6, 1, tzinfo=UTC)
    check_eligible(_item(household_kinds=("hardship",)), now=now, birth_date=None, household_kind="hardship")
    for item, kind in (
        (_item(household_kinds=("hardship",)), "ordinary"),
        (_item(household_kinds=("hardship",)), None),
        (_item(available_until=now), "ordinary"),
        (_item(listed=False), "ordinary"),
        (_item(max_age=12), "ordinary"),
    ):
        with pytest.raises(NotEligible):
            check_eligible(item, now=now, birth_date=date(1990, 1, 1), household_kind=kind)
