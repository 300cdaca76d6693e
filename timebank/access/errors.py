"""Errors of identity and login. Each states the rule it protects.

``Unauthenticated`` (401), ``TooManyAttempts`` (429) and ``ProviderUnavailable`` (503) carry statuses the shared
tree has no class for; ``timebank.http.auth`` maps them at the edge. The rest map through the shared classes.
"""

from __future__ import annotations

from typing import Any, ClassVar

from timebank.errors import Conflict, InvalidInput, TimebankError

__all__ = [
    "BindingRequired",
    "InvalidCode",
    "InvalidCredentials",
    "InvalidToken",
    "LoginLocked",
    "LoginTaken",
    "ProviderUnavailable",
    "RefreshTokenReused",
    "TooManyAttempts",
    "Unauthenticated",
    "WeChatCodeRejected",
]


class Unauthenticated(TimebankError):
    """The request needs a valid access token (``Authorization: Bearer …``) and has none."""

    code = "unauthenticated"
    title = "Authentication required"
    status: ClassVar[int] = 401


class InvalidToken(Unauthenticated):
    """An access or refresh token is malformed, forged, expired or revoked."""

    code = "invalid-token"
    title = "Invalid token"


class RefreshTokenReused(Unauthenticated):
    """A refresh token was presented twice: its whole family is revoked, so a stolen copy is useless too."""

    code = "refresh-token-reused"
    title = "Refresh token reused"


class InvalidCredentials(Unauthenticated):
    """The login name and password do not match (which of the two is wrong is not told)."""

    code = "invalid-credentials"
    title = "Invalid credentials"


class TooManyAttempts(TimebankError):
    """Repeated failures or requests are slowed down; ``retry_after`` says how many seconds to wait."""

    code = "too-many-attempts"
    title = "Too many attempts"
    status: ClassVar[int] = 429

    def __init__(self, detail: str, *, retry_after: int, **fields: Any) -> None:
        super().__init__(detail, retry_after=retry_after, **fields)
        self.retry_after = retry_after


class LoginLocked(TooManyAttempts):
    """After 5 wrong passwords in a row a login is locked for 15 minutes, whatever password is sent."""

    code = "login-locked"
    title = "Login locked"


class ProviderUnavailable(TimebankError):
    """An outside service the login depends on (WeChat, SMS) failed or is not configured; try again later."""

    code = "provider-unavailable"
    title = "Login provider unavailable"
    status: ClassVar[int] = 503


class WeChatCodeRejected(InvalidInput):
    """WeChat refused the login ``code`` (invalid, already used or expired): get a new one with ``wx.login()``."""

    code = "wechat-code-rejected"
    title = "WeChat code rejected"


class BindingRequired(InvalidInput):
    """A WeChat account logs in the first time: bind it with a staff invitation code or a phone verification."""

    code = "binding-required"
    title = "WeChat account not bound"


class InvalidCode(InvalidInput):
    """An invitation code or phone verification code is wrong, expired or already used."""

    code = "invalid-code"
    title = "Invalid code"


class LoginTaken(Conflict):
    """Login names are unique (case-insensitively)."""

    code = "login-taken"
    title = "Login name taken"
