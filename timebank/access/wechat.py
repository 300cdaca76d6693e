"""WeChat mini-app login: exchanging the ``code`` from ``wx.login()`` for the user's openid.

Two providers share one protocol: :class:`Code2SessionProvider` calls WeChat's ``auth.code2Session``;
:class:`DevWeChatProvider` derives the openid from the code itself, so development and tests log in as any
"WeChat user" by choosing a code. ``TIMEBANK_WECHAT_PROVIDER`` picks one (:func:`wechat_provider`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Protocol

import httpx
import msgspec
import structlog

from timebank.access.errors import ProviderUnavailable, WeChatCodeRejected
from timebank.settings import Secret, Settings

__all__ = [
    "Code2SessionProvider",
    "DevWeChatProvider",
    "WeChatIdentity",
    "WeChatProvider",
    "wechat_provider",
]

_log = structlog.get_logger("timebank.access")

CODE2SESSION_URL = "https://api.weixin.qq.com/sns/jscode2session"

#: errcodes that mean "this code is no good": the user gets a new one from wx.login() and tries again.
_REJECTED = {
    40029: "the code is invalid",
    40163: "the code was already used",
    40226: "WeChat blocks this user as high-risk",
}
#: errcodes that mean "try again later".
_BUSY = {-1: "WeChat is busy", 45011: "too many logins from this user in a minute"}


@dataclass(frozen=True, slots=True)
class WeChatIdentity:
    """Who the code belongs to: the openid within ``app`` (an AppID, or ``dev``), and the unionid if WeChat sent it."""

    app: str
    openid: str
    unionid: str | None = None


class WeChatProvider(Protocol):
    """Turns a ``wx.login()`` code into a WeChat identity."""

    @property
    def app(self) -> str: ...

    async def identify(self, code: str) -> WeChatIdentity:
        """The identity behind ``code``.

        Raises:
            WeChatCodeRejected: the code is invalid, used, or its user is blocked (field ``code``).
            ProviderUnavailable: WeChat failed, is busy, or refused the service's credentials.
        """
        ...


class DevWeChatProvider:
    """For development and tests only: the openid is a hash of the code, so equal codes are the same user."""

    app = "dev"

    async def identify(self, code: str) -> WeChatIdentity:
        digest = hashlib.sha256(code.encode()).hexdigest()
        return WeChatIdentity(app=self.app, openid=f"dev-{digest[:28]}")


class _Session(msgspec.Struct):
    openid: str | None = None
    unionid: str | None = None
    errcode: int = 0
    errmsg: str = ""


class Code2SessionProvider:
    """WeChat's ``auth.code2Session`` over HTTPS (the session key it returns is not kept)."""

    def __init__(
        self,
        appid: str,
        secret: Secret,
        *,
        url: str = CODE2SESSION_URL,
        timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.app = appid
        self._secret = secret
        self._url = url
        self._timeout = timeout
        self._transport = transport

    async def identify(self, code: str) -> WeChatIdentity:
        params = {
            "appid": self.app,
            "secret": self._secret.reveal(),
            "js_code": code,
            "grant_type": "authorization_code",
        }
        try:
            # A client per call: logins are rare (a refresh token lasts weeks), so pooling buys little.
            async with httpx.AsyncClient(timeout=self._timeout, transport=self._transport) as client:
                response = await client.get(self._url, params=params)
            response.raise_for_status()
            # WeChat answers JSON, though not always with a JSON content type.
            session = msgspec.json.decode(response.content, type=_Session)
        except (httpx.HTTPError, msgspec.DecodeError) as exc:
            _log.warning("wechat_code2session_failed", error=type(exc).__name__)
            raise ProviderUnavailable("WeChat login is not reachable; try again", provider="wechat") from None
        if session.errcode in _REJECTED:
            raise WeChatCodeRejected(
                f"WeChat refused the login code: {_REJECTED[session.errcode]}", field="code", errcode=session.errcode
            )
        if session.errcode in _BUSY:
            raise ProviderUnavailable(
                f"WeChat login failed: {_BUSY[session.errcode]}; try again", provider="wechat", errcode=session.errcode
            )
        if session.errcode != 0 or not session.openid:
            # e.g. 40013 / 40125: the AppID or AppSecret is wrong. The operator must fix it, not the user.
            _log.error("wechat_code2session_refused", errcode=session.errcode, errmsg=session.errmsg)
            raise ProviderUnavailable(
                "WeChat login is misconfigured on the service", provider="wechat", errcode=session.errcode
            )
        return WeChatIdentity(app=self.app, openid=session.openid, unionid=session.unionid)


def wechat_provider(settings: Settings) -> WeChatProvider:
    """The provider ``TIMEBANK_WECHAT_PROVIDER`` names (settings guarantee the AppID and secret for ``wechat``)."""
    if settings.wechat_provider == "wechat" and settings.wechat_appid and settings.wechat_secret:
        return Code2SessionProvider(settings.wechat_appid, settings.wechat_secret)
    return DevWeChatProvider()
