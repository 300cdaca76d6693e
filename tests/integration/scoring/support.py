"""A community set up for party assessment: a branch with a building group, its secretary, staff, party members,
a resident, and the catalogue the tests score by.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from tests.auth_support import SYSTEM, GrantSpec, Org, Person
from timebank.access.principal import Role
from timebank.community import people
from timebank.db import EVERY_COMMUNITY, Database, bound
from timebank.scoring import catalogue, periods
from timebank.scoring.catalogue import NewCatalogue
from timebank.scoring.model import Item, ItemKind, ItemSource, ReviewerScope
from timebank.scoring.records import Period

__all__ = [
    "ITEMS",
    "START",
    "Setup",
    "at",
    "build",
    "member",
    "open_year",
    "standard_catalogue",
]

START = date(2026, 1, 1)


def at(month: int, day: int, hour: int = 10) -> datetime:
    """A moment of the test year, in UTC."""
    return datetime(2026, month, day, hour, tzinfo=UTC)


ITEMS = (
    Item(code="three_meetings", name="三会一课", kind=ItemKind.bonus, source=ItemSource.manual, points=3, cap=12),
    Item(code="party_day", name="主题党日", kind=ItemKind.bonus, source=ItemSource.manual, points=2, cap=8),
    Item(
        code="study_notes",
        name="学习笔记",
        kind=ItemKind.bonus,
        source=ItemSource.manual,
        points=1,
        cap=4,
        evidence_required=True,
    ),
    Item(
        code="micro_lecture",
        name="微党课",
        kind=ItemKind.bonus,
        source=ItemSource.manual,
        points=3,
        reviewer=ReviewerScope.community,
    ),
    Item(code="volunteer_hour", name="志愿服务", kind=ItemKind.bonus, source=ItemSource.automatic, points=1, cap=15),
    Item(code="order_service", name="服务接单", kind=ItemKind.bonus, source=ItemSource.automatic, points=1, cap=10),
    Item(
        code="dual_report",
        name="双报到服务",
        kind=ItemKind.bonus,
        source=ItemSource.automatic,
        points=2,
        member_types=("dual_registered",),
    ),
    Item(code="missed_meeting", name="无故缺席组织生活", kind=ItemKind.deduction, source=ItemSource.manual, points=5),
    Item(code="pledge_kept", name="承诺践诺", kind=ItemKind.bonus, source=ItemSource.pledge, points=10, cap=20),
    Item(code="compare_conduct", name="比作风", kind=ItemKind.bonus, source=ItemSource.comparison, points=5),
    Item(code="compare_dedication", name="比奉献", kind=ItemKind.bonus, source=ItemSource.comparison, points=5),
    Item(code="appraisal", name="民主评议", kind=ItemKind.bonus, source=ItemSource.appraisal, points=20),
)


def standard_catalogue(**overrides: object) -> NewCatalogue:
    values: dict[str, object] = {
        "id": uuid.uuid4(),
        "effective_from": START,
        "base_score": 60,
        "items": ITEMS,
        "star_thresholds": (60, 70, 80, 90),
        "period_cap": 30,
        "exempt_member_types": ("retired",),
    }
    values.update(overrides)
    return NewCatalogue(**values)  # type: ignore[arg-type]


@dataclass
class Setup:
    community: uuid.UUID
    branch: uuid.UUID
    group: uuid.UUID
    staff: Person
    secretary: Person
    resident: Person
    members: list[Person] = field(default_factory=list)


async def member(
    org: Org,
    database: Database,
    community: uuid.UUID,
    party_org: uuid.UUID | None,
    *,
    member_type: str = "community_managed",
    grants: tuple[GrantSpec, ...] = (),
    name: str = "党员",
) -> Person:
    """A person of ``community`` who joined the party organisation ``party_org`` as a party member."""
    unit = await org.unit(community) if member_type == "dual_registered" else None
    person = await org.person(community, *grants, name=name)
    async with bound(database.pool, EVERY_COMMUNITY) as connection:
        await people.join(
            connection,
            SYSTEM,
            community,
            people.NewMembership(
                id=uuid.uuid4(),
                person_id=person.id,
                kind="party_member",
                member_type=member_type,
                party_org_id=party_org,
                unit_id=unit,
                joined_on=date(2025, 6, 1),
            ),
        )
    return person


async def build(org: Org, database: Database, *, members: int = 3) -> Setup:
    """A community with a branch and one building group in it, its secretary (a member too), staff and members."""
    community = await org.community()
    branch = await org.branch(community)
    group = uuid.uuid4()
    async with bound(database.pool, EVERY_COMMUNITY) as connection:
        await connection.execute(
            "INSERT INTO party_org (id, community_id, parent_id, level, name) VALUES ($1, $2, $3, 'group', $4)",
            group,
            community,
            branch,
            f"楼栋党小组{group.hex[:6]}",
        )
    staff = await org.person(community, Role.community_staff, name="社区干事")
    secretary = await member(
        org, database, community, branch, grants=((Role.branch_secretary, branch),), name="支部书记"
    )
    resident = await org.person(community, name="居民")
    setup = Setup(community=community, branch=branch, group=group, staff=staff, secretary=secretary, resident=resident)
    for index in range(members):
        setup.members.append(await member(org, database, community, group, name=f"党员{index + 1}"))
    return setup


async def open_year(database: Database, setup: Setup, **catalogue_overrides: object) -> Period:
    """Publish the standard catalogue and open 2026 as the assessment period."""
    async with bound(database.pool, [setup.community]) as connection:
        await catalogue.publish_catalogue(
            connection, setup.staff.principal, setup.community, standard_catalogue(**catalogue_overrides)
        )
        period, _ = await periods.open_period(
            connection,
            setup.staff.principal,
            setup.community,
            id=uuid.uuid4(),
            name="2026",
            starts_on=START,
            ends_on=date(2026, 12, 31),
        )
    return period
