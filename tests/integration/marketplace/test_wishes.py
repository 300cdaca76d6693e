"""Micro-wishes: a value cap, staff verification before publishing, a masked name until claimed, group claims."""

from __future__ import annotations

import uuid
from dataclasses import replace

import asyncpg
import pytest

from tests.integration.marketplace.conftest import (
    BASE_SCORE,
    Neighbourhood,
    balance,
    ledger_violations,
    open_assessment,
    period_score,
)
from timebank.db import Database
from timebank.errors import Forbidden, RuleViolation
from timebank.ledger import Asset
from timebank.marketplace import claims, needs, wishes
from timebank.marketplace.errors import AlreadyClaimed, WishOverValueCap
from timebank.marketplace.model import ClaimantKind, NeedKind


def _wish(hood: Neighbourhood, value: int) -> needs.NewNeed:
    return needs.NewNeed(
        id=uuid.uuid4(),
        kind=NeedKind.micro_wish,
        category="goods",
        title="想要一台收音机听戏",
        requester_id=hood.requester.person_id,
        household_id=hood.household,
        est_minutes=60,
        value_yuan=value,
        source="visit",
    )


async def test_a_wish_over_the_cap_is_refused(database: Database, hood: Neighbourhood) -> None:
    async with hood.bound(database) as connection:
        with pytest.raises(WishOverValueCap) as refused:
            await needs.raise_need(connection, hood.staff, hood.community, _wish(hood, 301))
    assert refused.value.fields == {"field": "value_yuan", "cap": 300, "policy_version": 1}


async def test_a_wish_is_seen_only_after_staff_verify_it(database: Database, hood: Neighbourhood) -> None:
    async with hood.bound(database) as connection:
        wish, _ = await needs.raise_need(connection, hood.staff, hood.community, _wish(hood, 120))
        assert wish.status == "pending_review"
        before = await needs.list_needs(connection, hood.helper, hood.community, needs.NeedFilter(kind="micro_wish"))
        with pytest.raises(Forbidden):
            await wishes.verify_wish(connection, hood.helper, wish.id)
        verified, order = await wishes.verify_wish(connection, hood.staff, wish.id, note="入户核实")
        again, same_order = await wishes.verify_wish(connection, hood.staff, wish.id)
        after = await needs.list_needs(connection, hood.helper, hood.community, needs.NeedFilter(kind="micro_wish"))
    assert [n.id for n in before.items] == []
    assert (verified.status, verified.reviewed_by) == ("ordered", hood.staff.person_id)
    assert (order.status, order.mode) == ("open", "open")
    assert same_order.id == order.id
    assert again.order_id == order.id
    assert [n.id for n in after.items] == [wish.id]


async def test_the_database_refuses_a_published_wish_nobody_verified(database: Database, hood: Neighbourhood) -> None:
    async with hood.bound(database) as connection:
        wish, _ = await needs.raise_need(connection, hood.staff, hood.community, _wish(hood, 80))
        with pytest.raises(asyncpg.CheckViolationError):
            await connection.execute("UPDATE need SET status = 'published' WHERE id = $1", wish.id)


async def test_the_beneficiarys_name_is_masked_until_claimed_and_then_shown_to_the_claimer(
    database: Database, hood: Neighbourhood
) -> None:
    async with hood.bound(database) as connection:
        wish, _ = await needs.raise_need(connection, hood.staff, hood.community, _wish(hood, 120))
        _, order = await wishes.verify_wish(connection, hood.staff, wish.id)
        seen_before = await needs.get_need(connection, hood.helper, wish.id)
        await claims.claim_order(connection, hood.helper, order.id, claims.NewClaim(id=uuid.uuid4()))
        seen_by_claimer = await needs.get_need(connection, hood.helper, wish.id)
        seen_by_other = await needs.get_need(connection, hood.neighbour, wish.id)
        seen_by_staff = await needs.get_need(connection, hood.staff, wish.id)
    assert (seen_before.requester_name, seen_before.name_masked) == ("王**", True)
    assert (seen_by_claimer.requester_name, seen_by_claimer.name_masked) == ("王秀英", False)
    assert seen_by_other.requester_name == "王**"
    assert seen_by_staff.requester_name == "王秀英"


async def test_a_unit_claims_a_wish_for_a_group_and_every_participant_is_credited(
    database: Database, hood: Neighbourhood
) -> None:
    assert hood.helper.person_id
    assert hood.neighbour.person_id
    assert hood.unit_admin.person_id
    group = (hood.helper.person_id, hood.neighbour.person_id)
    period = await open_assessment(database, hood)
    async with hood.bound(database) as connection:
        wish, _ = await needs.raise_need(
            connection, hood.staff, hood.community, replace(_wish(hood, 280), est_minutes=120)
        )
        _, order = await wishes.verify_wish(connection, hood.staff, wish.id)
        claimed, _ = await claims.claim_order(
            connection,
            hood.unit_admin,
            order.id,
            claims.NewClaim(
                id=uuid.uuid4(), claimant_kind=ClaimantKind.unit, claimant_id=hood.unit, participants=group
            ),
        )
        # One live claim per wish: a second claimer, even for a unit, is refused.
        with pytest.raises(AlreadyClaimed):
            await claims.claim_order(connection, hood.neighbour, order.id, claims.NewClaim(id=uuid.uuid4()))
        await claims.mark_done(
            connection,
            hood.helper,
            order.id,
            minutes=90,
            proof_text="送到家中，老人很高兴",
            proof_urls=("https://img.example/gift.jpg",),
        )
        closed = await claims.rate_order(connection, hood.requester, order.id, rating=5, comment="谢谢你们")
    assert claimed.claim is not None
    assert (claimed.claim.claimant_kind, claimed.claim.claimant_id) == ("unit", hood.unit)
    assert sorted(claimed.claim.participants) == sorted(group)
    assert closed.status == "closed"
    # Each participant: two points for 90 minutes; the party member also the score bonus, in the assessment.
    assert await balance(database, hood, hood.helper, Asset.points) == (2, 2)
    assert await balance(database, hood, hood.neighbour, Asset.points) == (2, 2)
    assert [(c.person_id, c.outcome, c.amount) for c in closed.score_credits] == [
        (hood.helper.person_id, "credited", 2)
    ]
    assert await period_score(database, hood, period, hood.helper) == BASE_SCORE + 2
    assert await ledger_violations(database, hood) == []


async def test_a_claimer_cannot_be_the_beneficiary(database: Database, hood: Neighbourhood) -> None:
    async with hood.bound(database) as connection:
        wish, _ = await needs.raise_need(connection, hood.staff, hood.community, _wish(hood, 50))
        _, order = await wishes.verify_wish(connection, hood.staff, wish.id)
        with pytest.raises(RuleViolation):
            await claims.claim_order(connection, hood.requester, order.id, claims.NewClaim(id=uuid.uuid4()))
