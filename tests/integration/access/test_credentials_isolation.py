"""Credentials are invisible to request transactions: only system transactions (logins) read them."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import pytest

from tests.auth_support import Org, access_service
from timebank.access.principal import Role
from timebank.db import EVERY_COMMUNITY, Database, bound

CREDENTIALS = ("access_password", "access_wechat_binding", "access_phone_challenge", "access_refresh_token")


async def test_a_community_bound_transaction_sees_no_credentials(org: Org, database: Database) -> None:
    community = await org.community()
    staff = await org.person(community, Role.community_staff)
    await access_service(database.pool).set_password(staff.id, f"iso-{staff.id.hex[:8]}", "a long enough one")
    async with bound(database.pool, [community]) as connection:
        for table in CREDENTIALS:
            assert await connection.fetchval(f"SELECT count(*) FROM {table}") == 0, table
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await connection.execute("DELETE FROM access_refresh_token")
    async with bound(database.pool, EVERY_COMMUNITY) as connection:
        assert await connection.fetchval("SELECT count(*) FROM access_password WHERE person_id = $1", staff.id) == 1


async def test_invitations_belong_to_their_community(org: Org, database: Database) -> None:
    community, other = await org.community(), await org.community()
    staff = await org.person(community, Role.community_staff)
    resident = await org.person(community)
    access = access_service(database.pool)
    async with bound(database.pool, [community]) as connection:
        await access.create_invitation(connection, resident.id, by=staff.principal, valid_for=timedelta(days=1))
    count = "SELECT count(*) FROM access_invitation WHERE person_id = $1"
    async with bound(database.pool, [other]) as connection:
        assert await connection.fetchval(count, resident.id) == 0
    async with bound(database.pool, [community]) as connection:
        assert await connection.fetchval(count, resident.id) == 1
