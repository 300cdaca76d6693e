"""SQL of the access tables. Every function runs on the caller's connection, inside the caller's transaction
(bound to every community: credentials are invisible to transactions bound to communities)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, TypeAlias

import asyncpg

from timebank.access.passwords import LOCKOUT, MAX_FAILURES

__all__ = [
    "bind_wechat",
    "count_recent_challenges",
    "find_password",
    "insert_challenge",
    "insert_invitation",
    "insert_refresh_token",
    "lock_challenge",
    "lock_invitation",
    "lock_refresh_token",
    "mark_challenge",
    "password_failed",
    "password_succeeded",
    "person_of_wechat",
    "revoke_family",
    "upsert_password",
    "use_invitation",
    "use_refresh_token",
]

#: An asyncpg Record (asyncpg ships no type information).
Row: TypeAlias = Any


async def find_password(connection: asyncpg.Connection, login: str) -> Row | None:
    return await connection.fetchrow(
        "SELECT person_id, password_hash, failed_attempts, locked_until, now() AS now "
        "FROM access_password WHERE login = $1",
        login,
    )


async def password_failed(connection: asyncpg.Connection, person_id: uuid.UUID) -> datetime | None:
    """Count a wrong password; the fifth in a row locks the login and starts the count again. Returns the lock."""
    locked_until: datetime | None = await connection.fetchval(
        """
        UPDATE access_password SET
            failed_attempts = CASE WHEN failed_attempts + 1 >= $2 THEN 0 ELSE failed_attempts + 1 END,
            locked_until = CASE WHEN failed_attempts + 1 >= $2 THEN now() + $3::interval ELSE locked_until END,
            updated_at = now()
        WHERE person_id = $1
        RETURNING CASE WHEN locked_until > now() THEN locked_until END
        """,
        person_id,
        MAX_FAILURES,
        LOCKOUT,
    )
    return locked_until


async def password_succeeded(connection: asyncpg.Connection, person_id: uuid.UUID, new_hash: str | None) -> None:
    await connection.execute(
        """
        UPDATE access_password SET failed_attempts = 0, locked_until = NULL, last_login_at = now(),
            password_hash = coalesce($2, password_hash), updated_at = now()
        WHERE person_id = $1
        """,
        person_id,
        new_hash,
    )


async def upsert_password(connection: asyncpg.Connection, person_id: uuid.UUID, login: str, password_hash: str) -> None:
    """Set a person's login name and password; a new password also lifts a lock."""
    await connection.execute(
        """
        INSERT INTO access_password (person_id, login, password_hash) VALUES ($1, $2, $3)
        ON CONFLICT (person_id) DO UPDATE SET login = excluded.login, password_hash = excluded.password_hash,
            failed_attempts = 0, locked_until = NULL, updated_at = now()
        """,
        person_id,
        login,
        password_hash,
    )


async def person_of_wechat(connection: asyncpg.Connection, app: str, openid: str) -> uuid.UUID | None:
    person_id: uuid.UUID | None = await connection.fetchval(
        "UPDATE access_wechat_binding SET last_login_at = now() WHERE app = $1 AND openid = $2 RETURNING person_id",
        app,
        openid,
    )
    return person_id


async def bind_wechat(
    connection: asyncpg.Connection,
    *,
    app: str,
    openid: str,
    unionid: str | None,
    person_id: uuid.UUID,
    bound_by: str,
) -> uuid.UUID:
    """Bind the openid to the person; if a concurrent first login bound it already, that binding stands."""
    bound: uuid.UUID | None = await connection.fetchval(
        """
        INSERT INTO access_wechat_binding (app, openid, unionid, person_id, bound_by, last_login_at)
        VALUES ($1, $2, $3, $4, $5, now())
        ON CONFLICT (app, openid) DO NOTHING RETURNING person_id
        """,
        app,
        openid,
        unionid,
        person_id,
        bound_by,
    )
    if bound is None:
        bound = await connection.fetchval(
            "SELECT person_id FROM access_wechat_binding WHERE app = $1 AND openid = $2", app, openid
        )
    assert bound is not None  # inserted or found, in this transaction
    return bound


async def insert_invitation(
    connection: asyncpg.Connection,
    *,
    community_id: uuid.UUID,
    person_id: uuid.UUID,
    code_hash: bytes,
    created_by: uuid.UUID | None,
    valid_for: timedelta,
) -> Row:
    row: Row = await connection.fetchrow(
        """
        INSERT INTO access_invitation (id, community_id, person_id, code_hash, created_by, expires_at)
        VALUES ($1, $2, $3, $4, $5, now() + $6::interval)
        RETURNING id, person_id, community_id, created_at, expires_at
        """,
        uuid.uuid4(),
        community_id,
        person_id,
        code_hash,
        created_by,
        valid_for,
    )
    return row


async def lock_invitation(connection: asyncpg.Connection, code_hash: bytes) -> Row | None:
    """The invitation with this code if it can still be used (unused, unexpired), locked for use."""
    return await connection.fetchrow(
        """
        SELECT id, person_id FROM access_invitation
        WHERE code_hash = $1 AND used_at IS NULL AND expires_at > now()
        FOR UPDATE
        """,
        code_hash,
    )


async def use_invitation(connection: asyncpg.Connection, invitation_id: uuid.UUID, openid: str) -> None:
    await connection.execute(
        "UPDATE access_invitation SET used_at = now(), used_by_openid = $2 WHERE id = $1", invitation_id, openid
    )


async def count_recent_challenges(connection: asyncpg.Connection, phone: str, window: timedelta) -> Row:
    """How many challenges the phone got within ``window``, and when the oldest of them leaves it."""
    # Serialise challenges per phone, so concurrent requests cannot all slip under the limit.
    await connection.execute("SELECT pg_advisory_xact_lock(hashtextextended('access_phone:' || $1, 0))", phone)
    row: Row = await connection.fetchrow(
        """
        SELECT count(*) AS recent, ceil(extract(epoch FROM min(created_at) + $2::interval - now()))::int AS retry_after
        FROM access_phone_challenge WHERE phone = $1 AND created_at > now() - $2::interval
        """,
        phone,
        window,
    )
    return row


async def insert_challenge(
    connection: asyncpg.Connection, challenge_id: uuid.UUID, phone: str, code_hash: bytes, valid_for: timedelta
) -> datetime:
    expires_at: datetime = await connection.fetchval(
        """
        INSERT INTO access_phone_challenge (id, phone, code_hash, expires_at) VALUES ($1, $2, $3, now() + $4::interval)
        RETURNING expires_at
        """,
        challenge_id,
        phone,
        code_hash,
        valid_for,
    )
    return expires_at


async def lock_challenge(connection: asyncpg.Connection, challenge_id: uuid.UUID) -> Row | None:
    return await connection.fetchrow(
        """
        SELECT phone, code_hash, attempts, verified_at IS NOT NULL AS verified, expires_at <= now() AS expired
        FROM access_phone_challenge WHERE id = $1 FOR UPDATE
        """,
        challenge_id,
    )


async def mark_challenge(connection: asyncpg.Connection, challenge_id: uuid.UUID, *, verified: bool) -> None:
    """Record a guess: a right one uses the challenge up, a wrong one counts against its five."""
    if verified:
        await connection.execute("UPDATE access_phone_challenge SET verified_at = now() WHERE id = $1", challenge_id)
    else:
        await connection.execute(
            "UPDATE access_phone_challenge SET attempts = attempts + 1 WHERE id = $1", challenge_id
        )


async def insert_refresh_token(
    connection: asyncpg.Connection,
    *,
    person_id: uuid.UUID,
    family_id: uuid.UUID,
    token_hash: bytes,
    valid_for: timedelta,
) -> datetime:
    expires_at: datetime = await connection.fetchval(
        """
        INSERT INTO access_refresh_token (id, family_id, person_id, token_hash, expires_at)
        VALUES ($1, $2, $3, $4, now() + $5::interval) RETURNING expires_at
        """,
        uuid.uuid4(),
        family_id,
        person_id,
        token_hash,
        valid_for,
    )
    return expires_at


async def lock_refresh_token(connection: asyncpg.Connection, token_hash: bytes) -> Row | None:
    return await connection.fetchrow(
        """
        SELECT id, family_id, person_id, used_at IS NOT NULL AS used, revoked_at IS NOT NULL AS revoked,
               expires_at <= now() AS expired
        FROM access_refresh_token WHERE token_hash = $1 FOR UPDATE
        """,
        token_hash,
    )


async def use_refresh_token(connection: asyncpg.Connection, token_id: uuid.UUID) -> None:
    await connection.execute("UPDATE access_refresh_token SET used_at = now() WHERE id = $1", token_id)


async def revoke_family(connection: asyncpg.Connection, family_id: uuid.UUID) -> int:
    """Revoke every live token of a family; returns how many were live."""
    status: str = await connection.execute(
        "UPDATE access_refresh_token SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL", family_id
    )
    return int(status.split()[-1])
