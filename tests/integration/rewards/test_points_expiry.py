"""Points expiry where the policy sets a validity: oldest points first, and only after a notice period."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from click.testing import CliRunner

from tests.integration.rewards.support import (
    Mall,
    available,
    build_mall,
    issue,
    ledger_verifies,
    order,
    pick_up,
    resident,
    stocked_item,
)
from timebank.access.principal import Principal
from timebank.community.accounts import SystemRole, system_account_id
from timebank.db import Database, bound
from timebank.ledger import Asset, Code, LedgerService
from timebank.rewards.expiry import expire_points, notices_of
from timebank.rewards.points import person_points

VALIDITY = timedelta(days=365)
NOTICE = timedelta(days=30)


async def _last_credit(database: Database, mall: Mall, person: Principal) -> datetime:
    assert person.person_id is not None
    created: datetime = await database.pool.fetchval(
        "SELECT max(created_at) FROM ledger_transfer WHERE credit_account_id = $1",
        person_points(mall.community, person.person_id),
    )
    return created


async def test_the_oldest_unspent_points_expire_after_their_notice(database: Database) -> None:
    mall = await build_mall(database, points_validity_days=365, expiry_notice_days=30, auto_approve_max_points=100)
    bowl = await stocked_item(database, mall, price=30, stock=5)
    elder = await resident(database, mall, points=100)  # the old lot
    old_lot = await _last_credit(database, mall, elder)
    await pick_up(database, mall, await order(database, mall, elder, (bowl, 1)))  # spends 30 of the old lot
    assert elder.person_id is not None
    await issue(database, mall.community, elder.person_id, 50)  # a newer lot
    new_lot = await _last_credit(database, mall, elder)
    assert new_lot > old_lot
    between = old_lot + (new_lot - old_lot) / 2

    # 30 days before the old lot's year is up, the resident is told that 70 points will expire.
    told_at = between + VALIDITY - NOTICE
    first = await expire_points(database.pool, community_id=mall.community, now=told_at)
    async with bound(database.pool, [mall.community]) as connection:
        [notice] = await notices_of(connection, elder.person_id)
    assert (first.notices, first.points_expired) == (1, 0)
    assert (notice.amount, notice.due_at) == (70, told_at + NOTICE)

    # A day before it is due, nothing happens; once due, the 70 unspent old points go and the new lot stays.
    early = await expire_points(database.pool, community_id=mall.community, now=notice.due_at - timedelta(days=1))
    due = await expire_points(database.pool, community_id=mall.community, now=notice.due_at + timedelta(minutes=1))
    again = await expire_points(database.pool, community_id=mall.community, now=notice.due_at + timedelta(days=1))
    assert early.points_expired == 0
    assert (due.accounts_expired, due.points_expired) == (1, 70)
    assert again.points_expired == 0
    assert await available(database, mall, elder) == 50
    expiry = await LedgerService(database.pool).get_account(
        system_account_id(mall.community, SystemRole.expiry, Asset.points)
    )
    assert expiry.posted == 70
    [moved] = await database.pool.fetch(
        "SELECT code, ref_type, ref_id, policy_version FROM ledger_transfer WHERE credit_account_id = $1", expiry.id
    )
    assert (moved["code"], moved["ref_type"], moved["ref_id"], moved["policy_version"]) == (
        Code.expiry,
        "points_expiry",
        notice.id,
        1,
    )
    assert await ledger_verifies(database, mall) == []


async def test_nothing_expires_without_a_notice_first(database: Database) -> None:
    mall = await build_mall(database, points_validity_days=365, expiry_notice_days=30)
    saver = await resident(database, mall, points=80)
    earned = await _last_credit(database, mall, saver)

    # The job first runs long after the points passed their validity: it only gives notice.
    late = earned + VALIDITY + timedelta(days=100)
    first = await expire_points(database.pool, community_id=mall.community, now=late)
    assert (first.notices, first.points_expired) == (1, 0)
    assert await available(database, mall, saver) == 80
    second = await expire_points(database.pool, community_id=mall.community, now=late + NOTICE + timedelta(hours=1))
    assert second.points_expired == 80
    assert await available(database, mall, saver) == 0


async def test_held_points_count_as_spent_and_communities_without_validity_keep_points(database: Database) -> None:
    mall = await build_mall(database, points_validity_days=365, expiry_notice_days=0)
    keeper = await build_mall(database)  # no validity: points never expire
    bowl = await stocked_item(database, mall, price=30, stock=5)
    holder = await resident(database, mall, points=100)
    forever = await resident(database, keeper, points=100)
    await order(database, mall, holder, (bowl, 2))  # 60 held, not yet handed over
    earned = await _last_credit(database, mall, holder)

    later = earned + VALIDITY + timedelta(days=1)
    for community in (mall.community, keeper.community):
        await expire_points(database.pool, community_id=community, now=later)
        await expire_points(database.pool, community_id=community, now=later + timedelta(minutes=1))

    assert await available(database, mall, holder) == 0  # 100 earned - 60 held - 40 expired
    assert await available(database, keeper, forever) == 100
    assert await ledger_verifies(database, mall) == []


def test_the_expire_points_command_runs_the_job(database_url: str) -> None:
    from timebank.cli import main

    result = CliRunner().invoke(
        main,
        ["rewards", "expire-points", "--community", str(uuid.uuid4())],
        env={"TIMEBANK_DATABASE_URL": database_url},
    )
    assert result.exit_code == 0, result.output
    assert "0 communities with expiry" in result.output
