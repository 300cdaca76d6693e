"""Matching on a small neighbourhood: candidates ranked by fit, distance, availability, ratings and load, explained."""

from __future__ import annotations

import uuid

from tests.integration.marketplace.conftest import Neighbourhood
from timebank.db import Database
from timebank.marketplace import claims, needs, orders, resources
from timebank.marketplace.matching import suggest_for_need
from timebank.marketplace.model import NeedKind, OrderMode, Settlement
from timebank.marketplace.openings import openings_for_resource, openings_for_unit


async def _raise(
    database: Database, hood: Neighbourhood, category: str, title: str, skills: tuple[str, ...] = ()
) -> uuid.UUID:
    async with hood.bound(database) as connection:
        need, _ = await needs.raise_need(
            connection,
            hood.requester,
            hood.community,
            needs.NewNeed(
                id=uuid.uuid4(),
                kind=NeedKind.need,
                category=category,
                title=title,
                skills=skills,
                household_id=hood.household,
                est_minutes=60,
                settlement=Settlement.public_good,
            ),
        )
    return need.id


async def test_the_neighbour_with_the_skill_comes_first_and_says_why(database: Database, hood: Neighbourhood) -> None:
    need_id = await _raise(database, hood, "repair", "卫生间水管漏水", ("水电维修",))
    async with hood.bound(database) as connection:
        suggestions = await suggest_for_need(connection, need_id)
    first = suggestions[0]
    assert (first.kind, first.id, first.fits) == ("member", hood.helper.person_id, True)
    codes = [reason.code for reason in first.reasons]
    assert codes == ["skill", "same_building", "available", "no_rating", "free"]
    assert "水电维修" in first.reasons[0].text
    # Keeping company is no repair skill: the other volunteer is not suggested for a leak.
    assert hood.neighbour.person_id not in {s.id for s in suggestions}
    assert all(s.fits for s in suggestions)


async def test_work_in_hand_and_ratings_move_a_candidate(database: Database, hood: Neighbourhood) -> None:
    need_id = await _raise(database, hood, "companionship", "陪老人说说话")
    async with hood.bound(database) as connection:
        before = {s.id: s for s in await suggest_for_need(connection, need_id)}
        busy_need = await _raise(database, hood, "errands", "代取快递")
        order, _ = await orders.place_order(
            connection, hood.staff, orders.NewOrder(id=uuid.uuid4(), need_id=busy_need, mode=OrderMode.open)
        )
        await claims.claim_order(connection, hood.neighbour, order.id, claims.NewClaim(id=uuid.uuid4()))
        after = {s.id: s for s in await suggest_for_need(connection, need_id)}
    neighbour = hood.neighbour.person_id
    assert neighbour is not None
    assert before[neighbour].reasons[0].code == "category"  # 陪伴 is companionship
    assert after[neighbour].score < before[neighbour].score
    assert any(r.text == "1 order in hand now" for r in after[neighbour].reasons)


async def test_a_resource_and_a_unit_see_the_open_needs_they_could_take(
    database: Database, hood: Neighbourhood
) -> None:
    repair = await _raise(database, hood, "repair", "门锁坏了", ("维修",))
    await _raise(database, hood, "culture_sports", "想学广场舞")
    async with hood.bound(database) as connection:
        resource, _ = await resources.create_resource(
            connection,
            hood.unit_admin,
            hood.community,
            resources.NewResource(
                id=uuid.uuid4(),
                owner_kind="unit",
                owner_id=hood.unit,
                category="repair",
                title="物业维修",
                skills=("维修",),
                compound_id=hood.compound,
            ),
        )
        for_resource = await openings_for_resource(connection, resource.id)
        for_unit = await openings_for_unit(connection, hood.unit)
        suggestions = await suggest_for_need(connection, repair)
    assert [o.need_id for o in for_resource] == [repair]
    assert [r.code for r in for_resource[0].reasons][:2] == ["category", "same_compound"]
    assert [o.need_id for o in for_unit] == [repair]
    assert ("resource", resource.id) in {(s.kind, s.id) for s in suggestions}
    assert ("unit", hood.unit) in {(s.kind, s.id) for s in suggestions}
