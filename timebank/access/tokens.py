"""Access tokens (short-lived signed JWTs that carry the principal) and refresh-token secrets.

An access token is verified without the database: it carries the principal's grants and visible communities, so a
change of grants takes effect at the next refresh (at most one access-token lifetime later). Refresh tokens are
opaque random secrets, stored only as hashes (see :mod:`timebank.access.store`), so they can be rotated and revoked.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
import msgspec

from timebank.access.errors import InvalidToken
from timebank.access.principal import Grant, Principal, Role, ScopeKind

__all__ = ["ISSUER", "AccessTokens", "IssuedToken", "hash_refresh_secret", "new_refresh_secret"]

ISSUER = "timebank"
_ALGORITHM = "HS256"
#: Clock skew tolerated between the service's workers (and hosts) when checking ``exp`` and ``iat``.
_LEEWAY = timedelta(seconds=30)
#: Verified tokens remembered, so a client's every request does not pay for the signature and claims again.
_VERIFIED_CACHE_SIZE = 4096


class _GrantClaim(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True, kw_only=True):
    role: Role
    scope_kind: ScopeKind
    scope_id: uuid.UUID
    community_id: uuid.UUID | None = None
    communities: list[uuid.UUID] = msgspec.field(default_factory=list)


class _Claims(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True, kw_only=True):
    iss: str
    sub: str
    person_id: uuid.UUID | None = None
    home_community_id: uuid.UUID | None = None
    grants: list[_GrantClaim]
    communities: list[uuid.UUID]
    iat: int
    exp: int
    jti: str


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    jti: str
    expires_at: datetime


class AccessTokens:
    """Signs and verifies access tokens with HS256 under the token-signing key.

    The key is fetched on first use, so building an app (e.g. to render the OpenAPI document) never creates one.
    """

    def __init__(
        self, signing_key: Callable[[], bytes], *, lifetime: timedelta, clock: Callable[[], datetime] | None = None
    ) -> None:
        self._signing_key = signing_key
        self.lifetime = lifetime
        self._clock = clock or (lambda: datetime.now(UTC))
        # token → (principal, the moment it stops being accepted). A token is immutable and signed, so one that
        # verified stays valid until it expires; access tokens are not revocable, so nothing else can change.
        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    def issue(self, principal: Principal, *, lifetime: timedelta | None = None) -> IssuedToken:
        """A signed token for ``principal``, valid for ``lifetime`` (the configured one by default)."""
        now = self._clock().replace(microsecond=0)
        expires_at = now + (lifetime or self.lifetime)
        jti = uuid.uuid4().hex
        claims = _Claims(
            iss=ISSUER,
            sub=principal.subject,
            person_id=principal.person_id,
            home_community_id=principal.home_community_id,
            grants=[
                _GrantClaim(
                    role=g.role,
                    scope_kind=g.scope_kind,
                    scope_id=g.scope_id,
                    community_id=g.community_id,
                    communities=sorted(g.communities),
                )
                for g in principal.grants
            ],
            communities=sorted(principal.communities),
            iat=int(now.timestamp()),
            exp=int(expires_at.timestamp()),
            jti=jti,
        )
        payload = msgspec.to_builtins(claims)
        token = jwt.encode(payload, self._signing_key(), algorithm=_ALGORITHM)
        return IssuedToken(token=token, jti=jti, expires_at=expires_at)

    def verify(self, token: str) -> Principal:
        """The principal a token carries.

        Raises:
            InvalidToken: the token is malformed, forged (bad signature, other algorithm), expired, or its claims
                do not describe a principal.
        """
        remembered = self._verified.get(token)
        if remembered is not None:
            principal, accepted_until = remembered
            if time.time() < accepted_until:
                self._verified.move_to_end(token)
                return principal
            del self._verified[token]
        principal, expires = self._decode(token)
        self._verified[token] = (principal, expires + _LEEWAY.total_seconds())
        if len(self._verified) > _VERIFIED_CACHE_SIZE:
            self._verified.popitem(last=False)
        return principal

    def _decode(self, token: str) -> tuple[Principal, int]:
        try:
            payload = jwt.decode(
                token,
                self._signing_key(),
                algorithms=[_ALGORITHM],
                issuer=ISSUER,
                leeway=_LEEWAY,
                options={"require": ["exp", "iat", "jti", "sub", "iss"]},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("the access token has expired; refresh it", reason="expired") from None
        except jwt.InvalidTokenError:
            raise InvalidToken("the access token is not valid", reason="invalid") from None
        try:
            claims = msgspec.convert(payload, _Claims)
        except msgspec.ValidationError:
            raise InvalidToken("the access token is not valid", reason="invalid") from None
        principal = Principal(
            subject=claims.sub,
            person_id=claims.person_id,
            home_community_id=claims.home_community_id,
            grants=tuple(
                Grant(g.role, g.scope_kind, g.scope_id, g.community_id, frozenset(g.communities)) for g in claims.grants
            ),
            communities=frozenset(claims.communities),
        )
        return principal, claims.exp


def new_refresh_secret() -> str:
    """A fresh refresh token: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def hash_refresh_secret(secret: str) -> bytes:
    """What the database keeps of a refresh token. The secret is random, so a plain SHA-256 cannot be reversed."""
    return hashlib.sha256(secret.encode()).digest()
