"""Logins and sessions: password and WeChat login, phone challenges, invitations, refresh rotation, logout.

A *session* is an access token (short-lived, carries the principal) and a refresh token (long-lived, single-use,
stored hashed). Each refresh uses up its token and returns the next of the same *family*; a used token presented
again revokes the family, so whichever of the thief and the owner comes second is signed out, and the other soon.
"""

from __future__ import annotations

import functools
import hmac
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg
import structlog

from timebank.access import store
from timebank.access.codes import CodeHasher, new_invitation_code, new_phone_code, normalize_invitation_code
from timebank.access.errors import (
    BindingRequired,
    InvalidCode,
    InvalidCredentials,
    InvalidToken,
    LoginLocked,
    LoginTaken,
    ProviderUnavailable,
    RefreshTokenReused,
    TooManyAttempts,
)
from timebank.access.passwords import Passwords, check_new_password
from timebank.access.policy import Policy
from timebank.access.principal import Principal
from timebank.access.principals import principal_of
from timebank.access.tokens import AccessTokens, IssuedToken, hash_refresh_secret, new_refresh_secret
from timebank.access.wechat import WeChatProvider, wechat_provider
from timebank.community import audit
from timebank.db import EVERY_COMMUNITY, bound
from timebank.errors import InvalidInput, NotFound
from timebank.keys import Keys, load_keys
from timebank.settings import Settings

__all__ = ["AccessService", "Invitation", "PhoneChallenge", "Session"]

_log = structlog.get_logger("timebank.access")

_LOGIN = re.compile(r"^[a-z0-9][a-z0-9._@-]{2,63}$")
_PHONE = re.compile(r"^1[3-9][0-9]{9}$")
PHONE_CODE_LIFETIME = timedelta(minutes=10)
#: At most this many phone challenges per phone per window.
PHONE_CHALLENGES_PER_WINDOW = 5
PHONE_CHALLENGE_WINDOW = timedelta(hours=1)
PHONE_CODE_GUESSES = 5


@dataclass(frozen=True, slots=True)
class Session:
    principal: Principal
    access: IssuedToken
    refresh_token: str
    refresh_expires_at: datetime


@dataclass(frozen=True, slots=True)
class PhoneChallenge:
    id: uuid.UUID
    expires_at: datetime
    #: The code itself, only with the development provider (there is no SMS gateway to send it through).
    dev_code: str | None


@dataclass(frozen=True, slots=True)
class Invitation:
    code: str
    person_id: uuid.UUID
    community_id: uuid.UUID
    expires_at: datetime


def normalize_login(login: str) -> str:
    """Login names compare case-insensitively and without surrounding blanks."""
    return login.strip().lower()


class AccessService:
    """Identity for the whole app, built once by the composition root.

    Args:
        settings: token lifetimes, the WeChat provider, the key source.
        pool: returns the application pool (the app opens it after building this).
        policy: the access policy the HTTP guard runs.
        wechat: overrides the provider the settings name (tests).
        passwords: overrides the password hasher (tests use cheaper parameters).
    """

    def __init__(
        self,
        settings: Settings,
        pool: Callable[[], asyncpg.Pool],
        *,
        policy: Policy,
        wechat: WeChatProvider | None = None,
        passwords: Passwords | None = None,
    ) -> None:
        self._pool = pool
        self.policy = policy
        self.dev_mode = settings.wechat_provider == "dev"
        self.wechat = wechat or wechat_provider(settings)
        self.passwords = passwords or Passwords()
        self.refresh_lifetime = timedelta(days=settings.refresh_token_days)
        # Keys are read (or generated) on first use, not when the app is built.
        keys = functools.cache(lambda: load_keys(settings))
        self._keys: Callable[[], Keys] = keys
        self.tokens = AccessTokens(
            lambda: keys().token_signing, lifetime=timedelta(minutes=settings.access_token_minutes)
        )
        self._codes = CodeHasher(lambda: keys().derive("timebank/access-codes/v1"))

    @property
    def pool(self) -> asyncpg.Pool:
        return self._pool()

    # -- sessions ---------------------------------------------------------------------------------------------
    async def _start(
        self, connection: asyncpg.Connection, person_id: uuid.UUID, family_id: uuid.UUID | None = None
    ) -> Session:
        principal = await principal_of(connection, person_id)
        secret = new_refresh_secret()
        expires_at = await store.insert_refresh_token(
            connection,
            person_id=person_id,
            family_id=family_id or uuid.uuid4(),
            token_hash=hash_refresh_secret(secret),
            valid_for=self.refresh_lifetime,
        )
        return Session(principal, self.tokens.issue(principal), secret, expires_at)

    async def refresh(self, refresh_token: str) -> Session:
        """Use up ``refresh_token`` for a new session of the same family, with the person's current grants.

        Raises:
            InvalidToken: unknown, expired or revoked (field ``refresh_token``).
            RefreshTokenReused: already used: the family is now revoked.
        """
        async with bound(self.pool, EVERY_COMMUNITY) as connection:
            row = await store.lock_refresh_token(connection, hash_refresh_secret(refresh_token))
            if row is None or row["revoked"] or row["expired"]:
                raise InvalidToken("the refresh token is not valid; log in again", field="refresh_token")
            if not row["used"]:
                await store.use_refresh_token(connection, row["id"])
                return await self._start(connection, row["person_id"], row["family_id"])
            revoked = await store.revoke_family(connection, row["family_id"])
        # Raised after the transaction, so the revocation is committed before the caller hears about it.
        _log.warning("refresh_token_reused", person_id=str(row["person_id"]), revoked=revoked)
        raise RefreshTokenReused(
            "this refresh token was already used, so its session is revoked; log in again", field="refresh_token"
        )

    async def logout(self, refresh_token: str) -> None:
        """Revoke the session (the family) of ``refresh_token``; unknown tokens are ignored."""
        async with bound(self.pool, EVERY_COMMUNITY) as connection:
            row = await store.lock_refresh_token(connection, hash_refresh_secret(refresh_token))
            if row is not None:
                await store.revoke_family(connection, row["family_id"])
                _log.info("logged_out", person_id=str(row["person_id"]))

    # -- passwords --------------------------------------------------------------------------------------------
    async def login_password(self, login: str, password: str) -> Session:
        """Log in by login name and password.

        Raises:
            InvalidCredentials: unknown login or wrong password (the same answer for both, in the same time).
            LoginLocked: five wrong passwords in a row; locked for 15 minutes.
        """
        name = normalize_login(login)
        async with bound(self.pool, EVERY_COMMUNITY) as connection:
            row = await store.find_password(connection, name)
        if row is not None and row["locked_until"] is not None and row["locked_until"] > row["now"]:
            raise self._locked(row["locked_until"] - row["now"])
        if not await self.passwords.verify(row["password_hash"] if row else None, password) or row is None:
            if row is not None:
                async with bound(self.pool, EVERY_COMMUNITY) as connection:
                    locked_until = await store.password_failed(connection, row["person_id"])
                if locked_until is not None:
                    _log.warning("login_locked", login=name)
                    raise self._locked(locked_until - row["now"])
            _log.info("login_failed", login=name)
            raise InvalidCredentials("the login name or password is wrong", field="password")
        rehashed = await self.passwords.hash(password) if self.passwords.needs_rehash(row["password_hash"]) else None
        async with bound(self.pool, EVERY_COMMUNITY) as connection:
            await store.password_succeeded(connection, row["person_id"], rehashed)
            session = await self._start(connection, row["person_id"])
        _log.info("logged_in", method="password", person_id=str(row["person_id"]))
        return session

    @staticmethod
    def _locked(remaining: timedelta) -> LoginLocked:
        seconds = max(1, int(remaining.total_seconds() + 0.999))
        return LoginLocked(
            f"too many wrong passwords: this login is locked for {seconds} more seconds",
            retry_after=seconds,
            field="login",
        )

    async def set_password(self, person_id: uuid.UUID, login: str, password: str) -> None:
        """Give a person (staff, partner-unit admins) a login name and password, or change them.

        Raises:
            InvalidInput: the login name or password is unacceptable (field ``login`` or ``password``).
            LoginTaken: another person has this login name.
            NotFound: no such person.
        """
        name = normalize_login(login)
        if not _LOGIN.match(name):
            raise InvalidInput(
                "a login name has 3 to 64 letters, digits and . _ @ -, starting with a letter or digit", field="login"
            )
        check_new_password(password)
        password_hash = await self.passwords.hash(password)
        try:
            async with bound(self.pool, EVERY_COMMUNITY) as connection:
                await store.upsert_password(connection, person_id, name, password_hash)
        except asyncpg.UniqueViolationError:
            raise LoginTaken("this login name is taken", field="login", login=name) from None
        except asyncpg.ForeignKeyViolationError:
            raise NotFound("no such person", field="person_id", person_id=str(person_id)) from None

    async def principal_for_login(self, login: str) -> Principal:
        async with bound(self.pool, EVERY_COMMUNITY) as connection:
            row = await store.find_password(connection, normalize_login(login))
            if row is None:
                raise NotFound("no such login", field="login", login=login)
            return await principal_of(connection, row["person_id"])

    async def principal_for_person(self, person_id: uuid.UUID) -> Principal:
        async with bound(self.pool, EVERY_COMMUNITY) as connection:
            return await principal_of(connection, person_id)

    # -- WeChat -----------------------------------------------------------------------------------------------
    async def login_wechat(
        self,
        code: str,
        *,
        invitation_code: str | None = None,
        phone_challenge: tuple[uuid.UUID, str] | None = None,
    ) -> Session:
        """Log in with a ``wx.login()`` code; the first login binds the WeChat user to a person.

        Args:
            code: the mini-app's login code.
            invitation_code: a staff invitation for the person (first login).
            phone_challenge: (challenge id, code received by SMS) for the phone registered for the person (first
                login).

        Raises:
            WeChatCodeRejected, ProviderUnavailable: from the provider.
            BindingRequired: first login without an invitation code or phone challenge.
            InvalidCode: the invitation or phone code is wrong, used or expired.
            TooManyAttempts: the phone challenge has had its five guesses.
        """
        identity = await self.wechat.identify(code)
        async with bound(self.pool, EVERY_COMMUNITY) as connection:
            person_id = await store.person_of_wechat(connection, identity.app, identity.openid)
            if person_id is not None:
                session = await self._start(connection, person_id)
                _log.info("logged_in", method="wechat", person_id=str(person_id))
                return session
        if invitation_code is None and phone_challenge is None:
            raise BindingRequired(
                "first login with this WeChat account: give an invitation code from community staff, "
                "or verify the phone number registered with your community",
                field="invitation_code",
            )
        if phone_challenge is not None:
            # Verified in a transaction of its own, so wrong guesses count even though the login fails.
            phone = await self._verify_phone(*phone_challenge)
            async with bound(self.pool, EVERY_COMMUNITY) as connection:
                person_id = await self._person_with_phone(connection, phone)
                person_id = await store.bind_wechat(
                    connection, app=identity.app, openid=identity.openid, unionid=identity.unionid,
                    person_id=person_id, bound_by="phone",
                )  # fmt: skip
                session = await self._start(connection, person_id)
            _log.info("wechat_bound", method="phone", person_id=str(person_id))
            return session
        normalized = normalize_invitation_code(invitation_code or "")
        async with bound(self.pool, EVERY_COMMUNITY) as connection:
            invitation = None
            if normalized is not None:
                invitation = await store.lock_invitation(connection, self._codes("invitation", normalized))
            if invitation is None:
                raise InvalidCode("this invitation code is wrong, used or expired", field="invitation_code")
            await store.use_invitation(connection, invitation["id"], identity.openid)
            person_id = await store.bind_wechat(
                connection, app=identity.app, openid=identity.openid, unionid=identity.unionid,
                person_id=invitation["person_id"], bound_by="invitation",
            )  # fmt: skip
            session = await self._start(connection, person_id)
        _log.info("wechat_bound", method="invitation", person_id=str(person_id))
        return session

    async def _person_with_phone(self, connection: asyncpg.Connection, phone: str) -> uuid.UUID:
        rows = await connection.fetch("SELECT id FROM person WHERE phone = $1 LIMIT 2", phone)
        if len(rows) != 1:
            problem = "no one is" if not rows else "more than one person is"
            raise InvalidInput(
                f"{problem} registered with this phone number; ask your community for an invitation code",
                field="phone_challenge",
            )
        person_id: uuid.UUID = rows[0]["id"]
        return person_id

    # -- phone challenges -------------------------------------------------------------------------------------
    async def start_phone_challenge(self, phone: str) -> PhoneChallenge:
        """Send a six-digit code to ``phone`` (answers the same whether or not anyone is registered with it).

        Raises:
            InvalidInput: not a mainland mobile number (field ``phone``).
            TooManyAttempts: five challenges for this phone in the last hour.
            ProviderUnavailable: no SMS gateway (only the development mode can verify phones today).
        """
        if not _PHONE.match(phone):
            raise InvalidInput("a mobile number has 11 digits and starts with 1", field="phone")
        if not self.dev_mode:
            raise ProviderUnavailable(
                "phone verification needs an SMS gateway, and none is configured; use an invitation code",
                provider="sms",
            )
        challenge_id = uuid.uuid4()
        code = new_phone_code()
        async with bound(self.pool, EVERY_COMMUNITY) as connection:
            recent = await store.count_recent_challenges(connection, phone, PHONE_CHALLENGE_WINDOW)
            if recent["recent"] >= PHONE_CHALLENGES_PER_WINDOW:
                raise TooManyAttempts(
                    "too many codes sent to this phone; wait before asking again",
                    retry_after=max(1, recent["retry_after"] or 1),
                    field="phone",
                )
            expires_at = await store.insert_challenge(
                connection, challenge_id, phone, self._codes("phone", f"{challenge_id}:{code}"), PHONE_CODE_LIFETIME
            )
        # Development only (checked above): the "SMS" is the log, and the response.
        _log.info("phone_code_sent", challenge_id=str(challenge_id), phone=phone[:3] + "****" + phone[-4:], code=code)
        return PhoneChallenge(challenge_id, expires_at, code)

    async def _verify_phone(self, challenge_id: uuid.UUID, code: str) -> str:
        failure: Exception | None = None
        async with bound(self.pool, EVERY_COMMUNITY) as connection:
            row = await store.lock_challenge(connection, challenge_id)
            if row is None or row["verified"] or row["expired"]:
                failure = InvalidCode("this phone challenge is unknown, used or expired", field="phone_challenge.id")
            elif row["attempts"] >= PHONE_CODE_GUESSES:
                failure = TooManyAttempts(
                    "too many wrong codes for this challenge; ask for a new code",
                    retry_after=1,
                    field="phone_challenge.code",
                )
            else:
                right = hmac.compare_digest(self._codes("phone", f"{challenge_id}:{code}"), row["code_hash"])
                await store.mark_challenge(connection, challenge_id, verified=right)
                if not right:
                    failure = InvalidCode(
                        "the phone code is wrong",
                        field="phone_challenge.code",
                        attempts_left=PHONE_CODE_GUESSES - row["attempts"] - 1,
                    )
        if failure is not None:
            raise failure
        assert row is not None
        phone: str = row["phone"]
        return phone

    # -- invitations ------------------------------------------------------------------------------------------
    async def create_invitation(
        self,
        connection: asyncpg.Connection,
        person_id: uuid.UUID,
        *,
        by: Principal,
        valid_for: timedelta,
    ) -> Invitation:
        """Make a single-use invitation code for a person, on a transaction bound to the caller's communities.

        The code is returned once and stored only hashed; the audit log records who made it for whom.

        Raises:
            NotFound: no such person visible to the caller (field ``person_id``).
        """
        community_id = await connection.fetchval("SELECT community_id FROM person WHERE id = $1", person_id)
        if community_id is None:
            raise NotFound("no such person", field="person_id", person_id=str(person_id))
        code = new_invitation_code()
        row = await store.insert_invitation(
            connection,
            community_id=community_id,
            person_id=person_id,
            code_hash=self._codes("invitation", normalize_invitation_code(code) or ""),
            created_by=by.person_id,
            valid_for=valid_for,
        )
        await audit.record(
            connection,
            by,
            community_id=community_id,
            action="invitation.create",
            entity="person",
            entity_id=person_id,
            after={"invitation_id": str(row["id"]), "expires_at": row["expires_at"].isoformat()},
        )
        return Invitation(code, person_id, community_id, row["expires_at"])
