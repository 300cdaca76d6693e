"""The mutual-aid station: donations in kind (logged, inspected, rewarded by policy) and grants to the needy."""

from __future__ import annotations

import uuid

import pytest

from tests.integration.rewards.support import (
    available,
    build_mall,
    ledger_verifies,
    resident,
    stock_of,
    stocked_item,
)
from timebank.community import organisation
from timebank.db import Database, bound
from timebank.errors import Conflict, Forbidden, InvalidInput
from timebank.ledger import Code, LedgerService
from timebank.rewards import DonationLine, GrantLine, GrantStatus, Source
from timebank.rewards.donations import DonationRequest, receive_donation
from timebank.rewards.errors import NotEligible, OutOfStock, WrongState
from timebank.rewards.grants import (
    GrantRequest,
    approve_grant,
    cancel_grant,
    issue_grant,
    reject_grant,
    request_grant,
)


async def test_a_residents_donation_books_goods_in_and_earns_points_up_to_the_monthly_cap(database: Database) -> None:
    mall = await build_mall(database, donation_reward_points=3, donation_reward_monthly_cap=5)
    coats = await stocked_item(database, mall, price=0, stock=0, name="棉衣", source=Source.resident_donated)
    donor = await resident(database, mall, points=0)
    assert donor.person_id is not None

    def donation(accepted: int, rejected: int = 0) -> DonationRequest:
        assert donor.person_id is not None
        return DonationRequest(
            id=uuid.uuid4(),
            station_id=mall.station,
            donor_person_id=donor.person_id,
            lines=(DonationLine(item_id=coats.id, accepted=accepted, rejected=rejected, condition="good"),),
        )

    first_request = donation(4, 1)
    async with bound(database.pool, [mall.community]) as connection:
        first, created = await receive_donation(connection, mall.staff, mall.community, first_request)
        replay, created_again = await receive_donation(connection, mall.staff, mall.community, first_request)
        second, _ = await receive_donation(connection, mall.staff, mall.community, donation(2))
        third, _ = await receive_donation(connection, mall.staff, mall.community, donation(1))
        rejected_only, _ = await receive_donation(connection, mall.staff, mall.community, donation(0, 3))

    assert (created, created_again, replay) == (True, False, first)
    assert [first.reward_points, second.reward_points, third.reward_points] == [3, 2, 0]  # capped at 5 a month
    assert rejected_only.reward_points == 0  # nothing accepted, nothing earned
    assert await available(database, mall, donor) == 5
    assert await stock_of(database, mall, coats) == (7, 0)
    [reward] = await LedgerService(database.pool).lookup_transfers([first.reward_transfer_id])  # type: ignore[list-item]
    assert (reward.code, reward.ref_type, reward.policy_version) == (Code.issuance, "aid_donation", 1)
    assert await ledger_verifies(database, mall) == []


async def test_a_partner_units_donation_is_logged_without_points(database: Database) -> None:
    mall = await build_mall(database, donation_reward_points=3)
    unit = uuid.uuid4()
    async with bound(database.pool, [mall.community]) as connection:
        await organisation.create_unit(
            connection, mall.staff, mall.community, id=unit, name="莱西供电", kind="enterprise"
        )
    oil = await stocked_item(
        database, mall, price=30, stock=0, name="花生油", source=Source.partner_donated, partner_unit_id=unit,
        unit_cost_fen=4500,
    )  # fmt: skip
    async with bound(database.pool, [mall.community]) as connection:
        given, _ = await receive_donation(
            connection,
            mall.staff,
            mall.community,
            DonationRequest(
                id=uuid.uuid4(),
                station_id=mall.station,
                donor_unit_id=unit,
                lines=(DonationLine(item_id=oil.id, accepted=20, rejected=0, condition="new"),),
            ),
        )
        with pytest.raises(InvalidInput):
            await receive_donation(
                connection,
                mall.staff,
                mall.community,
                DonationRequest(id=uuid.uuid4(), station_id=mall.station, lines=given.lines),
            )
    assert (given.reward_points, given.reward_transfer_id) == (0, None)
    assert await stock_of(database, mall, oil) == (20, 0)


async def test_grants_go_to_households_in_need_with_a_second_staff_approval(database: Database) -> None:
    mall = await build_mall(database)
    rice = await stocked_item(database, mall, price=44, stock=3)
    request = GrantRequest(
        id=uuid.uuid4(),
        station_id=mall.station,
        household_id=mall.hardship_household,
        lines=(GrantLine(item_id=rice.id, quantity=2),),
        reason="低保户，冬季帮扶",
    )
    async with bound(database.pool, [mall.community]) as connection:
        with pytest.raises(NotEligible):
            await request_grant(
                connection,
                mall.staff,
                mall.community,
                GrantRequest(
                    id=uuid.uuid4(),
                    station_id=mall.station,
                    household_id=mall.ordinary_household,
                    lines=request.lines,
                    reason="普通户",
                ),
            )
        requested, _ = await request_grant(connection, mall.staff, mall.community, request)
        with pytest.raises(Forbidden):
            await approve_grant(connection, mall.staff, requested.id)
        approved = await approve_grant(connection, mall.second_staff, requested.id)
    assert requested.status is GrantStatus.requested
    assert approved.status is GrantStatus.approved
    assert await stock_of(database, mall, rice) == (3, 2)

    async with bound(database.pool, [mall.community]) as connection:
        issued = await issue_grant(connection, mall.staff, requested.id, signed_by="李秀兰")
        again = await issue_grant(connection, mall.staff, requested.id, signed_by="李秀兰")
        with pytest.raises(WrongState):
            await cancel_grant(connection, mall.staff, requested.id)
    assert issued.status is GrantStatus.issued
    assert issued.signed_by == "李秀兰"
    assert again == issued
    assert await stock_of(database, mall, rice) == (1, 0)
    assert await ledger_verifies(database, mall) == []  # no points moved at all


async def test_grants_reserve_stock_on_approval_and_release_it_on_cancel(database: Database) -> None:
    mall = await build_mall(database)
    rice = await stocked_item(database, mall, price=44, stock=2)

    def grant(quantity: int) -> GrantRequest:
        return GrantRequest(
            id=uuid.uuid4(),
            station_id=mall.station,
            household_id=mall.hardship_household,
            lines=(GrantLine(item_id=rice.id, quantity=quantity),),
            reason="临时困难",
        )

    async with bound(database.pool, [mall.community]) as connection:
        big, _ = await request_grant(connection, mall.staff, mall.community, grant(3))
        with pytest.raises(OutOfStock):
            await approve_grant(connection, mall.second_staff, big.id)
    async with bound(database.pool, [mall.community]) as connection:
        small, _ = await request_grant(connection, mall.staff, mall.community, grant(2))
        await approve_grant(connection, mall.second_staff, small.id)
    reserved = await stock_of(database, mall, rice)
    async with bound(database.pool, [mall.community]) as connection:
        cancelled = await cancel_grant(connection, mall.staff, small.id)
        rejected = await reject_grant(connection, mall.second_staff, big.id)
        with pytest.raises(Conflict):
            await request_grant(
                connection,
                mall.staff,
                mall.community,
                GrantRequest(
                    id=small.id,
                    station_id=mall.station,
                    household_id=mall.hardship_household,
                    lines=(GrantLine(item_id=rice.id, quantity=1),),
                    reason="临时困难",
                ),
            )
    assert reserved == (2, 2)
    assert (cancelled.status, rejected.status) == (GrantStatus.cancelled, GrantStatus.rejected)
    assert await stock_of(database, mall, rice) == (2, 0)
