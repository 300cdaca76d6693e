"""Issue 5's "done when": publish → sign-up → check-in/out → confirm → approve → balances in all four assets, and
the policy, caps, idempotency, anomaly and correction guarantees around that path. Party score lands in the
member's account for the assessment period, credited by the party assessment (issue 6's automatic credits)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date, timedelta

import asyncpg
import pytest

from tests.integration.volunteering.conftest import (
    BASE_SCORE,
    DAY_ONE,
    Clock,
    Neighbourhood,
    activity,
    add_volunteer,
    balances,
    ledger_violations,
    open_assessment,
    period_score,
    serve,
)
from timebank.access.principal import Principal
from timebank.community.accounts import SystemRole, system_account_id
from timebank.db import Database, bound
from timebank.errors import Conflict
from timebank.ledger import Asset, Code, LedgerService
from timebank.volunteering.crediting import RecordHeld, RecordNotCreditable, plan_approval
from timebank.volunteering.policy import DEFAULT_RULES
from timebank.volunteering.records import list_records
from timebank.volunteering.service import Volunteering


async def test_publish_to_balances_in_all_four_assets(
    database: Database, hood: Neighbourhood, volunteering: Volunteering, ledger: LedgerService, clock: Clock
) -> None:
    period = await open_assessment(database, hood)
    wang = await add_volunteer(database, hood, "王秀英", party_member=True, birth_date=date(1958, 4, 1))
    li = await add_volunteer(database, hood, "李建国")
    zhao = await add_volunteer(database, hood, "赵桂兰")
    new = activity(hood, capacity=2)
    published, created = await volunteering.publish(hood.leader, hood.community, new)
    assert created
    assert published.capacity == 2

    # Two places, three volunteers: the third waits, and takes the place the second gives up.
    assert (await volunteering.sign_up(hood.principal(wang), new.id, wang))[0].status == "enrolled"
    assert (await volunteering.sign_up(hood.principal(li), new.id, li))[0].status == "enrolled"
    assert (await volunteering.sign_up(hood.principal(zhao), new.id, zhao))[0].status == "waitlisted"
    await volunteering.cancel_signup(hood.principal(li), new.id, li)
    assert (await volunteering.sign_up(hood.principal(zhao), new.id, zhao))[0].status == "enrolled"

    # 王 scans the leader's rotating code in and out; 赵 has no phone, so the leader records her times.
    clock.advance(minutes=2)
    code = await volunteering.check_in_code(hood.leader, new.id)
    await volunteering.check_in(hood.principal(wang), wang, code.payload)
    clock.advance(minutes=127)
    code = await volunteering.check_in_code(hood.leader, new.id)
    await volunteering.check_out(hood.principal(wang), wang, code.payload)
    await volunteering.record_times(
        hood.leader, new.id, zhao, new.starts_at + timedelta(minutes=10), new.starts_at + timedelta(minutes=70)
    )

    outcomes = await volunteering.confirm_roster(hood.leader, new.id)
    assert {o.person_id: o.outcome for o in outcomes} == {wang: "confirmed", zhao: "confirmed"}
    records = [o.record_id for o in outcomes if o.record_id is not None]

    approved = await volunteering.approve(hood.staff, records)
    assert [o.status for o in approved] == ["credited", "credited"]
    # 127 minutes round down to 120 (quarter hours); the day's cap is 2 coins = 120 coin-minutes. Party score goes
    # to 王's account for the assessment year (two volunteer hours on top of the base score), none to her own
    # person-level party_score account.
    assert await balances(ledger, hood, wang) == {
        "service_minutes": 120,
        "time_coins": 120,
        "points": 2,
        "party_score": 0,
    }
    assert await period_score(ledger, hood, period, wang) == BASE_SCORE + 2
    assert await balances(ledger, hood, zhao) == {
        "service_minutes": 60,
        "time_coins": 60,
        "points": 1,
        "party_score": 0,
    }
    async with bound(database.pool, [hood.community]) as connection:
        found = {r.person_id: r for r in await list_records(connection, hood.community)}
    assert (found[wang].party_score_units, found[wang].party_score_outcome, found[wang].party_score) == (
        2,
        "credited",
        2,
    )
    assert (found[zhao].party_score_units, found[zhao].party_score_outcome) == (0, None)  # not a party member

    again = await volunteering.approve(hood.staff, records)
    assert [o.status for o in again] == ["credited", "credited"]
    assert (await balances(ledger, hood, wang))["time_coins"] == 120
    assert await period_score(ledger, hood, period, wang) == BASE_SCORE + 2
    assert await ledger_violations(database, hood) == []


async def _transfers_of(database: Database, record_id: uuid.UUID) -> list[asyncpg.Record]:
    return await database.pool.fetch(
        "SELECT asset, amount, code, policy_version, reverses_id, credit_account_id FROM ledger_transfer "
        "WHERE ref_id = $1 ORDER BY seq",
        record_id,
    )


async def test_a_policy_change_keeps_old_transfers_on_their_version(
    database: Database, hood: Neighbourhood, volunteering: Volunteering, clock: Clock
) -> None:
    sun = await add_volunteer(database, hood, "孙丽")
    first = await serve(volunteering, clock, hood, sun, starts_at=DAY_ONE, minutes=60)
    await volunteering.approve_one(hood.staff, first)

    # The defaults became version 1 when the first record was priced; version 2 doubles the coin rate from day two.
    rules = replace(DEFAULT_RULES, coin_minutes_per_hour=120, coin_daily_cap=None)
    with pytest.raises(Conflict):  # it may not reach back over service already credited
        await volunteering.write_policy(hood.staff, hood.community, version=2, valid_from=DAY_ONE, rules=rules)
    day_two = DAY_ONE + timedelta(days=1)
    written, created = await volunteering.write_policy(
        hood.staff, hood.community, version=2, valid_from=day_two, rules=rules
    )
    assert created
    assert written.version == 2
    second = await serve(volunteering, clock, hood, sun, starts_at=day_two + timedelta(hours=1), minutes=60)
    await volunteering.approve_one(hood.staff, second)
    await volunteering.approve_one(hood.staff, first)  # approving the old one again changes nothing

    assert {row["policy_version"] for row in await _transfers_of(database, first)} == {1}
    assert {row["policy_version"] for row in await _transfers_of(database, second)} == {2}
    coins = [row["amount"] for row in await _transfers_of(database, second) if row["asset"] == Asset.time_coins]
    assert coins == [120]
    assert [p.version for p in await volunteering.policy_versions(hood.staff, hood.community)] == [1, 2]


async def test_caps_and_overflow_are_exact_to_the_minute(
    database: Database, hood: Neighbourhood, volunteering: Volunteering, ledger: LedgerService, clock: Clock
) -> None:
    qian = await add_volunteer(database, hood, "钱芳")
    rules = replace(DEFAULT_RULES, rounding_minutes=1, coin_daily_cap=120, coin_lifetime_cap=150)
    await volunteering.write_policy(hood.staff, hood.community, version=1, valid_from=DAY_ONE, rules=rules)
    morning = await serve(volunteering, clock, hood, qian, starts_at=DAY_ONE, minutes=91)
    afternoon = await serve(volunteering, clock, hood, qian, starts_at=DAY_ONE + timedelta(hours=5), minutes=47)
    next_day = await serve(volunteering, clock, hood, qian, starts_at=DAY_ONE + timedelta(days=1), minutes=59)
    outcomes = await volunteering.approve(hood.staff, [morning, afternoon, next_day])
    assert [o.status for o in outcomes] == ["credited"] * 3

    # Day one: 91 then 29 of 47 (the daily cap of 120), 18 overflow; day two: 30 of 59 left under the lifetime 150.
    assert (await balances(ledger, hood, qian))["time_coins"] == 150
    assert (await balances(ledger, hood, qian))["service_minutes"] == 91 + 47 + 59
    pool = await ledger.get_account(system_account_id(hood.community, SystemRole.donation_pool, Asset.time_coins))
    assert pool.posted == 18 + 29
    overflow = [r["amount"] for r in await _transfers_of(database, afternoon) if r["code"] == Code.overflow]
    assert overflow == [18]


async def test_anomalies_are_held_for_staff(
    database: Database, hood: Neighbourhood, volunteering: Volunteering, ledger: LedgerService, clock: Clock
) -> None:
    zhou = await add_volunteer(database, hood, "周强")
    wu = await add_volunteer(database, hood, "吴静")
    await volunteering.write_policy(
        hood.staff,
        hood.community,
        version=1,
        valid_from=DAY_ONE - timedelta(days=30),
        rules=replace(DEFAULT_RULES, max_daily_service_minutes=240),
    )
    # Checked in by code, never out.
    new = activity(hood)
    await volunteering.publish(hood.leader, hood.community, new)
    await volunteering.sign_up(hood.principal(zhou), new.id, zhou)
    code = await volunteering.check_in_code(hood.leader, new.id)
    await volunteering.check_in(hood.principal(zhou), zhou, code.payload)
    [no_out] = await volunteering.confirm_roster(hood.leader, new.id)
    assert (no_out.outcome, no_out.anomalies) == ("held", ("no_check_out",))
    assert no_out.record_id is not None
    with pytest.raises(RecordHeld):
        await volunteering.approve_one(hood.staff, no_out.record_id)
    with pytest.raises(RecordNotCreditable):
        await volunteering.approve_one(hood.staff, no_out.record_id, acknowledge_anomalies=True)

    zero = await serve(volunteering, clock, hood, wu, starts_at=DAY_ONE - timedelta(days=3), minutes=0)
    await serve(volunteering, clock, hood, zhou, starts_at=DAY_ONE - timedelta(days=6), minutes=60)
    overlapping = await serve(
        volunteering, clock, hood, zhou, starts_at=DAY_ONE - timedelta(days=6, minutes=-30), minutes=60
    )
    too_long = await serve(volunteering, clock, hood, wu, starts_at=DAY_ONE - timedelta(days=2), minutes=180)
    too_much = await serve(volunteering, clock, hood, wu, starts_at=DAY_ONE - timedelta(days=2, hours=-4), minutes=90)
    # 吴 certified 周's hours; 周 leading an activity and certifying 吴's is trading hours back and forth.
    traded = await serve(
        volunteering, clock, hood, zhou, starts_at=DAY_ONE - timedelta(days=5), minutes=60, certifier=hood.principal(wu)
    )
    back = await serve(
        volunteering, clock, hood, wu, starts_at=DAY_ONE - timedelta(days=4), minutes=60, certifier=hood.principal(zhou)
    )
    async with bound(database.pool, [hood.community]) as connection:
        found = {r.id: r for r in await list_records(connection, hood.community)}
    assert found[zero].anomalies == ("zero_or_negative_duration",)
    assert found[overlapping].anomalies == ("overlapping_record",)
    assert found[too_long].status == "confirmed"
    assert found[too_much].anomalies == ("over_daily_limit",)
    assert found[traded].status == "confirmed"
    assert found[back].anomalies == ("reciprocal_certification",)
    assert all(found[r].status == "held" for r in (zero, overlapping, too_much, back))

    # Nothing held was credited; staff amend the missing check-out, and the record is credited.
    assert (await balances(ledger, hood, zhou))["service_minutes"] == 0
    amended = await volunteering.amend(hood.staff, no_out.record_id, DAY_ONE, DAY_ONE + timedelta(minutes=30))
    assert (amended.status, amended.anomalies) == ("confirmed", ())
    assert (await volunteering.approve_one(hood.staff, no_out.record_id)).status == "credited"
    assert (await balances(ledger, hood, zhou))["service_minutes"] == 30


async def test_a_correction_reverses_and_reposts_and_both_stay_visible(
    database: Database, hood: Neighbourhood, volunteering: Volunteering, ledger: LedgerService, clock: Clock
) -> None:
    period = await open_assessment(database, hood)
    zheng = await add_volunteer(database, hood, "郑华", party_member=True)
    record = await serve(volunteering, clock, hood, zheng, starts_at=DAY_ONE, minutes=120)
    await volunteering.approve_one(hood.staff, record)
    assert await balances(ledger, hood, zheng) == {
        "service_minutes": 120,
        "time_coins": 120,
        "points": 2,
        "party_score": 0,
    }
    assert await period_score(ledger, hood, period, zheng) == BASE_SCORE + 2

    # She left after an hour; she asks, staff approve.
    correction, created = await volunteering.request_correction(
        hood.principal(zheng),
        id=uuid.uuid4(),
        record_id=record,
        started_at=DAY_ONE,
        ended_at=DAY_ONE + timedelta(minutes=60),
        reason="提前一小时离开",
    )
    assert created
    approved = await volunteering.approve_correction(hood.staff, correction.id)
    again = await volunteering.approve_correction(hood.staff, correction.id)
    assert approved.status == again.status == "approved"
    assert await balances(ledger, hood, zheng) == {
        "service_minutes": 60,
        "time_coins": 60,
        "points": 1,
        "party_score": 0,
    }
    # The original's two hours of party score are taken back in the assessment, the corrected hour scored.
    assert await period_score(ledger, hood, period, zheng) == BASE_SCORE + 1

    async with bound(database.pool, [hood.community]) as connection:
        both = {r.id: r for r in await list_records(connection, hood.community, person_id=zheng)}
    assert approved.corrected_record_id is not None
    assert both[record].status == "corrected"
    assert both[approved.corrected_record_id].status == "credited"
    assert both[approved.corrected_record_id].corrects_id == record
    moved = await _transfers_of(database, approved.corrected_record_id)
    reversals = [row for row in moved if row["code"] == Code.reversal]
    assert len(reversals) == 3
    assert {row["reverses_id"] for row in reversals} == {row["id"] for row in await _ids_of(database, record)}
    async with bound(database.pool, [hood.community]) as connection:
        entries = {
            row["source_id"]: (row["status"], row["amount"])
            for row in await connection.fetch(
                "SELECT source_id, status, amount FROM scoring_entry WHERE period_id = $1 AND person_id = $2 "
                "AND source_type = 'service_record'",
                period,
                zheng,
            )
        }
    assert entries == {str(record): ("reversed", 2), str(approved.corrected_record_id): ("posted", 1)}
    assert await ledger_violations(database, hood) == []


async def _ids_of(database: Database, record_id: uuid.UUID) -> list[asyncpg.Record]:
    return await database.pool.fetch("SELECT id FROM ledger_transfer WHERE ref_id = $1", record_id)


async def test_a_crash_between_planning_and_posting_is_settled_once(
    database: Database, hood: Neighbourhood, volunteering: Volunteering, ledger: LedgerService, clock: Clock
) -> None:
    han = await add_volunteer(database, hood, "韩梅", party_member=True)
    period = await open_assessment(database, hood)
    record = await serve(volunteering, clock, hood, han, starts_at=DAY_ONE, minutes=60)
    async with bound(database.pool, [hood.community]) as connection:  # planned, then the process died
        planned = await plan_approval(connection, hood.staff, record)
    assert [p.asset for p in planned] == [Asset.service_minutes, Asset.time_coins, Asset.points]
    assert (await balances(ledger, hood, han))["time_coins"] == 0
    assert await period_score(ledger, hood, period, han) == BASE_SCORE
    assert await volunteering.settle_pending(Principal.system("test")) >= 1
    assert await volunteering.settle_pending(Principal.system("test")) == 0
    assert (await balances(ledger, hood, han))["time_coins"] == 60
    assert await period_score(ledger, hood, period, han) == BASE_SCORE + 1
    assert await ledger_violations(database, hood) == []
