"""Access tokens: what they carry, and every way a bad one is refused."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from timebank.access.errors import InvalidToken
from timebank.access.principal import Grant, Principal, Role, ScopeKind
from timebank.access.tokens import AccessTokens, hash_refresh_secret, new_refresh_secret

KEY = b"k" * 32
COMMUNITY, OTHER, STREET, PERSON = (uuid.uuid4() for _ in range(4))


def _tokens(key: bytes = KEY, *, clock: datetime | None = None) -> AccessTokens:
    return AccessTokens(lambda: key, lifetime=timedelta(minutes=15), clock=(lambda: clock) if clock else None)


def _auditor() -> Principal:
    return Principal(
        subject=str(PERSON),
        person_id=PERSON,
        home_community_id=COMMUNITY,
        grants=(
            Grant(Role.resident, ScopeKind.self, PERSON, COMMUNITY),
            Grant(Role.auditor, ScopeKind.street, STREET, None, frozenset({COMMUNITY, OTHER})),
        ),
        communities=frozenset({COMMUNITY, OTHER}),
    )


def test_a_token_carries_the_principal() -> None:
    principal = _auditor()
    issued = _tokens().issue(principal)
    assert _tokens().verify(issued.token) == principal
    claims = jwt.decode(issued.token, KEY, algorithms=["HS256"])
    assert {"sub", "person_id", "grants", "communities", "exp", "iat", "jti", "iss"} <= claims.keys()
    assert claims["exp"] - claims["iat"] == 15 * 60
    assert claims["jti"] == issued.jti


def test_system_principal_round_trips() -> None:
    system = Principal.system("importer")
    verified = _tokens().verify(_tokens().issue(system).token)
    assert verified.is_system
    assert verified.subject == "system:importer"
    assert verified.person_id is None


def test_expired_token_is_refused() -> None:
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    token = _tokens(clock=an_hour_ago).issue(_auditor()).token
    with pytest.raises(InvalidToken) as caught:
        _tokens().verify(token)
    assert caught.value.fields["reason"] == "expired"


def test_other_key_is_refused() -> None:
    token = _tokens(b"x" * 32).issue(_auditor()).token
    with pytest.raises(InvalidToken):
        _tokens().verify(token)


@pytest.mark.parametrize(
    "forge",
    [
        # alg "none": no signature at all
        lambda claims: jwt.encode(claims, None, algorithm="none"),
        # a different HMAC algorithm under a key that starts like the right one
        lambda claims: jwt.encode(claims, KEY * 2, algorithm="HS512"),
        # granted itself the system role, signed with a guessed key
        lambda claims: jwt.encode({**claims, "grants": [{"role": "system", "scope_kind": "system",
                                  "scope_id": str(uuid.UUID(int=0))}]}, b"guess" * 8, algorithm="HS256"),
    ],
)  # fmt: skip
def test_forged_tokens_are_refused(forge: object) -> None:
    claims = jwt.decode(_tokens().issue(_auditor()).token, KEY, algorithms=["HS256"])
    with pytest.raises(InvalidToken):
        _tokens().verify(forge(claims))  # type: ignore[operator]


@pytest.mark.parametrize(
    "change",
    [
        {"grants": [{"role": "overlord", "scope_kind": "street", "scope_id": str(STREET)}]},
        {"iss": "someone-else"},
        {"communities": "everything"},
    ],
)
def test_well_signed_but_malformed_claims_are_refused(change: dict[str, object]) -> None:
    claims = jwt.decode(_tokens().issue(_auditor()).token, KEY, algorithms=["HS256"])
    with pytest.raises(InvalidToken):
        _tokens().verify(jwt.encode({**claims, **change}, KEY, algorithm="HS256"))


@pytest.mark.parametrize("missing", ["exp", "iat", "jti", "sub"])
def test_required_claims(missing: str) -> None:
    claims = jwt.decode(_tokens().issue(_auditor()).token, KEY, algorithms=["HS256"])
    del claims[missing]
    with pytest.raises(InvalidToken):
        _tokens().verify(jwt.encode(claims, KEY, algorithm="HS256"))


@pytest.mark.parametrize("garbage", ["", "not-a-jwt", "a.b.c", "Bearer x"])
def test_garbage_is_refused(garbage: str) -> None:
    with pytest.raises(InvalidToken):
        _tokens().verify(garbage)


def test_refresh_secrets_are_random_and_stored_hashed() -> None:
    first, second = new_refresh_secret(), new_refresh_secret()
    assert first != second
    assert len(first) >= 43
    assert hash_refresh_secret(first) == hash_refresh_secret(first) != hash_refresh_secret(second)
    assert len(hash_refresh_secret(first)) == 32


def test_a_verified_token_is_remembered_until_it_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    tokens = _tokens()
    issued = tokens.issue(_auditor())
    decoded: list[str] = []
    decode = tokens._decode
    monkeypatch.setattr(tokens, "_decode", lambda token: decoded.append(token) or decode(token))
    first = tokens.verify(issued.token)
    assert tokens.verify(issued.token) is first
    assert len(decoded) == 1
    # Past its expiry and the leeway, the remembered entry is dropped and the token is checked afresh.
    later = issued.expires_at.timestamp() + 31
    monkeypatch.setattr("timebank.access.tokens.time.time", lambda: later)
    tokens.verify(issued.token)  # the real clock still accepts it
    assert len(decoded) == 2


def test_a_refused_token_is_never_remembered() -> None:
    tokens = _tokens()
    forged = _tokens(b"another-key-0123456789abcdef0123456789").issue(_auditor()).token
    for _ in range(2):
        with pytest.raises(InvalidToken):
            tokens.verify(forged)
