"""``timebank token`` and ``timebank password``, run as the operator runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

from tests.auth_support import TEST_SECRET_KEY, Org
from timebank.access.principal import Role
from timebank.access.tokens import AccessTokens


def _timebank(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("TIMEBANK_")}
    env |= {"TIMEBANK_DATABASE_URL": database_url, "TIMEBANK_SECRET_KEY": TEST_SECRET_KEY}
    env["TIMEBANK_LOG_LEVEL"] = "error"
    return subprocess.run(
        [sys.executable, "-m", "timebank", *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def _verify(token: str) -> object:
    from timebank.keys import load_keys
    from timebank.settings import Secret, Settings

    key = load_keys(Settings(secret_key=Secret(TEST_SECRET_KEY))).token_signing
    return AccessTokens(lambda: key, lifetime=timedelta(minutes=15)).verify(token)


async def test_tokens_for_a_service_a_person_and_a_login(database_url: str, org: Org) -> None:
    system = _timebank(database_url, "token", "--system", "bench", "--minutes", "600")
    assert system.returncode == 0, system.stderr
    principal = _verify(system.stdout.strip())
    assert principal.is_system  # type: ignore[attr-defined]

    staff = await org.person(await org.community(), Role.community_staff)
    by_id = _timebank(database_url, "token", "--person", str(staff.id))
    assert by_id.returncode == 0, by_id.stderr
    assert _verify(by_id.stdout.strip()) == staff.principal

    login = f"staff-{staff.id.hex[:8]}"
    given = _timebank(database_url, "password", "--person", str(staff.id), "--login", login, "--password", "x" * 12)
    assert given.returncode == 0, given.stderr
    by_login = _timebank(database_url, "token", "--login", login.upper())
    assert by_login.returncode == 0, by_login.stderr
    assert _verify(by_login.stdout.strip()) == staff.principal


def test_token_refuses_unclear_requests(database_url: str) -> None:
    assert _timebank(database_url, "token").returncode == 2
    assert _timebank(database_url, "token", "--system", "a", "--login", "b").returncode == 2
    unknown = _timebank(database_url, "token", "--login", "nobody-at-all")
    assert unknown.returncode == 1
    assert "no such login" in unknown.stderr
