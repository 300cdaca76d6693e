"""The WeChat providers: the development one, and code2session's answers mapped to clear errors."""

from __future__ import annotations

import json

import httpx
import pytest

from timebank.access.errors import ProviderUnavailable, WeChatCodeRejected
from timebank.access.wechat import Code2SessionProvider, DevWeChatProvider, wechat_provider
from timebank.settings import Secret, Settings, SettingsError


def _provider(answer: object, status: int = 200, seen: list[httpx.Request] | None = None) -> Code2SessionProvider:
    def handle(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        if isinstance(answer, Exception):
            raise answer
        # WeChat answers JSON as text/plain.
        return httpx.Response(status, content=json.dumps(answer), headers={"content-type": "text/plain"})

    return Code2SessionProvider("wx123", Secret("s3cret"), transport=httpx.MockTransport(handle))


async def test_dev_provider_is_deterministic() -> None:
    dev = DevWeChatProvider()
    first, again, other = await dev.identify("alice"), await dev.identify("alice"), await dev.identify("bob")
    assert first == again
    assert first.openid != other.openid
    assert first.app == "dev"


async def test_code2session_success_sends_the_documented_request() -> None:
    seen: list[httpx.Request] = []
    provider = _provider({"openid": "o-1", "session_key": "k", "unionid": "u-1"}, seen=seen)
    identity = await provider.identify("the-code")
    assert (identity.app, identity.openid, identity.unionid) == ("wx123", "o-1", "u-1")
    [request] = seen
    assert request.url.path == "/sns/jscode2session"
    assert dict(request.url.params) == {
        "appid": "wx123", "secret": "s3cret", "js_code": "the-code", "grant_type": "authorization_code",
    }  # fmt: skip


@pytest.mark.parametrize("errcode", [40029, 40163, 40226])
async def test_bad_codes_are_the_users_to_fix(errcode: int) -> None:
    with pytest.raises(WeChatCodeRejected) as caught:
        await _provider({"errcode": errcode, "errmsg": "no"}).identify("c")
    assert caught.value.fields["field"] == "code"
    assert caught.value.fields["errcode"] == errcode


@pytest.mark.parametrize(
    "answer",
    [
        {"errcode": -1, "errmsg": "system busy"},
        {"errcode": 45011, "errmsg": "freq limit"},
        {"errcode": 40013, "errmsg": "invalid appid"},
        {"errcode": 0},
        httpx.ConnectTimeout("slow"),
    ],
)
async def test_outages_and_misconfiguration_are_unavailable(answer: object) -> None:
    with pytest.raises(ProviderUnavailable):
        await _provider(answer).identify("c")


async def test_http_errors_and_garbage_are_unavailable() -> None:
    with pytest.raises(ProviderUnavailable):
        await _provider({"openid": "x"}, status=502).identify("c")
    with pytest.raises(ProviderUnavailable):
        await _provider("<html>").identify("c")


def test_settings_choose_the_provider() -> None:
    assert isinstance(wechat_provider(Settings()), DevWeChatProvider)
    real = Settings.from_env(
        {"TIMEBANK_WECHAT_PROVIDER": "wechat", "TIMEBANK_WECHAT_APPID": "wx1", "TIMEBANK_WECHAT_SECRET": "s"}
    )
    assert isinstance(wechat_provider(real), Code2SessionProvider)
    assert "s'" not in repr(real)
    with pytest.raises(SettingsError) as missing:
        Settings.from_env({"TIMEBANK_WECHAT_PROVIDER": "wechat", "TIMEBANK_WECHAT_APPID": "wx1"})
    assert missing.value.variable == "TIMEBANK_WECHAT_SECRET"
    lifetimes = Settings.from_env({"TIMEBANK_ACCESS_TOKEN_MINUTES": "5", "TIMEBANK_REFRESH_TOKEN_DAYS": "7"})
    assert (lifetimes.access_token_minutes, lifetimes.refresh_token_days) == (5, 7)
