"""Star-rating lists: drafted from a closed period, the notice period, objections resolved by the branch, final."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg
import pytest

from tests.auth_support import Org
from tests.integration.scoring.support import Setup, at, build, open_year
from timebank.db import Database, bound
from timebank.errors import Forbidden, InvalidInput
from timebank.scoring import periods, ratings, recording
from timebank.scoring.errors import SelfAssessment, WrongStage
from timebank.scoring.records import Period

JAN_5 = datetime.fromisoformat("2027-01-05T09:00:00+00:00")


async def _closed_year(database: Database, setup: Setup) -> Period:
    period = await open_year(database, setup)
    async with bound(database.pool, [setup.community]) as connection:
        await recording.record_appraisal(
            connection, setup.secretary.principal, period.id, person_id=setup.members[0].id, points=20, now=at(12, 20)
        )
        await recording.veto(
            connection, setup.secretary.principal, period.id, person_id=setup.members[1].id, reason="违反廉洁纪律"
        )
        await periods.close_period(connection, setup.staff.principal, period.id, now=at(12, 31, 20))
    return period


async def test_a_list_is_drafted_from_the_closed_period(org: Org, database: Database) -> None:
    setup = await build(org, database, members=2)
    period = await open_year(database, setup)
    async with bound(database.pool, [setup.community]) as connection:
        with pytest.raises(WrongStage):
            await ratings.draft_list(connection, setup.staff.principal, period.id, id=uuid.uuid4())
        await recording.record_appraisal(
            connection, setup.secretary.principal, period.id, person_id=setup.members[0].id, points=20, now=at(12, 20)
        )
        with pytest.raises(InvalidInput):
            await recording.record_appraisal(
                connection, setup.secretary.principal, period.id, person_id=setup.members[1].id, points=21
            )
        await recording.veto(
            connection, setup.secretary.principal, period.id, person_id=setup.members[1].id, reason="违反廉洁纪律"
        )
        await periods.close_period(connection, setup.staff.principal, period.id, now=at(12, 31, 20))
        list_id = uuid.uuid4()
        drafted, created = await ratings.draft_list(connection, setup.staff.principal, period.id, id=list_id)
        again, created_again = await ratings.draft_list(connection, setup.staff.principal, period.id, id=list_id)
        rated = {r.person_id: (r.total, r.stars, r.vetoed) for r in await ratings.ratings_of(connection, list_id)}
    assert (drafted.status, created, created_again, again.id) == ("draft", True, False, list_id)
    assert rated == {
        setup.members[0].id: (80, 4, False),
        setup.members[1].id: (60, 1, True),
        setup.secretary.id: (60, 2, False),
    }


async def test_objections_only_during_notice_and_resolved_by_the_branch(org: Org, database: Database) -> None:
    setup = await build(org, database, members=2)
    period = await _closed_year(database, setup)
    first, second = setup.members
    list_id = uuid.uuid4()
    async with bound(database.pool, [setup.community]) as connection:
        await ratings.draft_list(connection, setup.staff.principal, period.id, id=list_id)
        with pytest.raises(WrongStage):  # not published yet
            await ratings.file_objection(
                connection,
                setup.resident.principal,
                list_id,
                id=uuid.uuid4(),
                person_id=first.id,
                reason="?",
                now=JAN_5,
            )
        published = await ratings.publish_list(connection, setup.staff.principal, list_id, now=JAN_5)
        own, _ = await ratings.file_objection(
            connection,
            second.principal,
            list_id,
            id=uuid.uuid4(),
            person_id=second.id,
            reason="否决依据不足",
            now=JAN_5,
        )
        with pytest.raises(SelfAssessment):
            await ratings.resolve_objection(
                connection, second.principal, own.id, upheld=True, new_stars=3, resolution="?"
            )
        with pytest.raises(Forbidden):
            await ratings.resolve_objection(
                connection, first.principal, own.id, upheld=True, new_stars=3, resolution="?"
            )
        with pytest.raises(InvalidInput):
            await ratings.resolve_objection(
                connection, setup.secretary.principal, own.id, upheld=True, new_stars=6, resolution="?"
            )
        with pytest.raises(WrongStage):  # an objection is open, and the notice runs for five days
            await ratings.finalise_list(connection, setup.staff.principal, list_id, now=JAN_5)
        dismissed = await ratings.resolve_objection(
            connection, setup.secretary.principal, own.id, upheld=False, resolution="否决经支部大会表决"
        )
        with pytest.raises(WrongStage):
            await ratings.finalise_list(connection, setup.staff.principal, list_id, now=JAN_5)
        assert published.notice_until is not None
        with pytest.raises(WrongStage):  # too late to object
            await ratings.file_objection(
                connection,
                setup.resident.principal,
                list_id,
                id=uuid.uuid4(),
                person_id=first.id,
                reason="?",
                now=published.notice_until,
            )
        final = await ratings.finalise_list(connection, setup.staff.principal, list_id, now=published.notice_until)
    assert (published.notice_until - published.notice_from).days == 5  # type: ignore[operator]
    assert (dismissed.status, final.status) == ("dismissed", "final")
    # A final list never changes, whatever the caller.
    async with bound(database.pool, [setup.community]) as connection:
        with pytest.raises(asyncpg.CheckViolationError):
            await connection.execute(
                "UPDATE scoring_rating SET stars = 5, objection_id = $2 WHERE list_id = $1", list_id, own.id
            )
    async with bound(database.pool, [setup.community]) as connection:
        with pytest.raises(asyncpg.CheckViolationError):
            await connection.execute("UPDATE scoring_rating_list SET status = 'noticed' WHERE id = $1", list_id)
    async with bound(database.pool, [setup.community]) as connection:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await connection.execute("DELETE FROM scoring_rating WHERE list_id = $1", list_id)


async def test_another_community_sees_no_assessment(org: Org, database: Database) -> None:
    setup = await build(org, database, members=1)
    period = await open_year(database, setup)
    elsewhere = await org.community()
    async with bound(database.pool, [elsewhere]) as connection:
        seen = {
            table: await connection.fetchval(f"SELECT count(*) FROM {table} WHERE community_id = $1", setup.community)
            for table in ("scoring_catalogue", "scoring_item", "scoring_period", "scoring_card", "scoring_entry")
        }
        with pytest.raises(Exception, match="no such assessment period"):
            await periods.close_period(connection, setup.staff.principal, period.id)
    assert seen == dict.fromkeys(seen, 0)
