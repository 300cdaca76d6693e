"""Catalogue versions and periods: enrolment with the base score on per-period accounts, closing, history."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from tests.auth_support import SYSTEM, Org
from tests.integration.scoring.support import START, at, build, member, open_year, standard_catalogue
from timebank.db import Database, bound
from timebank.errors import Conflict, Forbidden, InvalidInput
from timebank.ledger import Asset, Code, LedgerService, Result, Transfer
from timebank.scoring import catalogue, ids, periods
from timebank.scoring._ledger import issuance_account


async def test_catalogue_versions_are_numbered_and_take_effect_in_order(org: Org, database: Database) -> None:
    setup = await build(org, database, members=0)
    staff = setup.staff.principal
    first, later = standard_catalogue(), standard_catalogue(effective_from=date(2026, 7, 1), base_score=50)
    async with bound(database.pool, [setup.community]) as connection:
        one, created = await catalogue.publish_catalogue(connection, staff, setup.community, first)
        again, created_again = await catalogue.publish_catalogue(connection, staff, setup.community, first)
        two, _ = await catalogue.publish_catalogue(connection, staff, setup.community, later)
        with pytest.raises(InvalidInput) as earlier:
            await catalogue.publish_catalogue(
                connection, staff, setup.community, standard_catalogue(effective_from=date(2026, 3, 1))
            )
        in_june = await catalogue.catalogue_on(connection, setup.community, date(2026, 6, 30))
        in_july = await catalogue.catalogue_on(connection, setup.community, date(2026, 7, 1))
    assert (one.version, two.version, created, created_again) == (1, 2, True, False)
    assert again == one
    assert earlier.value.fields["field"] == "effective_from"
    assert (in_june.version, in_july.version, in_july.base_score) == (1, 2, 50)
    meetings = one.item("three_meetings")
    assert meetings is not None
    assert meetings.cap == 12


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"star_thresholds": (60, 60, 80)}, "star_thresholds"),
        ({"items": (*standard_catalogue().items, standard_catalogue().items[0])}, "items"),
    ],
)
async def test_an_inconsistent_catalogue_is_refused(
    org: Org, database: Database, overrides: dict[str, object], field: str
) -> None:
    setup = await build(org, database, members=0)
    async with bound(database.pool, [setup.community]) as connection:
        with pytest.raises(InvalidInput) as caught:
            await catalogue.publish_catalogue(
                connection, setup.staff.principal, setup.community, standard_catalogue(**overrides)
            )
    assert caught.value.fields["field"] == field


async def test_opening_a_period_enrols_members_with_the_base_score(
    org: Org, database: Database, ledger: LedgerService
) -> None:
    setup = await build(org, database, members=2)
    retired = await member(org, database, setup.community, setup.group, member_type="retired")
    period = await open_year(database, setup)
    enrolled = [setup.secretary, *setup.members]
    for person in enrolled:
        account = await ledger.get_account(ids.period_account_id(setup.community, period.id, person.id))
        assert (account.asset, account.owner_kind, account.label, account.posted) == (
            Asset.party_score, "person_period", "2026", 60,
        )  # fmt: skip
    async with bound(database.pool, [setup.community]) as connection:
        cards = await connection.fetch(
            "SELECT person_id, branch_id, group_id FROM scoring_card WHERE period_id = $1", period.id
        )
    by_person = {row["person_id"]: (row["branch_id"], row["group_id"]) for row in cards}
    assert set(by_person) == {p.id for p in enrolled}, "the retired member is exempt"
    assert retired.id not in by_person
    assert by_person[setup.secretary.id] == (setup.branch, None)
    assert by_person[setup.members[0].id] == (setup.branch, setup.group)
    issuance = await ledger.get_account(issuance_account(setup.community))
    assert issuance.posted == -60 * len(enrolled)


async def test_opening_again_enrols_only_late_joiners(org: Org, database: Database) -> None:
    setup = await build(org, database, members=1)
    period = await open_year(database, setup)
    late = await member(org, database, setup.community, setup.group)
    async with bound(database.pool, [setup.community]) as connection:
        _, created = await periods.open_period(
            connection,
            setup.staff.principal,
            setup.community,
            id=period.id,
            name="2026",
            starts_on=START,
            ends_on=date(2026, 12, 31),
        )
        bases = await connection.fetch(
            "SELECT person_id FROM scoring_entry WHERE period_id = $1 AND kind = 'base'", period.id
        )
    assert not created
    assert sorted(row["person_id"] for row in bases) == sorted([setup.secretary.id, setup.members[0].id, late.id])


async def test_periods_do_not_overlap_and_only_staff_open_them(org: Org, database: Database) -> None:
    setup = await build(org, database, members=0)
    await open_year(database, setup)
    async with bound(database.pool, [setup.community]) as connection:
        with pytest.raises(Conflict):
            await periods.open_period(
                connection,
                setup.staff.principal,
                setup.community,
                id=uuid.uuid4(),
                name="2026-H2",
                starts_on=date(2026, 7, 1),
                ends_on=date(2027, 6, 30),
            )
        with pytest.raises(Forbidden):
            await periods.open_period(
                connection,
                setup.secretary.principal,
                setup.community,
                id=uuid.uuid4(),
                name="2027",
                starts_on=date(2027, 1, 1),
                ends_on=date(2027, 12, 31),
            )


async def test_closing_keeps_totals_readable_and_refuses_late_transfers(
    org: Org, database: Database, ledger: LedgerService
) -> None:
    setup = await build(org, database, members=1)
    period = await open_year(database, setup)
    account_id = ids.period_account_id(setup.community, period.id, setup.members[0].id)
    async with bound(database.pool, [setup.community]) as connection:
        closed = await periods.close_period(connection, setup.staff.principal, period.id, now=at(12, 31, 20))
        again = await periods.close_period(connection, SYSTEM, period.id)
    late = Transfer(
        id=uuid.uuid4(),
        debit_account_id=issuance_account(setup.community),
        credit_account_id=account_id,
        amount=5,
        code=Code.score_bonus,
    )
    [result] = await ledger.create_transfers([late])
    account = await ledger.get_account(account_id)
    assert (closed.status, again.status) == ("closed", "closed")
    assert result is Result.account_closed
    assert (account.closed, account.posted) == (True, 60)
    async with bound(database.pool, [setup.community]) as connection:
        with pytest.raises(Exception, match="closed period stays closed"):
            await connection.execute(
                "UPDATE scoring_period SET status = 'open', closed_at = NULL WHERE id = $1", period.id
            )
