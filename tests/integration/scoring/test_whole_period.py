"""A whole assessment year, end to end: base score, items, a pledge kept with 三评 reviews, caps reached, a
deduction, an automatic credit, comparisons, the democratic appraisal, thresholds, the notice period with an
objection that changes one rating, the final list; then ``timebank ledger verify`` passes.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from datetime import date, datetime

from tests.auth_support import Org, Person
from tests.integration.scoring.support import at, build, open_year
from timebank.db import Database, bound
from timebank.ledger.verify import verify_ledger
from timebank.scoring import CreditOutcome, boards, campaign, credit_item, periods, ratings, recording

NOTICE_OPENS = datetime.fromisoformat("2027-01-05T09:00:00+00:00")


async def _ledger_verify_command(database_url: str, community: uuid.UUID) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "timebank", "ledger", "verify", "--community", str(community),
        env={**os.environ, "TIMEBANK_DATABASE_URL": database_url},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    return process.returncode or 0, (out + err).decode()


async def test_a_whole_period(org: Org, database: Database, database_url: str) -> None:
    setup = await build(org, database, members=3)
    wang, li, zhao = setup.members  # 王 keeps a pledge, 李 misses a meeting, 赵 volunteers a lot
    secretary, staff, resident = setup.secretary, setup.staff, setup.resident
    period = await open_year(database, setup)
    community = setup.community

    async with bound(database.pool, [community]) as connection:

        async def record(who: Person, code: str, month: int, quantity: int = 1) -> int:
            entry, _ = await recording.record_item(
                connection,
                secretary.principal,
                period.id,
                id=uuid.uuid4(),
                person_id=who.id,
                item_code=code,
                quantity=quantity,
                occurred_on=date(2026, month, 15),
            )
            return entry.amount

        # Items: 王 attends five meetings (3 each, capped at 12) and two party days; 李 one party day and misses
        # one meeting (a deduction of 5).
        meetings = [await record(wang, "three_meetings", month) for month in range(1, 6)]
        party_days = [await record(wang, "party_day", 3), await record(wang, "party_day", 7)]
        await record(li, "party_day", 3)
        deducted = await record(li, "missed_meeting", 4)

        # Automatic credits from volunteering: 赵 serves 20 hours in four records; the item caps at 15.
        credits = [
            await credit_item(
                connection,
                community_id=community,
                person_id=zhao.id,
                item_code="volunteer_hour",
                source_type="service_record",
                source_id=f"record-{n}",
                occurred_on=date(2026, 5 + n, 1),
                quantity=5,
            )
            for n in range(4)
        ]

        # A self-report approved by the branch: 赵's study notes, with evidence.
        notes, _ = await recording.submit_item(
            connection,
            zhao.principal,
            period.id,
            id=uuid.uuid4(),
            item_code="study_notes",
            quantity=2,
            occurred_on=date(2026, 6, 30),
            evidence=("学习笔记第二季度.pdf",),
        )
        await recording.approve_entry(connection, secretary.principal, notes.id, now=at(7, 2))

        # 三亮三比: 王 shows identity and pledges; the pledge is reported kept and reviewed by all three roles.
        await campaign.publish_display(connection, wang.principal, period.id, kind="identity", content="党员中心户")
        pledge, _ = await campaign.publish_pledge(
            connection,
            wang.principal,
            period.id,
            id=uuid.uuid4(),
            content="为3号楼独居老人每周送餐",
            due_on=date(2026, 9, 30),
        )
        await campaign.report_fulfilment(
            connection, wang.principal, pledge.id, evidence=("送餐记录.xlsx",), now=at(9, 28)
        )
        for reviewer, score in ((secretary, 95), (li, 85), (resident, 100)):
            await campaign.review(
                connection,
                reviewer.principal,
                id=uuid.uuid4(),
                period_id=period.id,
                person_id=wang.id,
                pledge_id=pledge.id,
                score=score,
            )
        kept = await campaign.assess_pledge(connection, secretary.principal, pledge.id, now=at(10, 8))

        # 比奉献 for 赵, reviewed by the branch and a resident; scored when the period closes.
        for reviewer, score in ((secretary, 90), (resident, 100)):
            await campaign.review(
                connection,
                reviewer.principal,
                id=uuid.uuid4(),
                period_id=period.id,
                person_id=zhao.id,
                compare_code="compare_dedication",
                score=score,
            )

        # Democratic appraisal (民主评议) at year end; the secretary's own is recorded by staff.
        for who, points in ((wang, 8), (li, 12), (zhao, 3)):
            await recording.record_appraisal(
                connection, secretary.principal, period.id, person_id=who.id, points=points, now=at(12, 20)
            )
        await recording.record_appraisal(
            connection, staff.principal, period.id, person_id=secretary.id, points=18, now=at(12, 20)
        )

        closed = await periods.close_period(connection, staff.principal, period.id, now=at(12, 31, 20))
        late = await credit_item(
            connection,
            community_id=community,
            person_id=zhao.id,
            item_code="volunteer_hour",
            source_type="service_record",
            source_id="record-late",
            occurred_on=date(2026, 12, 30),
        )

        # The list: drafted, on notice for five days, one objection upheld and one dismissed, then final.
        list_id = uuid.uuid4()
        await ratings.draft_list(connection, staff.principal, period.id, id=list_id)
        drafted = {r.person_id: (r.total, r.stars) for r in await ratings.ratings_of(connection, list_id)}
        noticed = await ratings.publish_list(connection, staff.principal, list_id, now=NOTICE_OPENS)
        upheld, _ = await ratings.file_objection(
            connection,
            resident.principal,
            list_id,
            id=uuid.uuid4(),
            person_id=zhao.id,
            reason="赵同志汛期连续值守，服务时长远超封顶，应评五星",
            now=NOTICE_OPENS.replace(day=6),
        )
        dismissed, _ = await ratings.file_objection(
            connection,
            li.principal,
            list_id,
            id=uuid.uuid4(),
            person_id=wang.id,
            reason="评分过高",
            now=NOTICE_OPENS.replace(day=7),
        )
        await ratings.resolve_objection(
            connection,
            secretary.principal,
            upheld.id,
            upheld=True,
            new_stars=5,
            resolution="支部委员会核实值守记录，同意调整为五星",
            now=NOTICE_OPENS.replace(day=8),
        )
        await ratings.resolve_objection(
            connection,
            secretary.principal,
            dismissed.id,
            upheld=False,
            resolution="得分有据可查",
            now=NOTICE_OPENS.replace(day=8),
        )
        assert noticed.notice_until is not None
        final = await ratings.finalise_list(connection, staff.principal, list_id, now=noticed.notice_until)
        rated = {r.person_id: (r.total, r.stars) for r in await ratings.ratings_of(connection, list_id)}
        board = await boards.leaderboard(connection, period.id)
        group_board = await boards.leaderboard(connection, period.id, group_id=setup.group)
        wang_standing = await boards.standing(connection, period.id, wang.id)
        mismatches = await boards.reconcile(connection, period.id)
        audit = await connection.fetch(
            "SELECT entity, action, count(*) FROM audit_event WHERE community_id = $1 AND entity LIKE 'scoring%' "
            "GROUP BY entity, action",
            community,
        )

    async with database.pool.acquire() as connection:
        report = await verify_ledger(connection, community)

    assert meetings == [3, 3, 3, 3, 0]
    assert party_days == [2, 2]
    assert deducted == 5
    assert [(c.outcome, c.amount) for c in credits] == [(CreditOutcome.credited, 5)] * 3 + [(CreditOutcome.capped, 0)]
    assert (kept.status, kept.review_score) == ("fulfilled", 94)  # 38 + 25.5 + 30 = 93.5, half up
    assert closed.status == "closed"
    assert late.outcome is CreditOutcome.no_open_period

    # Totals: base 60 + items + pledge + comparison + appraisal.
    expected = {
        wang.id: 60 + 12 + 4 + 10 + 8,  # 94
        li.id: 60 + 2 - 5 + 12,  # 69
        zhao.id: 60 + 15 + 2 + 5 + 3,  # 85: 三评 (40 x 90 + 30 x 100) / 70 = 94.3, 5 x 0.94 rounds to 5
        secretary.id: 60 + 18,  # 78
    }
    assert {person: total for person, (total, _) in drafted.items()} == expected
    assert {person: stars for person, (_, stars) in drafted.items()} == {
        wang.id: 5, li.id: 2, zhao.id: 4, secretary.id: 3,
    }  # fmt: skip
    # The upheld objection changed one rating: 赵 from the four stars of the draft to five; the rest stand.
    assert rated == {**drafted, zhao.id: (85, 5)}
    assert final.status == "final"

    assert [(row.rank, row.person_id) for row in board] == [
        (1, wang.id), (2, zhao.id), (3, secretary.id), (4, li.id),
    ]  # fmt: skip
    assert [row.person_id for row in group_board] == [wang.id, zhao.id, li.id]
    assert (wang_standing.community_rank, wang_standing.group_rank, wang_standing.group_size) == (1, 1, 3)
    assert sum(item.points for item in wang_standing.breakdown) == wang_standing.total == 94
    assert {item.item_code: item.points for item in wang_standing.breakdown} == {
        "base": 60, "three_meetings": 12, "party_day": 4, "pledge_kept": 10, "appraisal": 8,
    }  # fmt: skip
    assert mismatches == []
    audited = {(row["entity"], row["action"]): row["count"] for row in audit}
    assert audited[("scoring_review", "review")] == 5
    assert audited[("scoring_objection", "object")] == 2
    assert audited[("scoring_objection", "resolve")] == 2
    assert audited[("scoring_rating_list", "finalise")] == 1

    assert report.ok, report.violations
    code, output = await _ledger_verify_command(database_url, community)
    assert code == 0, output
    assert ": ok" in output
