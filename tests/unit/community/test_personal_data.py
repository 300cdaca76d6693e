"""ID numbers and phones: what is accepted, what is refused and why, and what is kept."""

from __future__ import annotations

import datetime as dt

import pytest

from timebank.community.personal_data import (
    InvalidIdNumber,
    InvalidPhone,
    check_character,
    id_number_hash,
    mask_phone,
    parse_id_number,
    parse_phone,
)

# The worked examples of GB 11643-1999 itself; the second was born in 1880, before any living resident.
STANDARD_FEMALE = "11010519491231002X"
STANDARD_1880 = "440524188001010014"
# 莱西 (370285), 1990-01-01, sequence 123 (odd: a man).
LAIXI_MALE = "370285199001011238"


def test_standard_examples_parse_with_birth_date_and_sex() -> None:
    female = parse_id_number(STANDARD_FEMALE)
    assert female.birth_date == dt.date(1949, 12, 31)
    assert female.sex == "female"
    assert female.last4 == "002X"
    male = parse_id_number(LAIXI_MALE)
    assert (male.birth_date, male.sex, male.last4) == (dt.date(1990, 1, 1), "male", "1238")


def test_check_character_covers_ten_as_x() -> None:
    assert check_character(STANDARD_FEMALE[:17]) == "X"
    assert check_character(STANDARD_1880[:17]) == "4"


def test_typing_variants_are_forgiven() -> None:
    full_width = "１１０１０５１９４９１２３１００２ｘ"
    assert parse_id_number(full_width).value == STANDARD_FEMALE
    assert parse_id_number(" 110105 19491231 002x ").value == STANDARD_FEMALE


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("11010519491231002", "18 characters, has 17"),
        ("110105491231002", "15-digit"),
        ("11010519491231002Y", "17 digits followed by a digit or X"),
        ("1101051949123100X2", "17 digits followed by a digit or X"),
        ("99010519491231002X", "names no province"),
        ("110105194902300023", "19490230 is not a date"),
        ("110105203001010011", "in the future"),
        ("110105194912310021", "should be X"),
        (STANDARD_1880, "before 1900"),
    ],
)
def test_refusals_say_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(InvalidIdNumber, match=problem) as refused:
        parse_id_number(text, today=dt.date(2026, 11, 24))
    assert refused.value.fields == {"field": "id_number"}


def test_repr_hides_the_number() -> None:
    parsed = parse_id_number(STANDARD_FEMALE)
    assert STANDARD_FEMALE not in repr(parsed)
    assert "002X" in repr(parsed)


def test_keyed_hash_matches_equal_numbers_and_depends_on_the_key() -> None:
    typed_twice = parse_id_number(STANDARD_FEMALE), parse_id_number(STANDARD_FEMALE.lower())
    digest = id_number_hash(b"k" * 32, typed_twice[0])
    assert len(digest) == 32
    assert digest == id_number_hash(b"k" * 32, typed_twice[1])
    assert digest != id_number_hash(b"other key", typed_twice[0])
    assert digest != id_number_hash(b"k" * 32, parse_id_number(LAIXI_MALE))


@pytest.mark.parametrize(
    "text",
    ["13812345678", "138 1234 5678", "138-1234-5678", "+86 138 1234 5678", "8613812345678", "１３８１２３４５６７８"],
)
def test_phone_forms_normalise(text: str) -> None:
    assert parse_phone(text) == "13812345678"


@pytest.mark.parametrize(
    ("text", "problem"),
    [("1381234567", "11 digits, has 10"), ("12812345678", "start with 13 to 19"), ("0532-8888888x", "digits only")],
)
def test_phone_refusals(text: str, problem: str) -> None:
    with pytest.raises(InvalidPhone, match=problem):
        parse_phone(text)


def test_mask_keeps_prefix_and_last_four() -> None:
    assert mask_phone("13812345678") == "138****5678"
