"""三亮三比: displays, pledges with evidence, 三评 reviews (one per reviewer, never of oneself), assessment."""

from __future__ import annotations

import uuid
from datetime import date

import asyncpg
import pytest

from tests.auth_support import Org
from tests.integration.scoring.support import Setup, at, build, open_year
from timebank.db import Database, bound
from timebank.errors import Conflict, Forbidden, InvalidInput
from timebank.ledger import LedgerService
from timebank.scoring import campaign, ids, periods
from timebank.scoring.errors import SelfAssessment, WrongStage
from timebank.scoring.model import ReviewerRole
from timebank.scoring.records import Period


async def _pledge(database: Database, setup: Setup, period: Period, due: date = date(2026, 6, 30)) -> uuid.UUID:
    me = setup.members[0]
    async with bound(database.pool, [setup.community]) as connection:
        pledge, _ = await campaign.publish_pledge(
            connection, me.principal, period.id, id=uuid.uuid4(), content="每月为独居老人代购一次", due_on=due
        )
    return pledge.id


async def test_members_show_their_identity_and_image(org: Org, database: Database) -> None:
    setup = await build(org, database, members=1)
    period = await open_year(database, setup)
    me = setup.members[0]
    async with bound(database.pool, [setup.community]) as connection:
        await campaign.publish_display(connection, me.principal, period.id, kind="identity", content="党员中心户挂牌")
        await campaign.publish_display(connection, me.principal, period.id, kind="image", content="佩戴党徽")
        again = await campaign.publish_display(connection, me.principal, period.id, kind="image", content="亮明身份")
        with pytest.raises(InvalidInput):
            await campaign.publish_display(connection, me.principal, period.id, kind="skill", content="?")
        with pytest.raises(Exception, match="not enrolled"):
            await campaign.publish_display(connection, setup.resident.principal, period.id, kind="image", content="?")
        shown = await campaign.displays_of(connection, period.id, me.id)
    assert [(d.kind, d.content) for d in shown] == [("identity", "党员中心户挂牌"), ("image", "亮明身份")]
    assert again.content == "亮明身份"


async def test_reviewers_take_their_role_from_who_they_are(org: Org, database: Database) -> None:
    setup = await build(org, database, members=2)
    period = await open_year(database, setup)
    pledge = await _pledge(database, setup, period)
    me, peer = setup.members
    roles = []
    async with bound(database.pool, [setup.community]) as connection:
        for reviewer in (setup.secretary, peer, setup.resident):
            found, _ = await campaign.review(
                connection,
                reviewer.principal,
                id=uuid.uuid4(),
                period_id=period.id,
                person_id=me.id,
                pledge_id=pledge,
                score=90,
            )
            roles.append(found.reviewer_role)
        audited = await connection.fetchval(
            "SELECT count(*) FROM audit_event WHERE entity = 'scoring_review' AND community_id = $1", setup.community
        )
    assert roles == [ReviewerRole.leader, ReviewerRole.peer, ReviewerRole.resident]
    assert audited == 3


async def test_one_reviewer_counts_once_and_nobody_reviews_themselves(org: Org, database: Database) -> None:
    setup = await build(org, database, members=2)
    period = await open_year(database, setup)
    pledge = await _pledge(database, setup, period)
    me, peer = setup.members
    review_id = uuid.uuid4()
    async with bound(database.pool, [setup.community]) as connection:

        async def by(reviewer: object, rid: uuid.UUID, score: int = 80) -> tuple[campaign.Review, bool]:
            return await campaign.review(
                connection,
                reviewer,  # type: ignore[arg-type]
                id=rid,
                period_id=period.id,
                person_id=me.id,
                pledge_id=pledge,
                score=score,
            )

        _, created = await by(peer.principal, review_id)
        _, replayed = await by(peer.principal, review_id)
        with pytest.raises(Conflict):
            await by(peer.principal, uuid.uuid4(), score=100)
        with pytest.raises(SelfAssessment):
            await by(me.principal, uuid.uuid4())
        stored = await campaign.reviews_of(connection, period.id, me.id, pledge_id=pledge)
    assert (created, replayed, len(stored)) == (True, False, 1)
    # The database holds both rules even when the service is bypassed.
    async with bound(database.pool, [setup.community]) as connection:
        insert = """
            INSERT INTO scoring_review (id, community_id, period_id, person_id, pledge_id, reviewer_id, reviewer_role,
                score) VALUES ($1, $2, $3, $4, $5, $6, 'peer', 50)
        """
        with pytest.raises(asyncpg.UniqueViolationError):
            await connection.execute(insert, uuid.uuid4(), setup.community, period.id, me.id, pledge, peer.id)
    async with bound(database.pool, [setup.community]) as connection:
        with pytest.raises(asyncpg.CheckViolationError):
            await connection.execute(insert, uuid.uuid4(), setup.community, period.id, me.id, pledge, me.id)
    async with bound(database.pool, [setup.community]) as connection:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await connection.execute("UPDATE scoring_review SET score = 100 WHERE id = $1", review_id)


async def test_a_kept_pledge_scores_and_a_weak_one_is_missed(
    org: Org, database: Database, ledger: LedgerService
) -> None:
    setup = await build(org, database, members=2)
    period = await open_year(database, setup)
    me, peer = setup.members
    kept, weak = await _pledge(database, setup, period), await _pledge(database, setup, period)
    async with bound(database.pool, [setup.community]) as connection:
        with pytest.raises(WrongStage):  # neither reported nor due
            await campaign.assess_pledge(connection, setup.secretary.principal, kept, now=at(3, 1))
        for pledge in (kept, weak):
            await campaign.report_fulfilment(
                connection, me.principal, pledge, evidence=("照片: 代购小票",), now=at(6, 20)
            )
        for pledge, scores in ((kept, (90, 80, 100)), (weak, (40, 50, 60))):
            for reviewer, score in zip((setup.secretary, peer, setup.resident), scores, strict=True):
                await campaign.review(
                    connection,
                    reviewer.principal,
                    id=uuid.uuid4(),
                    period_id=period.id,
                    person_id=me.id,
                    pledge_id=pledge,
                    score=score,
                )
        with pytest.raises(SelfAssessment):
            await campaign.assess_pledge(connection, me.principal, kept, now=at(7, 1))
        with pytest.raises(Forbidden):
            await campaign.assess_pledge(connection, peer.principal, kept, now=at(7, 1))
        fulfilled = await campaign.assess_pledge(connection, setup.secretary.principal, kept, now=at(7, 1))
        missed = await campaign.assess_pledge(connection, setup.secretary.principal, weak, now=at(7, 1))
    account = await ledger.get_account(ids.period_account_id(setup.community, period.id, me.id))
    # kept: 0.4 x 90 + 0.3 x 80 + 0.3 x 100 = 90; weak: 16 + 15 + 18 = 49 < 60
    assert (fulfilled.status, fulfilled.review_score, fulfilled.entry_id is not None) == ("fulfilled", 90, True)
    assert (missed.status, missed.review_score, missed.entry_id) == ("missed", 49, None)
    assert account.posted == 70


async def test_closing_scores_comparisons_and_settles_open_pledges(
    org: Org, database: Database, ledger: LedgerService
) -> None:
    setup = await build(org, database, members=2)
    period = await open_year(database, setup)
    me, peer = setup.members
    forgotten = await _pledge(database, setup, period, due=date(2026, 11, 30))
    async with bound(database.pool, [setup.community]) as connection:
        for reviewer, score in ((setup.secretary, 90), (peer, 80), (setup.resident, 70)):
            await campaign.review(
                connection,
                reviewer.principal,
                id=uuid.uuid4(),
                period_id=period.id,
                person_id=me.id,
                compare_code="compare_conduct",
                score=score,
            )
        with pytest.raises(InvalidInput):
            await campaign.review(
                connection,
                peer.principal,
                id=uuid.uuid4(),
                period_id=period.id,
                person_id=me.id,
                compare_code="compare_skill",
                score=80,
            )
        await periods.close_period(connection, setup.staff.principal, period.id, now=at(12, 31, 20))
        pledge = await campaign.get_pledge(connection, forgotten)
    account = await ledger.get_account(ids.period_account_id(setup.community, period.id, me.id))
    # 三评 36 + 24 + 21 = 81 of 100 scales 5 points to 4 (rounded half up from 4.05)
    assert account.posted == 64
    assert (pledge.status, pledge.assessed_by) == ("missed", None)
