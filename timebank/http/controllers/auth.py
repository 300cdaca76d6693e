"""HTTP face of login: password and WeChat login, phone challenges, refresh, logout, who am I, invitations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from timebank.access.contracts import (
    InvitationCreateRequest,
    InvitationResponse,
    LoginRequest,
    LogoutRequest,
    MeResponse,
    PhoneChallengeRequest,
    PhoneChallengeResponse,
    RefreshRequest,
    TokenResponse,
    WeChatLoginRequest,
)
from timebank.access.principal import Principal
from timebank.access.scoped import bound_for
from timebank.access.service import AccessService, Session

__all__ = ["AuthController"]


def _tokens(session: Session) -> TokenResponse:
    return TokenResponse.of(session, datetime.now(UTC))


class AuthController(Controller):
    path = "/auth"
    tags = ["auth"]  # noqa: RUF012

    @post("/login", operation_id="LoginWithPassword", opt={"action": "auth.login"}, status_code=200,
          summary="Log in with a login name and password (staff, partner units)")  # fmt: skip
    async def login(self, access: NamedDependency[AccessService], data: JSONBody[LoginRequest]) -> TokenResponse:
        return _tokens(await access.login_password(data.login, data.password))

    @post("/wechat", operation_id="LoginWithWeChat", opt={"action": "auth.wechat"}, status_code=200,
          summary="Log in from the mini-app; the first login binds by invitation code or phone challenge")  # fmt: skip
    async def wechat(self, access: NamedDependency[AccessService], data: JSONBody[WeChatLoginRequest]) -> TokenResponse:
        challenge = (data.phone_challenge.id, data.phone_challenge.code) if data.phone_challenge else None
        session = await access.login_wechat(data.code, invitation_code=data.invitation_code, phone_challenge=challenge)
        return _tokens(session)

    @post("/phone-challenges", operation_id="StartPhoneChallenge", opt={"action": "auth.phone_challenge"},
          summary="Send a verification code to a phone (development mode: the code is in the response)")  # fmt: skip
    async def phone_challenge(
        self, access: NamedDependency[AccessService], data: JSONBody[PhoneChallengeRequest]
    ) -> PhoneChallengeResponse:
        challenge = await access.start_phone_challenge(data.phone)
        return PhoneChallengeResponse.of(challenge, reveal=access.dev_mode)

    @post("/refresh", operation_id="RefreshSession", opt={"action": "auth.refresh"}, status_code=200,
          summary="Trade a refresh token (single use) for a new access token and refresh token")  # fmt: skip
    async def refresh(self, access: NamedDependency[AccessService], data: JSONBody[RefreshRequest]) -> TokenResponse:
        return _tokens(await access.refresh(data.refresh_token))

    @post("/logout", operation_id="Logout", opt={"action": "auth.logout"}, status_code=204,
          summary="Revoke the session of a refresh token")  # fmt: skip
    async def logout(self, access: NamedDependency[AccessService], data: JSONBody[LogoutRequest]) -> None:
        await access.logout(data.refresh_token)

    @get("/me", operation_id="GetMe", opt={"action": "auth.me"}, summary="The caller: roles, scopes, communities")
    async def me(self, principal: NamedDependency[Principal]) -> MeResponse:
        return MeResponse.of(principal)

    @post("/invitations", operation_id="CreateInvitation", opt={"action": "auth.invitation.create"},
          summary="Make a single-use code that binds a person's first WeChat login (shown once)")  # fmt: skip
    async def create_invitation(
        self,
        access: NamedDependency[AccessService],
        principal: NamedDependency[Principal],
        data: JSONBody[InvitationCreateRequest],
    ) -> Response[InvitationResponse]:
        async with bound_for(access.pool, principal) as connection:
            invitation = await access.create_invitation(
                connection,
                data.person_id,
                by=principal,
                valid_for=timedelta(days=data.valid_days),
            )
        return Response(InvitationResponse.of(invitation), status_code=201)
