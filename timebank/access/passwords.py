"""Password hashing (argon2id, memory-hard) and the lockout rule, without storage.

Verifying costs about a tenth of a second of CPU and 64 MiB, so it runs on a worker thread. An unknown login is
verified against a dummy hash of the same parameters, so a wrong name takes as long as a wrong password.
"""

from __future__ import annotations

import asyncio
import functools
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from timebank.errors import InvalidInput

__all__ = ["LOCKOUT", "MAX_FAILURES", "MAX_PASSWORD", "MIN_PASSWORD", "Passwords", "check_new_password"]

#: Wrong passwords in a row that lock a login, and for how long.
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)

MIN_PASSWORD = 10
#: Long enough for any passphrase, short enough that nobody makes the service hash megabytes.
MAX_PASSWORD = 256


def check_new_password(password: str) -> None:
    """Refuse passwords too short to resist guessing, or long enough to be an attack on the hasher.

    Raises:
        InvalidInput: naming the ``password`` field.
    """
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidInput(
            f"a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters", field="password", length=len(password)
        )


class Passwords:
    """argon2id with argon2-cffi's defaults (RFC 9106's low-memory profile: t=3, m=64 MiB, p=4)."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self.hasher = hasher or PasswordHasher()

    @functools.cached_property
    def _dummy(self) -> str:
        return self.hasher.hash("timebank: no such login")

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self.hasher.hash, password)

    async def verify(self, stored: str | None, password: str) -> bool:
        """Whether ``password`` matches ``stored``; with no stored hash, spend the same time and say no."""
        return await asyncio.to_thread(self._verify, stored, password)

    def _verify(self, stored: str | None, password: str) -> bool:
        if len(password) > MAX_PASSWORD:
            password = password[:MAX_PASSWORD]
        try:
            return self.hasher.verify(stored or self._dummy, password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        """Whether ``stored`` was made with weaker parameters than today's (then it is replaced at login)."""
        return self.hasher.check_needs_rehash(stored)
