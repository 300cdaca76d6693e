"""Personal data kept the way issue 4 requires: ID numbers checked, then reduced to a keyed hash and the last four
characters; phones checked, and masked wherever the reader is not staff of the person's community.

A mainland resident ID number (公民身份号码, GB 11643-1999) has 18 characters: a six-digit address code, the birth
date as YYYYMMDD, a three-digit sequence (odd for men, even for women) and a check character computed over the
first 17 by ISO 7064 MOD 11-2, where 10 is written ``X``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Literal

from timebank.errors import InvalidInput

__all__ = [
    "IdNumber",
    "InvalidIdNumber",
    "InvalidPhone",
    "check_character",
    "id_number_hash",
    "mask_phone",
    "parse_id_number",
    "parse_phone",
]

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARACTERS = "10X98765432"

#: Province-level codes that open an address code: the 31 mainland provinces, and 81/82/83 for the residence
#: permits of Hong Kong, Macao and Taiwan residents, which use the same 18-character format.
_PROVINCES = frozenset(
    {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62}
    | {63, 64, 65, 81, 82, 83}
)
_EARLIEST_BIRTH = dt.date(1900, 1, 2)  # the person table refuses earlier dates

_SHAPE = re.compile(r"[0-9]{17}[0-9X]")
_PHONE = re.compile(r"1[3-9][0-9]{9}")
# Spreadsheets bring phones as "138 1234 5678", "138-1234-5678" or "+86 13812345678".
_PHONE_NOISE = re.compile(r"[\s\-()]")


class InvalidIdNumber(InvalidInput):
    """Not a resident ID number: wrong length or characters, an impossible birth date, or a wrong check character."""

    code = "invalid-id-number"
    title = "Invalid ID number"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, field="id_number")


class InvalidPhone(InvalidInput):
    """Not a mainland mobile number (11 digits starting 13–19)."""

    code = "invalid-phone"
    title = "Invalid phone number"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, field="phone")


@dataclass(frozen=True, slots=True)
class IdNumber:
    """A checked ID number. ``value`` never leaves the process: store :func:`id_number_hash` and ``last4``."""

    value: str = field(repr=False)
    birth_date: dt.date
    sex: Literal["male", "female"]

    @property
    def last4(self) -> str:
        return self.value[-4:]

    def __repr__(self) -> str:
        return f"IdNumber('**************{self.last4}')"


def check_character(first17: str) -> str:
    """The check character GB 11643 appends to the first 17 digits."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARACTERS[total % 11]


def parse_id_number(text: str, *, today: dt.date | None = None) -> IdNumber:
    """Check an ID number as typed or exported (spaces, full-width digits and a lower-case x are forgiven).

    Raises:
        InvalidIdNumber: with a message saying what is wrong, fit to show to the person who typed it.
    """
    value = _normalise(text).upper()
    if len(value) == 15 and value.isdigit():
        raise InvalidIdNumber("a 15-digit ID number of the first generation; give the 18-character one")
    if len(value) != 18:
        raise InvalidIdNumber(f"must have 18 characters, has {len(value)}")
    if not _SHAPE.fullmatch(value):
        raise InvalidIdNumber("must be 17 digits followed by a digit or X")
    if int(value[:2]) not in _PROVINCES:
        raise InvalidIdNumber(f"address code {value[:6]} names no province")
    birth_date = _birth_date(value[6:14], today or dt.date.today())
    expected = check_character(value[:17])
    if value[17] != expected:
        raise InvalidIdNumber(f"check character is {value[17]}, should be {expected}: a digit is mistyped")
    return IdNumber(value=value, birth_date=birth_date, sex="male" if int(value[16]) % 2 else "female")


def id_number_hash(key: bytes, id_number: IdNumber) -> bytes:
    """HMAC-SHA256 of the number under the personal-data key: equal numbers match, no number can be recovered.

    A plain hash would not do: there are few enough valid ID numbers to try them all.
    """
    return hmac.new(key, id_number.value.encode("ascii"), hashlib.sha256).digest()


def parse_phone(text: str) -> str:
    """A mainland mobile number in its 11-digit form.

    Raises:
        InvalidPhone: when what remains after removing spaces, dashes and +86 is not one.
    """
    value = _PHONE_NOISE.sub("", _normalise(text))
    if value.startswith("+86"):
        value = value[3:]
    elif value.startswith("86") and len(value) == 13:
        value = value[2:]
    if not value.isdigit():
        raise InvalidPhone("must be digits only")
    if len(value) != 11:
        raise InvalidPhone(f"must have 11 digits, has {len(value)}")
    if not _PHONE.fullmatch(value):
        raise InvalidPhone("must start with 13 to 19")
    return value


def mask_phone(phone: str) -> str:
    """``13812345678`` → ``138****5678``: enough for a neighbour to recognise, too little to call."""
    return f"{phone[:3]}****{phone[-4:]}"


def _normalise(text: str) -> str:
    # NFKC turns full-width digits and letters (common in Chinese input methods) into ASCII.
    return "".join(unicodedata.normalize("NFKC", text).split())


def _birth_date(digits: str, today: dt.date) -> dt.date:
    try:
        born = dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        raise InvalidIdNumber(f"birth date {digits} is not a date") from None
    if born > today:
        raise InvalidIdNumber(f"birth date {born.isoformat()} is in the future")
    if born < _EARLIEST_BIRTH:
        raise InvalidIdNumber(f"birth date {born.isoformat()} is before 1900")
    return born
