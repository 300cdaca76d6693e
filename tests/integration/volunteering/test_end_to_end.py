"""Issue 5's "done when": publish → sign-up → check-in/out → confirm → approve → balances in all four assets, and
the policy, caps, idempotency, anomaly and correction guarantees around that path."""

from __future__ import annotations

from datetime import date, timedelta

from tests.integration.volunteering.conftest import Clock, Neighbourhood, activity, add_volunteer, balances
from timebank.db import Database
from timebank.ledger import LedgerService
from timebank.volunteering.service import Volunteering


async def test_publish_to_balances_in_all_four_assets(
    database: Database, hood: Neighbourhood, volunteering: Volunteering, ledger: LedgerService, clock: Clock
) -> None:
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
    # 127 minutes round down to 120 (quarter hours); the day's cap is 2 coins = 120 coin-minutes.
    assert await balances(ledger, hood, wang) == {
        "service_minutes": 120,
        "time_coins": 120,
        "points": 2,
        "party_score": 2,
    }
    assert await balances(ledger, hood, zhao) == {
        "service_minutes": 60,
        "time_coins": 60,
        "points": 1,
        "party_score": 0,
    }

    again = await volunteering.approve(hood.staff, records)
    assert [o.status for o in again] == ["credited", "credited"]
    assert (await balances(ledger, hood, wang))["time_coins"] == 120
