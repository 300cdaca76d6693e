"""Items recorded by the branch, reported by members, approved, rejected, reversed: exact caps and fairness."""

from __future__ import annotations

import uuid
from datetime import date

import asyncpg
import pytest

from tests.auth_support import Org
from tests.integration.scoring.support import Setup, at, build, open_year
from timebank.db import Database, bound
from timebank.errors import Forbidden, InvalidInput, RuleViolation
from timebank.ledger import LedgerService
from timebank.scoring import boards, ids, recording
from timebank.scoring.errors import SelfAssessment, WrongStage
from timebank.scoring.records import Period


async def _balance(ledger: LedgerService, setup: Setup, period: Period, person: uuid.UUID) -> int:
    return (await ledger.get_account(ids.period_account_id(setup.community, period.id, person))).posted


async def test_an_item_cap_is_exact_and_the_excess_is_recorded(
    org: Org, database: Database, ledger: LedgerService
) -> None:
    setup = await build(org, database, members=1)
    period = await open_year(database, setup)
    who = setup.members[0].id
    amounts = []
    async with bound(database.pool, [setup.community]) as connection:
        for month in range(1, 6):  # five meetings of 3 points against a cap of 12
            entry, _ = await recording.record_item(
                connection,
                setup.secretary.principal,
                period.id,
                id=uuid.uuid4(),
                person_id=who,
                item_code="three_meetings",
                occurred_on=date(2026, month, 10),
            )
            amounts.append((entry.requested, entry.amount, entry.transfer_id is not None))
        standing = await boards.standing(connection, period.id, who)
    assert amounts == [(3, 3, True)] * 4 + [(3, 0, False)]
    assert await _balance(ledger, setup, period, who) == 72
    meetings = next(b for b in standing.breakdown if b.item_code == "three_meetings")
    assert (meetings.points, meetings.entries, meetings.capped) == (12, 5, 3)


async def test_the_period_cap_bounds_all_bonuses_together(org: Org, database: Database, ledger: LedgerService) -> None:
    setup = await build(org, database, members=1)
    period = await open_year(database, setup, period_cap=10)
    who = setup.members[0].id
    async with bound(database.pool, [setup.community]) as connection:
        for code, quantity in (("three_meetings", 2), ("party_day", 2), ("party_day", 1)):
            await recording.record_item(
                connection,
                setup.secretary.principal,
                period.id,
                id=uuid.uuid4(),
                person_id=who,
                item_code=code,
                quantity=quantity,
                occurred_on=date(2026, 3, 1),
            )
    # 6 + 4 reach the cap of 10; the last 2 count for nothing.
    assert await _balance(ledger, setup, period, who) == 70


async def test_a_deduction_moves_score_back_to_issuance(org: Org, database: Database, ledger: LedgerService) -> None:
    setup = await build(org, database, members=1)
    period = await open_year(database, setup)
    who = setup.members[0].id
    async with bound(database.pool, [setup.community]) as connection:
        entry, _ = await recording.record_item(
            connection,
            setup.secretary.principal,
            period.id,
            id=uuid.uuid4(),
            person_id=who,
            item_code="missed_meeting",
            quantity=2,
            occurred_on=date(2026, 4, 1),
        )
    [transfer] = await ledger.lookup_transfers([entry.transfer_id])  # type: ignore[list-item]
    assert (entry.kind, entry.amount, transfer.debit_account_id) == (
        "deduction", 10, ids.period_account_id(setup.community, period.id, who),
    )  # fmt: skip
    assert await _balance(ledger, setup, period, who) == 50


async def test_recording_is_idempotent_by_entry_id(org: Org, database: Database, ledger: LedgerService) -> None:
    setup = await build(org, database, members=1)
    period = await open_year(database, setup)
    who, entry_id = setup.members[0].id, uuid.uuid4()
    async with bound(database.pool, [setup.community]) as connection:
        results = [
            await recording.record_item(
                connection,
                setup.secretary.principal,
                period.id,
                id=entry_id,
                person_id=who,
                item_code="party_day",
                occurred_on=date(2026, 5, 4),
            )
            for _ in range(3)
        ]
    assert [created for _, created in results] == [True, False, False]
    assert await _balance(ledger, setup, period, who) == 62


async def test_nobody_scores_themselves(org: Org, database: Database) -> None:
    setup = await build(org, database, members=1)
    period = await open_year(database, setup)
    secretary = setup.secretary
    async with bound(database.pool, [setup.community]) as connection:
        with pytest.raises(SelfAssessment):
            await recording.record_item(
                connection,
                secretary.principal,
                period.id,
                id=uuid.uuid4(),
                person_id=secretary.id,
                item_code="party_day",
                occurred_on=date(2026, 5, 4),
            )
        with pytest.raises(Forbidden):  # a fellow member is no leader
            await recording.record_item(
                connection,
                setup.members[0].principal,
                period.id,
                id=uuid.uuid4(),
                person_id=secretary.id,
                item_code="party_day",
                occurred_on=date(2026, 5, 4),
            )
    # The database refuses it even when the service is bypassed.
    async with bound(database.pool, [setup.community]) as connection:
        catalogue_id = await connection.fetchval(
            "SELECT id FROM scoring_catalogue WHERE community_id = $1", setup.community
        )
        with pytest.raises(asyncpg.CheckViolationError):
            await connection.execute(
                """
                INSERT INTO scoring_entry (id, community_id, period_id, person_id, kind, catalogue_id, item_code,
                    requested, amount, source_type, occurred_on, status, decided_by, decided_at)
                VALUES ($1, $2, $3, $4, 'bonus', $5, 'party_day', 2, 0, 'manual', '2026-05-04', 'posted', $4, now())
                """,
                uuid.uuid4(),
                setup.community,
                period.id,
                secretary.id,
                catalogue_id,
            )


async def test_a_report_counts_once_someone_else_approves_it(
    org: Org, database: Database, ledger: LedgerService
) -> None:
    setup = await build(org, database, members=1)
    period = await open_year(database, setup)
    me = setup.members[0]
    async with bound(database.pool, [setup.community]) as connection:
        with pytest.raises(InvalidInput) as no_evidence:
            await recording.submit_item(
                connection,
                me.principal,
                period.id,
                id=uuid.uuid4(),
                item_code="study_notes",
                occurred_on=date(2026, 3, 31),
            )
        report, _ = await recording.submit_item(
            connection,
            me.principal,
            period.id,
            id=uuid.uuid4(),
            item_code="study_notes",
            quantity=2,
            occurred_on=date(2026, 3, 31),
            evidence=("https://example.org/notes/q1.jpg",),
        )
        with pytest.raises(SelfAssessment):
            await recording.approve_entry(connection, me.principal, report.id)
        before = await _balance(ledger, setup, period, me.id)
        approved = await recording.approve_entry(connection, setup.secretary.principal, report.id, now=at(4, 2))
        replay = await recording.approve_entry(connection, setup.secretary.principal, report.id, now=at(4, 3))
        with pytest.raises(WrongStage):
            await recording.reject_entry(connection, setup.staff.principal, report.id, reason="重复")
    assert no_evidence.value.fields["field"] == "evidence"
    assert (report.status, before) == ("submitted", 60)
    assert (approved.status, approved.amount, approved.decided_by) == ("posted", 2, setup.secretary.id)
    assert replay == approved
    assert await _balance(ledger, setup, period, me.id) == 62


async def test_items_for_staff_review_and_member_types(org: Org, database: Database) -> None:
    setup = await build(org, database, members=1)
    period = await open_year(database, setup)
    me = setup.members[0]
    async with bound(database.pool, [setup.community]) as connection:
        report, _ = await recording.submit_item(
            connection,
            me.principal,
            period.id,
            id=uuid.uuid4(),
            item_code="micro_lecture",
            occurred_on=date(2026, 6, 1),
        )
        with pytest.raises(Forbidden):  # micro lectures are reviewed by community staff, not the branch
            await recording.approve_entry(connection, setup.secretary.principal, report.id)
        rejected = await recording.reject_entry(connection, setup.staff.principal, report.id, reason="未提供课件")
        with pytest.raises(InvalidInput):  # automatic items are not recorded by hand
            await recording.record_item(
                connection,
                setup.staff.principal,
                period.id,
                id=uuid.uuid4(),
                person_id=me.id,
                item_code="volunteer_hour",
                occurred_on=date(2026, 6, 1),
            )
    assert (rejected.status, rejected.decision_note) == ("rejected", "未提供课件")


async def test_staff_reverse_a_posted_entry(org: Org, database: Database, ledger: LedgerService) -> None:
    setup = await build(org, database, members=1)
    period = await open_year(database, setup)
    who = setup.members[0].id
    async with bound(database.pool, [setup.community]) as connection:
        entry, _ = await recording.record_item(
            connection,
            setup.secretary.principal,
            period.id,
            id=uuid.uuid4(),
            person_id=who,
            item_code="party_day",
            quantity=4,
            occurred_on=date(2026, 7, 1),
        )
        with pytest.raises(Forbidden):
            await recording.reverse_entry(connection, setup.secretary.principal, entry.id, reason="记错人")
        reversed_entry = await recording.reverse_entry(connection, setup.staff.principal, entry.id, reason="记错人")
        again = await recording.reverse_entry(connection, setup.staff.principal, entry.id, reason="记错人")
        # The cap room comes back with the reversal.
        redo, _ = await recording.record_item(
            connection,
            setup.secretary.principal,
            period.id,
            id=uuid.uuid4(),
            person_id=who,
            item_code="party_day",
            quantity=4,
            occurred_on=date(2026, 7, 1),
        )
        audit = await connection.fetch(
            "SELECT action FROM audit_event WHERE entity = 'scoring_entry' AND entity_id = $1 ORDER BY id",
            str(entry.id),
        )
        mismatches = await boards.reconcile(connection, period.id)
    [reversal] = await ledger.lookup_transfers([ids.reversal_id(entry.id)])
    assert (reversed_entry.status, again.status, redo.amount) == ("reversed", "reversed", 8)
    assert reversal.reverses_id == entry.transfer_id
    assert [row["action"] for row in audit] == ["score", "reverse"]
    assert await _balance(ledger, setup, period, who) == 68
    assert mismatches == []


async def test_items_must_fall_in_an_open_period(org: Org, database: Database) -> None:
    setup = await build(org, database, members=1)
    period = await open_year(database, setup)
    async with bound(database.pool, [setup.community]) as connection:
        with pytest.raises(InvalidInput):
            await recording.record_item(
                connection,
                setup.secretary.principal,
                period.id,
                id=uuid.uuid4(),
                person_id=setup.members[0].id,
                item_code="party_day",
                occurred_on=date(2027, 1, 2),
            )
        with pytest.raises(RuleViolation):  # not enrolled: the resident is no party member
            await recording.record_item(
                connection,
                setup.secretary.principal,
                period.id,
                id=uuid.uuid4(),
                person_id=setup.resident.id,
                item_code="party_day",
                occurred_on=date(2026, 1, 2),
            )
