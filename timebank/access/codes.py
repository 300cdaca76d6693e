"""One-time codes: staff invitation codes and phone verification codes, and the keyed hash they are stored as."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable

__all__ = ["CodeHasher", "new_invitation_code", "new_phone_code", "normalize_invitation_code"]

#: Capitals and digits without the look-alikes 0/O, 1/I/L: easy to read out and type from a printed slip.
_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
_INVITATION_LENGTH = 10  # 31**10 ≈ 2**49.5
_INVITATION = re.compile(f"^[{_ALPHABET}]{{{_INVITATION_LENGTH}}}$")


def new_invitation_code() -> str:
    """A fresh invitation code, shown as two groups of five (``7KQ2M-XW9PD``)."""
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(_INVITATION_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def normalize_invitation_code(raw: str) -> str | None:
    """The canonical form of a typed code (any case, spaces and dashes ignored), or None if it cannot be one."""
    code = re.sub(r"[\s-]", "", raw).upper()
    return code if _INVITATION.match(code) else None


def new_phone_code() -> str:
    """Six digits, as SMS verification codes are in China."""
    return f"{secrets.randbelow(10**6):06d}"


class CodeHasher:
    """HMAC-SHA256 under a service key: codes are short, so a plain hash of a stolen table could be brute-forced."""

    def __init__(self, key: Callable[[], bytes]) -> None:
        self._key = key

    def __call__(self, purpose: str, code: str) -> bytes:
        return hmac.new(self._key(), f"{purpose}\x00{code}".encode(), hashlib.sha256).digest()
