"""Wire types of the login API (msgspec Structs)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from timebank.access.principal import Principal
from timebank.access.service import Invitation, PhoneChallenge, Session

__all__ = [
    "GrantView",
    "InvitationCreateRequest",
    "InvitationResponse",
    "LoginRequest",
    "LogoutRequest",
    "MeResponse",
    "PhoneChallengeAnswer",
    "PhoneChallengeRequest",
    "PhoneChallengeResponse",
    "RefreshRequest",
    "TokenResponse",
    "WeChatLoginRequest",
]

_Secret = Annotated[str, msgspec.Meta(min_length=1, max_length=512)]


class _Request(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Request bodies refuse unknown fields, so a typo is an error rather than a silently ignored value."""


class _Response(msgspec.Struct, frozen=True, kw_only=True):
    pass


class LoginRequest(_Request, kw_only=True):
    login: Annotated[str, msgspec.Meta(min_length=1, max_length=64, description="Login name (any case)")]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]


class PhoneChallengeAnswer(_Request, kw_only=True):
    id: uuid.UUID
    code: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{6}$", description="The six digits sent to the phone")]


class WeChatLoginRequest(_Request, kw_only=True):
    code: Annotated[str, msgspec.Meta(min_length=1, max_length=128, description="From wx.login() in the mini-app")]
    invitation_code: (
        Annotated[str, msgspec.Meta(min_length=1, max_length=32, description="First login: a code staff made for you")]
        | None
    ) = None
    phone_challenge: PhoneChallengeAnswer | None = None


class PhoneChallengeRequest(_Request, kw_only=True):
    phone: Annotated[str, msgspec.Meta(min_length=1, max_length=20, description="Mainland mobile number")]


class RefreshRequest(_Request, kw_only=True):
    refresh_token: _Secret


class LogoutRequest(_Request, kw_only=True):
    refresh_token: _Secret


class InvitationCreateRequest(_Request, kw_only=True):
    person_id: uuid.UUID
    valid_days: Annotated[int, msgspec.Meta(ge=1, le=30)] = 7


class GrantView(_Response, frozen=True, kw_only=True):
    role: str
    scope_kind: str
    scope_id: uuid.UUID
    community_id: uuid.UUID | None
    communities: list[uuid.UUID]


class MeResponse(_Response, frozen=True, kw_only=True):
    subject: str
    person_id: uuid.UUID | None
    home_community_id: uuid.UUID | None
    grants: list[GrantView]
    communities: list[uuid.UUID]

    @classmethod
    def of(cls, principal: Principal) -> MeResponse:
        return cls(
            subject=principal.subject,
            person_id=principal.person_id,
            home_community_id=principal.home_community_id,
            grants=[
                GrantView(
                    role=g.role.value,
                    scope_kind=g.scope_kind.value,
                    scope_id=g.scope_id,
                    community_id=g.community_id,
                    communities=sorted(g.communities),
                )
                for g in principal.grants
            ],
            communities=sorted(principal.communities),
        )


class TokenResponse(_Response, frozen=True, kw_only=True):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 -- the scheme name, not a secret
    expires_in: Annotated[int, msgspec.Meta(description="Seconds the access token is valid")]
    expires_at: datetime
    refresh_token: Annotated[str, msgspec.Meta(description="Single use: each refresh returns the next one")]
    refresh_expires_at: datetime
    me: MeResponse

    @classmethod
    def of(cls, session: Session, now: datetime) -> TokenResponse:
        return cls(
            access_token=session.access.token,
            expires_in=max(0, int((session.access.expires_at - now).total_seconds())),
            expires_at=session.access.expires_at,
            refresh_token=session.refresh_token,
            refresh_expires_at=session.refresh_expires_at,
            me=MeResponse.of(session.principal),
        )


class PhoneChallengeResponse(_Response, frozen=True, kw_only=True):
    id: uuid.UUID
    expires_at: datetime
    dev_code: Annotated[
        str | None, msgspec.Meta(description="Development mode only: the code that would have been sent by SMS")
    ] = None

    @classmethod
    def of(cls, challenge: PhoneChallenge, *, reveal: bool) -> PhoneChallengeResponse:
        return cls(id=challenge.id, expires_at=challenge.expires_at, dev_code=challenge.dev_code if reveal else None)


class InvitationResponse(_Response, frozen=True, kw_only=True):
    code: Annotated[str, msgspec.Meta(description="Shown once; give it to the person for their first WeChat login")]
    person_id: uuid.UUID
    community_id: uuid.UUID
    expires_at: datetime

    @classmethod
    def of(cls, invitation: Invitation) -> InvitationResponse:
        return cls(
            code=invitation.code,
            person_id=invitation.person_id,
            community_id=invitation.community_id,
            expires_at=invitation.expires_at,
        )
