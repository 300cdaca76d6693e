"""End to end: need → dispatch → claim → done → rate → credits, for time-bank help and public-good service; the party
score bonus lands in the member's account for the assessment period, scored by the party assessment."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import replace

import pytest

from tests.integration.marketplace.conftest import (
    BASE_SCORE,
    Neighbourhood,
    balance,
    give_coins,
    ledger_violations,
    open_assessment,
    period_score,
)
from timebank.db import Database
from timebank.errors import Conflict, Forbidden
from timebank.ledger import Asset, Code, LedgerService
from timebank.marketplace import claims, needs, orders
from timebank.marketplace.errors import CoinsDoNotCover, CoinsNotYetSpendable, OrderNotInState
from timebank.marketplace.model import ClaimantKind, NeedKind, OrderMode, Settlement
from timebank.marketplace.order_store import Order, events_of
from timebank.scoring.model import Item, ItemKind, ItemSource


def _need(hood: Neighbourhood, *, settlement: Settlement, minutes: int, category: str = "repair") -> needs.NewNeed:
    return needs.NewNeed(
        id=uuid.uuid4(),
        kind=NeedKind.need,
        category=category,
        title="厨房水龙头漏水",
        description="水龙头一直滴水，需要换阀芯",
        skills=("水电维修",),
        household_id=hood.household,
        est_minutes=minutes,
        settlement=settlement,
    )


async def _dispatched(database: Database, hood: Neighbourhood, new: needs.NewNeed) -> uuid.UUID:
    order_id = uuid.uuid4()
    assert hood.helper.person_id is not None
    async with hood.bound(database) as connection:
        need, created = await needs.raise_need(connection, hood.requester, hood.community, new)
        assert created
        assert need.status == "published"
        assert need.compound_id == hood.compound
        order, _ = await orders.place_order(
            connection,
            hood.staff,
            orders.NewOrder(
                id=order_id,
                need_id=need.id,
                mode=OrderMode.directed,
                assignee_kind=ClaimantKind.person,
                assignee_id=hood.helper.person_id,
            ),
        )
    assert (order.status, order.tier) == ("dispatched", "compound")
    return order_id


async def test_time_bank_help_pays_the_helper_from_the_requesters_held_coins(
    database: Database, hood: Neighbourhood
) -> None:
    await give_coins(database, hood, hood.requester, 120)
    order_id = await _dispatched(database, hood, _need(hood, settlement=Settlement.time_bank, minutes=90))

    async with hood.bound(database) as connection:
        claimed, created = await claims.claim_order(connection, hood.helper, order_id, claims.NewClaim(id=uuid.uuid4()))
    assert created
    assert claimed.status == "accepted"
    # The offered 90 minutes are held for the helper: still the requester's, but no longer spendable.
    assert await balance(database, hood, hood.requester, Asset.time_coins) == (120, 30)

    async with hood.bound(database) as connection:
        done = await claims.mark_done(
            connection,
            hood.helper,
            order_id,
            minutes=60,
            proof_text="换了阀芯，不再漏水",
            proof_urls=("https://img.example/1.jpg",),
        )
        assert done.status == "done"
        closed = await claims.rate_order(connection, hood.requester, order_id, rating=5, comment="师傅很耐心")
    assert (closed.status, closed.rating, closed.claim and closed.claim.status) == ("closed", 5, "completed")
    # 60 minutes of help cost 60 coin minutes; the rest of the hold went back.
    assert await balance(database, hood, hood.requester, Asset.time_coins) == (60, 60)
    assert await balance(database, hood, hood.helper, Asset.time_coins) == (60, 60)

    transfers = await LedgerService(database.pool).lookup_transfers(list(closed.credit_transfer_ids))
    assert [(t.code, t.amount, t.ref_type, t.ref_id, t.policy_version) for t in transfers] == [
        (Code.help_payment, 60, "service_order", order_id, 1)
    ]
    async with hood.bound(database) as connection:
        events = await events_of(connection, order_id)
        need = await needs.get_need(connection, hood.requester, closed.need_id)
    assert [(e.action, e.from_status, e.to_status) for e in events] == [
        ("dispatch", None, "dispatched"),
        ("claim", "dispatched", "accepted"),
        ("done", "accepted", "done"),
        ("rate", "done", "closed"),
    ]
    assert [e.actor_id for e in events] == [
        hood.staff.person_id,
        hood.helper.person_id,
        hood.helper.person_id,
        hood.requester.person_id,
    ]
    assert all(a.at <= b.at for a, b in itertools.pairwise(events))
    assert need.status == "fulfilled"


async def test_closing_twice_pays_once(database: Database, hood: Neighbourhood) -> None:
    await give_coins(database, hood, hood.requester, 60)
    order_id = await _dispatched(database, hood, _need(hood, settlement=Settlement.time_bank, minutes=60))
    async with hood.bound(database) as connection:
        await claims.claim_order(connection, hood.helper, order_id, claims.NewClaim(id=uuid.uuid4()))
        await claims.mark_done(connection, hood.helper, order_id, minutes=60, proof_text="修好了")
        first = await claims.rate_order(connection, hood.requester, order_id, rating=4)
        again = await claims.rate_order(connection, hood.requester, order_id, rating=4)
        with pytest.raises(Conflict):
            await claims.rate_order(connection, hood.requester, order_id, rating=1)
        paid = await connection.fetchval(
            "SELECT count(*) FROM ledger_transfer WHERE ref_id = $1 AND flags & 4 = 4", order_id
        )
    assert again == first
    assert paid == 1
    assert await balance(database, hood, hood.helper, Asset.time_coins) == (60, 60)


async def _public_good_closed(database: Database, hood: Neighbourhood, *, rating: int) -> Order:
    order_id = await _dispatched(database, hood, _need(hood, settlement=Settlement.public_good, minutes=120))
    async with hood.bound(database) as connection:
        await claims.claim_order(connection, hood.helper, order_id, claims.NewClaim(id=uuid.uuid4()))
        await claims.mark_done(connection, hood.helper, order_id, minutes=100, proof_text="清理了楼道")
        closed = await claims.rate_order(connection, hood.requester, order_id, rating=rating)
        assert await claims.rate_order(connection, hood.requester, order_id, rating=rating) == closed
    return closed


async def test_public_good_service_earns_points_and_the_party_score_unless_rated_low(
    database: Database, hood: Neighbourhood
) -> None:
    period = await open_assessment(database, hood)
    outcomes, scored = {}, {}
    for rating in (5, 2):
        closed = await _public_good_closed(database, hood, rating=rating)
        transfers = await LedgerService(database.pool).lookup_transfers(list(closed.credit_transfer_ids))
        outcomes[rating] = sorted((t.asset.name, t.amount) for t in transfers)
        scored[rating] = [(c.person_id, c.units, c.outcome, c.amount) for c in closed.score_credits]
        async with hood.bound(database) as connection:
            *_, rated = await events_of(connection, closed.id)
        assert rated.detail is not None
        assert [(c["outcome"], c["amount"]) for c in rated.detail["party_score"]] == [scored[rating][0][2:]]
    # 100 minutes are two started hours at one point an hour, on the chain. The score bonus (2 units of the
    # order item) needs a rating of at least 3 and goes through the assessment, into the period's account.
    assert outcomes == {5: [("points", 2)], 2: [("points", 2)]}
    helper = hood.helper.person_id
    assert scored == {5: [(helper, 2, "credited", 2)], 2: [(helper, 2, "withheld", 0)]}
    assert await balance(database, hood, hood.helper, Asset.points) == (4, 4)
    assert await period_score(database, hood, period, hood.helper) == BASE_SCORE + 2
    assert await balance(database, hood, hood.helper, Asset.party_score) == (0, 0)
    async with hood.bound(database) as connection:
        entries = await connection.fetch(
            "SELECT item_code, source_type, amount FROM scoring_entry WHERE person_id = $1 AND kind = 'bonus'",
            helper,
        )
    assert [tuple(row) for row in entries] == [("order_service", "order", 2)]
    assert await ledger_violations(database, hood) == []


async def test_a_bonus_the_assessment_cannot_credit_is_recorded_on_the_order(
    database: Database, hood: Neighbourhood
) -> None:
    before_any_period = await _public_good_closed(database, hood, rating=5)
    meeting = Item(code="three_meetings", name="三会一课", kind=ItemKind.bonus, source=ItemSource.manual, points=3)
    period = await open_assessment(database, hood, items=(meeting,))
    no_such_item = await _public_good_closed(database, hood, rating=5)
    # Both orders closed and paid their points; the bonus was skipped, and each order says why.
    assert [(c.outcome, c.amount) for c in before_any_period.score_credits] == [("no_open_period", 0)]
    assert [(c.outcome, c.amount) for c in no_such_item.score_credits] == [("not_in_catalogue", 0)]
    assert await balance(database, hood, hood.helper, Asset.points) == (4, 4)
    assert await period_score(database, hood, period, hood.helper) == BASE_SCORE


async def test_time_bank_help_needs_the_requesters_coins(database: Database, hood: Neighbourhood) -> None:
    await give_coins(database, hood, hood.requester, 30)
    async with hood.bound(database) as connection:
        need, _ = await needs.raise_need(
            connection, hood.requester, hood.community, _need(hood, settlement=Settlement.time_bank, minutes=60)
        )
        with pytest.raises(CoinsDoNotCover) as refused:
            await orders.place_order(
                connection, hood.staff, orders.NewOrder(id=uuid.uuid4(), need_id=need.id, mode=OrderMode.open)
            )
    assert refused.value.fields["needed"] == 60


async def test_only_the_assignee_claims_and_only_the_requester_rates(database: Database, hood: Neighbourhood) -> None:
    order_id = await _dispatched(database, hood, _need(hood, settlement=Settlement.public_good, minutes=60))
    async with hood.bound(database) as connection:
        with pytest.raises(Forbidden):
            await claims.claim_order(connection, hood.neighbour, order_id, claims.NewClaim(id=uuid.uuid4()))
        await claims.claim_order(connection, hood.helper, order_id, claims.NewClaim(id=uuid.uuid4()))
        with pytest.raises(OrderNotInState):
            await claims.rate_order(connection, hood.requester, order_id, rating=5)
        with pytest.raises(Forbidden):
            await claims.mark_done(connection, hood.neighbour, order_id, minutes=30, proof_text="我做的")
        await claims.mark_done(connection, hood.helper, order_id, minutes=30, proof_text="已完成")
        with pytest.raises(Forbidden):
            await claims.rate_order(connection, hood.helper, order_id, rating=5)


async def test_a_withdrawn_claim_releases_the_hold_and_reopens_the_order(
    database: Database, hood: Neighbourhood
) -> None:
    await give_coins(database, hood, hood.requester, 60)
    order_id = await _dispatched(database, hood, _need(hood, settlement=Settlement.time_bank, minutes=60))
    async with hood.bound(database) as connection:
        await claims.claim_order(connection, hood.helper, order_id, claims.NewClaim(id=uuid.uuid4()))
    assert await balance(database, hood, hood.requester, Asset.time_coins) == (60, 0)
    async with hood.bound(database) as connection:
        back = await claims.withdraw_claim(connection, hood.helper, order_id, reason="临时出差")
    assert (back.status, back.claim) == ("dispatched", None)
    assert await balance(database, hood, hood.requester, Asset.time_coins) == (60, 60)
    async with hood.bound(database) as connection:
        cancelled = await orders.cancel_order(connection, hood.staff, order_id, reason="居民已自行解决")
        need = await needs.get_need(connection, hood.staff, cancelled.need_id)
    assert cancelled.status == "cancelled"
    assert need.status == "published"


async def test_a_disputed_order_goes_back_to_the_claimer(database: Database, hood: Neighbourhood) -> None:
    order_id = await _dispatched(database, hood, _need(hood, settlement=Settlement.public_good, minutes=60))
    async with hood.bound(database) as connection:
        await claims.claim_order(connection, hood.helper, order_id, claims.NewClaim(id=uuid.uuid4()))
        await claims.mark_done(connection, hood.helper, order_id, minutes=30, proof_text="已完成")
        reopened = await claims.reopen_order(connection, hood.requester, order_id, reason="还在滴水")
        assert (reopened.status, reopened.done_at) == ("accepted", None)
        await claims.mark_done(connection, hood.helper, order_id, minutes=45, proof_text="重新换了阀门")
        closed = await claims.rate_order(connection, hood.requester, order_id, rating=4)
        events = await events_of(connection, order_id)
    assert closed.done_minutes == 45
    assert [e.action for e in events] == ["dispatch", "claim", "done", "reopen", "done", "rate"]


async def test_time_coins_pay_for_help_only_from_the_age_gate(database: Database, hood: Neighbourhood) -> None:
    young = replace(_need(hood, settlement=Settlement.time_bank, minutes=30), requester_id=hood.neighbour.person_id)
    async with hood.bound(database) as connection:
        with pytest.raises(CoinsNotYetSpendable) as refused:
            await needs.raise_need(connection, hood.neighbour, hood.community, young)
        # Help paid by the community instead is open to anyone.
        await needs.raise_need(connection, hood.neighbour, hood.community, replace(young, id=uuid.uuid4(),
                               settlement=Settlement.public_good))  # fmt: skip
    assert (refused.value.fields["field"], refused.value.fields["redeem_age"]) == ("settlement", 65)


async def test_an_order_dispatched_to_a_team_is_claimed_for_the_team(database: Database, hood: Neighbourhood) -> None:
    assert hood.team_leader.person_id is not None
    assert hood.helper.person_id is not None
    async with hood.bound(database) as connection:
        need, _ = await needs.raise_need(
            connection, hood.requester, hood.community, _need(hood, settlement=Settlement.public_good, minutes=120)
        )
        order, _ = await orders.place_order(
            connection,
            hood.staff,
            orders.NewOrder(
                id=uuid.uuid4(),
                need_id=need.id,
                mode=OrderMode.directed,
                assignee_kind=ClaimantKind.team,
                assignee_id=hood.team,
            ),
        )
        for_team = claims.NewClaim(
            id=uuid.uuid4(),
            claimant_kind=ClaimantKind.team,
            claimant_id=hood.team,
            participants=(hood.team_leader.person_id, hood.helper.person_id),
        )
        with pytest.raises(Forbidden):
            await claims.claim_order(connection, hood.helper, order.id, for_team)  # not of the team
        with pytest.raises(Forbidden):
            await claims.claim_order(connection, hood.team_leader, order.id, claims.NewClaim(id=uuid.uuid4()))
        claimed, _ = await claims.claim_order(connection, hood.team_leader, order.id, for_team)
        # Any participant reports the work; the team's members are credited.
        await claims.mark_done(connection, hood.helper, order.id, minutes=120, proof_text="两人一起修好了")
        closed = await claims.rate_order(connection, hood.requester, order.id, rating=5)
    assert claimed.claim is not None
    assert (claimed.claim.claimant_kind, claimed.claim.claimed_by) == ("team", hood.team_leader.person_id)
    transfers = await LedgerService(database.pool).lookup_transfers(list(closed.credit_transfer_ids))
    points = sorted((t.credit_account_id, t.amount) for t in transfers if t.asset is Asset.points)
    assert len(points) == 2
    assert all(amount == 2 for _, amount in points)
