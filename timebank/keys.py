"""The service's keys, all derived from one master key so an operator manages a single secret.

The master key is ``TIMEBANK_SECRET_KEY`` or, when unset (development, the one-command start), a random key
generated on first start and kept in ``<data_dir>/secret.key`` with owner-only permissions.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from timebank.settings import Settings

__all__ = ["Keys", "load_keys"]

_KEY_FILE = "secret.key"


@dataclass(frozen=True, slots=True)
class Keys:
    """Purpose-bound keys: compromising one use never hands over another."""

    master: bytes = field(repr=False)

    def derive(self, purpose: str) -> bytes:
        return hmac.new(self.master, purpose.encode(), hashlib.sha256).digest()

    @property
    def token_signing(self) -> bytes:
        return self.derive("timebank/token-signing/v1")

    @property
    def personal_data(self) -> bytes:
        """For keyed hashes of ID numbers: equal numbers match, the number itself cannot be recovered."""
        return self.derive("timebank/personal-data/v1")

    @property
    def check_in(self) -> bytes:
        """For the rotating check-in codes that leaders' phones show."""
        return self.derive("timebank/check-in/v1")


def load_keys(settings: Settings) -> Keys:
    if settings.secret_key is not None:
        return Keys(settings.secret_key.reveal().encode())
    return Keys(_key_file(settings.data_dir))


def _key_file(data_dir: Path) -> bytes:
    path = data_dir / _KEY_FILE
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32).encode()
    # Written aside, then linked into place: two processes starting at once agree on whichever key links first,
    # and nobody ever reads a half-written file.
    draft = data_dir / f".{_KEY_FILE}.{os.getpid()}"
    draft.write_bytes(key)
    draft.chmod(0o600)
    try:
        os.link(draft, path)
    except FileExistsError:
        key = path.read_bytes().strip()
    finally:
        draft.unlink()
    return key
