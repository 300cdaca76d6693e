"""A small neighbourhood per test: two compounds, a requester, helpers, a team, a partner unit and staff; optionally
a party assessment year covering today, so closed orders score party members.

Each test gets communities of its own, so tests never see each other's lists or orders.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime

import asyncpg
import pytest

from timebank.access.principal import Grant, Principal, Role, ScopeKind
from timebank.community import organisation, people, places
from timebank.community.accounts import SystemRole, account_id, system_account_id
from timebank.db import EVERY_COMMUNITY, Database, bound
from timebank.ledger import Asset, Code, LedgerService, Result, Transfer
from timebank.ledger.verify import verify_ledger
from timebank.scoring import AUTOMATIC_ITEMS, catalogue, ids, periods
from timebank.scoring.catalogue import NewCatalogue
from timebank.scoring.model import Item, local_day

SYSTEM = Principal(subject="system:test", person_id=None, home_community_id=None, grants=(Grant(
    Role.system, ScopeKind.street, uuid.UUID(int=0), None),))  # fmt: skip


def acting_as(person_id: uuid.UUID, community: uuid.UUID, *grants: tuple[Role, ScopeKind, uuid.UUID]) -> Principal:
    """A principal for a person of ``community`` holding ``grants`` (role, scope kind, scope id) there."""
    return Principal(
        subject=f"person:{person_id}",
        person_id=person_id,
        home_community_id=community,
        grants=tuple(Grant(role, kind, scope, community) for role, kind, scope in grants),
        communities=frozenset({community}),
    )


@dataclass(frozen=True)
class Neighbourhood:
    community: uuid.UUID
    other_community: uuid.UUID
    compound: uuid.UUID
    far_compound: uuid.UUID
    building: uuid.UUID
    far_building: uuid.UUID
    household: uuid.UUID
    team: uuid.UUID
    unit: uuid.UUID
    requester: Principal
    helper: Principal  # lives next door, a party member who repairs things
    neighbour: Principal  # lives in the other compound, keeps people company
    team_leader: Principal
    unit_admin: Principal
    staff: Principal
    outsider: Principal  # staff of the other community

    def bound(self, database: Database) -> AbstractAsyncContextManager[asyncpg.Connection]:
        return bound(database.pool, [self.community])


async def _person(
    connection: asyncpg.Connection,
    community: uuid.UUID,
    name: str,
    household: uuid.UUID | None,
    *memberships: dict[str, object],
    born: date | None = None,
) -> uuid.UUID:
    new = people.NewPerson(id=uuid.uuid4(), name=name, household_id=household, birth_date=born)
    person, _ = await people.register_person(connection, SYSTEM, community, new)
    for fields in memberships:
        await people.join(
            connection,
            SYSTEM,
            community,
            people.NewMembership(id=uuid.uuid4(), person_id=person.id, **fields),  # type: ignore[arg-type]
        )
    return person.id


async def _place(
    connection: asyncpg.Connection, community: uuid.UUID, kind: str, name: str, parent: uuid.UUID | None = None
) -> uuid.UUID:
    place, _ = await places.add_place(
        connection, SYSTEM, community, id=uuid.uuid4(), kind=kind, name=name, parent_id=parent
    )
    return place.id


@pytest.fixture(name="hood")
async def fx_hood(database: Database) -> Neighbourhood:
    street, here, there = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with bound(database.pool, EVERY_COMMUNITY) as connection:
        await connection.execute(
            "INSERT INTO street (id, code, name) VALUES ($1, $2, '望城街道')", street, f"s-{street.hex[:8]}"
        )
        for community, name in ((here, "苏州路社区"), (there, "烟台路社区")):
            await places.create_community(
                connection, SYSTEM, id=community, street_id=street, code=f"c-{community.hex[:12]}", name=name
            )
        compound = await _place(connection, here, "compound", "一区")
        far_compound = await _place(connection, here, "compound", "二区")
        building = await _place(connection, here, "building", "3号楼", compound)
        far_building = await _place(connection, here, "building", "8号楼", far_compound)
        household = await _place(connection, here, "household", "2-301", building)
        next_door = await _place(connection, here, "household", "2-302", building)
        far_household = await _place(connection, here, "household", "1-101", far_building)
        team, _ = await organisation.create_team(connection, SYSTEM, here, id=uuid.uuid4(), name="红马甲志愿服务队")
        unit, _ = await organisation.create_unit(
            connection, SYSTEM, here, id=uuid.uuid4(), name="青岛港湾物业", kind="enterprise"
        )
        # 78 years old: time coins pay for her help (the age gate is 65).
        requester = await _person(connection, here, "王秀英", household, born=date(1948, 3, 9))
        helper = await _person(
            connection, here, "李建国", next_door,
            {"kind": "volunteer", "skills": ("水电维修", "电工")},
            {"kind": "party_member", "member_type": "community_managed"},
        )  # fmt: skip
        neighbour = await _person(connection, here, "张伟", far_household, {"kind": "volunteer", "skills": ("陪伴",)})
        leader = await _person(connection, here, "赵敏", far_household, {"kind": "team_leader", "team_id": team.id})
        admin = await _person(connection, here, "孙强", None, {"kind": "partner_staff", "unit_id": unit.id})
        clerk = await _person(connection, here, "社区干事", None)
        other_clerk = await _person(connection, there, "另一社区干事", None)
    return Neighbourhood(
        community=here,
        other_community=there,
        compound=compound,
        far_compound=far_compound,
        building=building,
        far_building=far_building,
        household=household,
        team=team.id,
        unit=unit.id,
        requester=acting_as(requester, here, (Role.resident, ScopeKind.self, requester)),
        helper=acting_as(helper, here, (Role.volunteer, ScopeKind.community, here)),
        neighbour=acting_as(neighbour, here, (Role.volunteer, ScopeKind.community, here)),
        team_leader=acting_as(leader, here, (Role.team_leader, ScopeKind.team, team.id)),
        unit_admin=acting_as(admin, here, (Role.partner_admin, ScopeKind.unit, unit.id)),
        staff=acting_as(clerk, here, (Role.community_staff, ScopeKind.community, here)),
        outsider=acting_as(other_clerk, there, (Role.community_staff, ScopeKind.community, there)),
    )


async def give_coins(database: Database, hood: Neighbourhood, person: Principal, minutes: int) -> None:
    """Issue time coins to a person, as if earned by volunteering."""
    assert person.person_id is not None
    transfer = Transfer(
        id=uuid.uuid4(),
        debit_account_id=system_account_id(hood.community, SystemRole.issuance, Asset.time_coins),
        credit_account_id=account_id(hood.community, "person", person.person_id, Asset.time_coins),
        amount=minutes,
        code=Code.issuance,
    )
    assert await LedgerService(database.pool).create_transfers([transfer]) == [Result.ok]


async def balance(database: Database, hood: Neighbourhood, person: Principal, asset: Asset) -> tuple[int, int]:
    """(posted balance, available) of a person's account."""
    assert person.person_id is not None
    account = await LedgerService(database.pool).get_account(
        account_id(hood.community, "person", person.person_id, asset)
    )
    return account.posted, account.available


@asynccontextmanager
async def as_system(database: Database) -> AsyncIterator[asyncpg.Connection]:
    async with bound(database.pool, EVERY_COMMUNITY) as connection:
        yield connection


#: The base score every member of an assessment period starts with in these tests.
BASE_SCORE = 60


async def open_assessment(
    database: Database, hood: Neighbourhood, *, items: tuple[Item, ...] = AUTOMATIC_ITEMS
) -> uuid.UUID:
    """Publish a party-assessment catalogue (the standard automatic items unless told) and open this year: its id.

    Orders close now, so the year is the current one in the communities' calendar.
    """
    year = local_day(datetime.now(UTC)).year
    async with hood.bound(database) as connection:
        await catalogue.publish_catalogue(
            connection,
            hood.staff,
            hood.community,
            NewCatalogue(id=uuid.uuid4(), effective_from=date(year, 1, 1), base_score=BASE_SCORE, items=items),
        )
        period, _ = await periods.open_period(
            connection,
            hood.staff,
            hood.community,
            id=uuid.uuid4(),
            name=str(year),
            starts_on=date(year, 1, 1),
            ends_on=date(year, 12, 31),
        )
    return period.id


async def period_score(database: Database, hood: Neighbourhood, period_id: uuid.UUID, person: Principal) -> int:
    """The member's party score in the period: their per-period account's balance (base score included)."""
    assert person.person_id is not None
    account_id_ = ids.period_account_id(hood.community, period_id, person.person_id)
    return (await LedgerService(database.pool).get_account(account_id_)).posted


async def ledger_violations(database: Database, hood: Neighbourhood) -> list[str]:
    """What ``timebank ledger verify`` finds wrong in the community's ledger (nothing, when it is sound)."""
    async with database.pool.acquire() as connection:
        return (await verify_ledger(connection, hood.community)).violations
