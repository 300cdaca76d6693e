"""argon2id passwords, new-password checks, invitation and phone codes."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher, profiles

from timebank.access.codes import CodeHasher, new_invitation_code, new_phone_code, normalize_invitation_code
from timebank.access.passwords import Passwords, check_new_password
from timebank.errors import InvalidInput

CHEAP = Passwords(PasswordHasher.from_parameters(profiles.CHEAPEST))


async def test_hash_is_argon2id_and_verifies() -> None:
    stored = await CHEAP.hash("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert await CHEAP.verify(stored, "correct horse battery")
    assert not await CHEAP.verify(stored, "correct horse batterz")


async def test_unknown_login_never_verifies() -> None:
    assert not await CHEAP.verify(None, "timebank: no such login")
    assert not await CHEAP.verify(None, "anything")
    assert not await CHEAP.verify("not a hash", "anything")


async def test_weaker_parameters_need_a_rehash() -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("pw")
    assert Passwords().needs_rehash(weak)
    assert not Passwords().needs_rehash(Passwords().hasher.hash("pw"))


@pytest.mark.parametrize("password", ["short", "x" * 257])
def test_new_passwords_are_checked(password: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_new_password(password)
    assert caught.value.fields["field"] == "password"


def test_invitation_codes_read_well_and_normalize() -> None:
    code = new_invitation_code()
    assert len(code) == 11
    assert code[5] == "-"
    assert not set(code) & set("01ILO")
    assert normalize_invitation_code(f" {code.lower()} ") == code.replace("-", "")
    assert normalize_invitation_code(code.replace("-", " ")) == code.replace("-", "")
    assert normalize_invitation_code("ABCDE-FGHI0") is None
    assert normalize_invitation_code("short") is None
    assert len({new_invitation_code() for _ in range(200)}) == 200


def test_phone_codes_and_keyed_hashes() -> None:
    assert all(len(c) == 6 and c.isdigit() for c in (new_phone_code() for _ in range(50)))
    hasher, other = CodeHasher(lambda: b"a" * 32), CodeHasher(lambda: b"b" * 32)
    assert hasher("phone", "123456") == hasher("phone", "123456")
    assert hasher("phone", "123456") != hasher("invitation", "123456")
    assert hasher("phone", "123456") != other("phone", "123456")
