"""A neighbourhood to volunteer in: a community with staff, a team and its leader, volunteers (one a party member),
elders in need, and the volunteering service on a clock the test moves; optionally a party assessment year."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from timebank.access.principal import Grant, Principal, Role, ScopeKind
from timebank.community import organisation, people, places
from timebank.community.accounts import account_id
from timebank.db import EVERY_COMMUNITY, Database, bound
from timebank.ledger import Asset, LedgerService
from timebank.ledger.verify import verify_ledger
from timebank.scoring import AUTOMATIC_ITEMS, catalogue, ids, periods
from timebank.scoring.catalogue import NewCatalogue
from timebank.scoring.model import Item
from timebank.volunteering.activities import NewActivity
from timebank.volunteering.service import Volunteering

SETUP = Principal(subject="system:test", person_id=None, home_community_id=None)
CHECK_IN_KEY = b"volunteering-test-check-in-key-32"
#: Tests run in a day long gone, so check-in windows and "not in the future" rules hold whatever the real clock says.
DAY_ONE = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
#: The party assessment's year the tests open (it covers DAY_ONE), and its base score.
YEAR = (date(2026, 1, 1), date(2026, 12, 31))
BASE_SCORE = 60


@dataclass
class Clock:
    now: datetime = DAY_ONE

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass
class Neighbourhood:
    community: uuid.UUID
    team: uuid.UUID
    staff: Principal
    leader: Principal
    households: dict[str, uuid.UUID]
    volunteers: dict[str, uuid.UUID] = field(default_factory=dict)

    def principal(self, person_id: uuid.UUID) -> Principal:
        return Principal(
            subject=f"person:{person_id}",
            person_id=person_id,
            home_community_id=self.community,
            grants=(Grant(Role.resident, ScopeKind.self, person_id, self.community),),
            communities=frozenset({self.community}),
        )

    def account(self, person_id: uuid.UUID, asset: Asset) -> uuid.UUID:
        return account_id(self.community, "person", person_id, asset)


def _staff(community: uuid.UUID, person: uuid.UUID) -> Principal:
    return Principal(
        subject=f"person:{person}",
        person_id=person,
        home_community_id=community,
        grants=(Grant(Role.community_staff, ScopeKind.community, community, community),),
        communities=frozenset({community}),
    )


@pytest.fixture(name="clock")
def fx_clock() -> Clock:
    return Clock()


@pytest.fixture(name="ledger")
def fx_ledger(database: Database) -> LedgerService:
    return LedgerService(database.pool)


@pytest.fixture(name="volunteering")
def fx_volunteering(database: Database, ledger: LedgerService, clock: Clock) -> Volunteering:
    return Volunteering(database.pool, ledger, check_in_key=CHECK_IN_KEY, clock=clock)


@pytest.fixture(name="hood")
async def fx_hood(database: Database) -> Neighbourhood:
    street, community, team = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with bound(database.pool, EVERY_COMMUNITY) as connection:
        await connection.execute(
            "INSERT INTO street (id, code, name) VALUES ($1, $2, '江宁路街道')", street, f"s-{street.hex[:8]}"
        )
        await places.create_community(
            connection, SETUP, id=community, street_id=street, code=f"c-{community.hex[:12]}", name="淮安里社区"
        )
        compound, _ = await places.add_place(
            connection, SETUP, community, id=uuid.uuid4(), kind="compound", name="一区"
        )
        building, _ = await places.add_place(
            connection, SETUP, community, id=uuid.uuid4(), kind="building", name="5号楼", parent_id=compound.id
        )
        households = {}
        for room, kind in (
            ("101", "ordinary"),
            ("102", "solitary_elder"),
            ("103", "hardship"),
            ("104", "bereaved_elder"),
        ):
            household, _ = await places.add_place(
                connection,
                SETUP,
                community,
                id=uuid.uuid4(),
                kind="household",
                name=room,
                parent_id=building.id,
                household_kind=kind,
            )
            households[kind] = household.id
        clerk, _ = await people.register_person(
            connection, SETUP, community, people.NewPerson(id=uuid.uuid4(), name="周敏")
        )
        staff = _staff(community, clerk.id)
        await organisation.create_team(connection, staff, community, id=team, name="红马甲志愿服务队")
        leader, _ = await people.register_person(
            connection,
            staff,
            community,
            people.NewPerson(id=uuid.uuid4(), name="陈队长", household_id=households["ordinary"]),
        )
        await people.join(
            connection,
            staff,
            community,
            people.NewMembership(id=uuid.uuid4(), person_id=leader.id, kind="team_leader", team_id=team),
        )
    leader_principal = Principal(
        subject=f"person:{leader.id}",
        person_id=leader.id,
        home_community_id=community,
        grants=(Grant(Role.team_leader, ScopeKind.team, team, community),),
        communities=frozenset({community}),
    )
    return Neighbourhood(community=community, team=team, staff=staff, leader=leader_principal, households=households)


async def add_volunteer(
    database: Database,
    hood: Neighbourhood,
    name: str,
    *,
    party_member: bool = False,
    member_type: str = "community_managed",
    birth_date: date | None = None,
    household: str = "ordinary",
) -> uuid.UUID:
    async with bound(database.pool, [hood.community]) as connection:
        person, _ = await people.register_person(
            connection,
            hood.staff,
            hood.community,
            people.NewPerson(
                id=uuid.uuid4(), name=name, birth_date=birth_date, household_id=hood.households[household]
            ),
        )
        await people.join(
            connection,
            hood.staff,
            hood.community,
            people.NewMembership(id=uuid.uuid4(), person_id=person.id, kind="volunteer"),
        )
        if party_member:
            await people.join(
                connection,
                hood.staff,
                hood.community,
                people.NewMembership(
                    id=uuid.uuid4(),
                    person_id=person.id,
                    kind="party_member",
                    member_type=member_type,
                    joined_on=date(2025, 7, 1),
                ),
            )
    hood.volunteers[name] = person.id
    return person.id


def activity(
    hood: Neighbourhood,
    *,
    starts_at: datetime = DAY_ONE,
    hours: float = 3,
    capacity: int = 10,
    title: str = "为独居老人打扫卫生",
    tags: tuple[str, ...] = (),
    team_service: bool = False,
) -> NewActivity:
    return NewActivity(
        id=uuid.uuid4(),
        title=title,
        category="助老服务",
        content="上门打扫、陪伴聊天",
        place="淮安里5号楼",
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=hours),
        capacity=capacity,
        leader_id=hood.leader.person_id or uuid.uuid4(),
        organiser="淮安里社区居民委员会",
        tags=tags,
        team_id=hood.team,
        team_service=team_service,
    )


async def balances(ledger: LedgerService, hood: Neighbourhood, person_id: uuid.UUID) -> dict[str, int]:
    found = {a.asset: a.posted for a in await ledger.accounts_of_owner(hood.community, "person", person_id)}
    return {asset.name: found.get(asset, 0) for asset in Asset}


async def serve(
    volunteering: Volunteering,
    clock: Clock,
    hood: Neighbourhood,
    person_id: uuid.UUID,
    *,
    starts_at: datetime,
    minutes: int,
    certifier: Principal | None = None,
    **activity_fields: Any,
) -> uuid.UUID:
    """Publish an activity, sign ``person_id`` up, record their times and confirm: the new record's id."""
    new = activity(hood, starts_at=starts_at, hours=max(1, minutes / 60 + 1), **activity_fields)
    leader = certifier or hood.leader
    new = replace(new, leader_id=leader.person_id or new.leader_id)
    await volunteering.publish(hood.staff, hood.community, new)
    clock.now = starts_at
    await volunteering.sign_up(hood.principal(person_id), new.id, person_id)
    ended = starts_at + timedelta(minutes=minutes)
    clock.now = max(starts_at, ended) + timedelta(minutes=1)
    await volunteering.record_times(leader, new.id, person_id, starts_at, ended)
    [outcome] = await volunteering.confirm_roster(leader, new.id, [person_id])
    assert outcome.record_id is not None
    return outcome.record_id


async def open_assessment(
    database: Database,
    hood: Neighbourhood,
    *,
    items: tuple[Item, ...] = AUTOMATIC_ITEMS,
    exempt_member_types: tuple[str, ...] = ("retired",),
) -> uuid.UUID:
    """Publish a party-assessment catalogue (the standard automatic items unless told) and open the year: its id."""
    async with bound(database.pool, [hood.community]) as connection:
        await catalogue.publish_catalogue(
            connection,
            hood.staff,
            hood.community,
            NewCatalogue(
                id=uuid.uuid4(),
                effective_from=YEAR[0],
                base_score=BASE_SCORE,
                items=items,
                exempt_member_types=exempt_member_types,
            ),
        )
        period, _ = await periods.open_period(
            connection, hood.staff, hood.community, id=uuid.uuid4(), name="2026", starts_on=YEAR[0], ends_on=YEAR[1]
        )
    return period.id


async def period_score(ledger: LedgerService, hood: Neighbourhood, period_id: uuid.UUID, person_id: uuid.UUID) -> int:
    """The member's party score in the period: their per-period account's balance (base score included)."""
    return (await ledger.get_account(ids.period_account_id(hood.community, period_id, person_id))).posted


async def ledger_violations(database: Database, hood: Neighbourhood) -> list[str]:
    """What ``timebank ledger verify`` finds wrong in the community's ledger (nothing, when it is sound)."""
    async with database.pool.acquire() as connection:
        return (await verify_ledger(connection, hood.community)).violations
