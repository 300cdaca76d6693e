"""Builders for the mall tests: a community with a station and staff, residents holding points, stocked items."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from timebank.access.principal import Grant, Principal, Role, ScopeKind
from timebank.community import family, people, places
from timebank.community.accounts import (
    SystemRole,
    community_accounts,
    open_accounts,
    person_accounts,
    system_account_id,
)
from timebank.db import EVERY_COMMUNITY, Database, bound
from timebank.ledger import Asset, Code, LedgerService, Result, Transfer
from timebank.ledger.verify import verify_ledger
from timebank.rewards import Category, Item, NewItem, Order, Policy, Source, catalogue, policy
from timebank.rewards.codes import PickupCodes
from timebank.rewards.counter import hand_over, pickup_code
from timebank.rewards.orders import OrderRequest, place_order
from timebank.rewards.points import available_points, person_points

SYSTEM = Principal(subject="system:test", person_id=None, home_community_id=None, grants=(Grant(
    Role.system, ScopeKind.street, uuid.UUID(int=0), None),))  # fmt: skip
CODES = PickupCodes(b"k" * 32)


@dataclass(frozen=True)
class Mall:
    community: uuid.UUID
    station: uuid.UUID
    ordinary_household: uuid.UUID
    hardship_household: uuid.UUID
    staff: Principal
    second_staff: Principal


def staff_of(community: uuid.UUID, person: uuid.UUID) -> Principal:
    return Principal(
        subject=f"person:{person}",
        person_id=person,
        home_community_id=community,
        grants=(Grant(Role.community_staff, ScopeKind.community, community, community),),
        communities=frozenset({community}),
    )


def resident_of(community: uuid.UUID, person: uuid.UUID) -> Principal:
    return Principal(
        subject=f"person:{person}",
        person_id=person,
        home_community_id=community,
        grants=(Grant(Role.resident, ScopeKind.self, person, community),),
        communities=frozenset({community}),
    )


async def build_mall(database: Database, **policy_rules: Any) -> Mall:
    """A fresh community (its own tenant, so tests never see each other) with one station and two staff."""
    street, community = uuid.uuid4(), uuid.uuid4()
    ordinary, hardship = uuid.uuid4(), uuid.uuid4()
    async with bound(database.pool, EVERY_COMMUNITY) as connection:
        await connection.execute(
            "INSERT INTO street (id, code, name) VALUES ($1, $2, '望城街道')", street, f"s-{street.hex[:8]}"
        )
        await places.create_community(
            connection, SYSTEM, id=community, street_id=street, code=f"c-{community.hex[:12]}", name="苏州路社区"
        )
        compound, _ = await places.add_place(
            connection, SYSTEM, community, id=uuid.uuid4(), kind="compound", name="一区"
        )
        building, _ = await places.add_place(
            connection, SYSTEM, community, id=uuid.uuid4(), kind="building", name="3号楼", parent_id=compound.id
        )
        for household, room, kind in ((ordinary, "2-301", "ordinary"), (hardship, "2-302", "hardship")):
            await places.add_place(
                connection, SYSTEM, community, id=household, kind="household", name=room, parent_id=building.id,
                household_kind=kind,
            )  # fmt: skip
        clerks = []
        for name in ("社区干事", "社区主任"):
            clerk, _ = await people.register_person(
                connection, SYSTEM, community, people.NewPerson(id=uuid.uuid4(), name=name)
            )
            clerks.append(staff_of(community, clerk.id))
        station = uuid.uuid4()
        await catalogue.create_station(
            connection, clerks[0], community, id=station, name="爱心超市", opening_hours="每周五"
        )
        if policy_rules:
            await policy.set_policy(connection, clerks[0], Policy(community_id=community, version=1, **policy_rules))
    return Mall(community, station, ordinary, hardship, clerks[0], clerks[1])


async def resident(
    database: Database,
    mall: Mall,
    points: int = 100,
    *,
    name: str = "王秀英",
    birth_date: date | None = None,
    household: uuid.UUID | None = None,
) -> Principal:
    """A resident with ``points`` issued to their account."""
    new = people.NewPerson(
        id=uuid.uuid4(), name=name, birth_date=birth_date, household_id=household or mall.ordinary_household
    )
    async with bound(database.pool, [mall.community]) as connection:
        person, _ = await people.register_person(connection, mall.staff, mall.community, new)
    if points:
        await issue(database, mall.community, person.id, points)
    return resident_of(mall.community, person.id)


async def issue(database: Database, community: uuid.UUID, person_id: uuid.UUID, amount: int) -> None:
    """Points issued by the community to a person."""
    [result] = await LedgerService(database.pool).create_transfers(
        [
            Transfer(
                id=uuid.uuid4(),
                debit_account_id=system_account_id(community, SystemRole.issuance, Asset.points),
                credit_account_id=person_points(community, person_id),
                amount=amount,
                code=Code.issuance,
            )
        ]
    )
    assert result is Result.ok


async def link_family(database: Database, mall: Mall, child: Principal, elder: Principal, *, verify: bool) -> None:
    assert child.person_id is not None
    assert elder.person_id is not None
    async with bound(database.pool, [mall.community]) as connection:
        link, _ = await family.request_link(
            connection,
            child,
            id=uuid.uuid4(),
            person_id=child.person_id,
            relative_id=elder.person_id,
            relation="parent",
        )
        if verify:
            await family.verify_link(connection, mall.staff, link.id)


async def stocked_item(database: Database, mall: Mall, *, price: int = 10, stock: int = 5, **fields: Any) -> Item:
    new = NewItem(
        id=uuid.uuid4(),
        station_id=mall.station,
        name=fields.pop("name", f"大米-{uuid.uuid4().hex[:6]}"),
        category=fields.pop("category", Category.grain_oil),
        price_points=price,
        source=fields.pop("source", Source.purchased),
        **fields,
    )
    async with bound(database.pool, [mall.community]) as connection:
        item, _ = await catalogue.create_item(connection, mall.staff, mall.community, new)
        if stock:
            item, _ = await catalogue.move_stock(
                connection, mall.staff, item.id, id=uuid.uuid4(), kind="purchase_in", quantity=stock
            )
    return item


async def order(
    database: Database, mall: Mall, actor: Principal, *lines: tuple[Item, int], person: uuid.UUID | None = None
) -> Order:
    request = OrderRequest(
        id=uuid.uuid4(),
        station_id=mall.station,
        person_id=person or actor.person_id or uuid.UUID(int=0),
        lines=tuple((item.id, quantity) for item, quantity in lines),
    )
    async with bound(database.pool, [mall.community]) as connection:
        placed, created = await place_order(connection, actor, CODES, mall.community, request)
    assert created
    return placed


async def pick_up(database: Database, mall: Mall, placed: Order, taken: dict[uuid.UUID, int] | None = None) -> Order:
    code, _ = pickup_code(CODES, placed)
    async with bound(database.pool, [mall.community]) as connection:
        return await hand_over(connection, mall.staff, CODES, placed.id, code=code, taken=taken)


async def available(database: Database, mall: Mall, person: Principal) -> int:
    assert person.person_id is not None
    async with bound(database.pool, [mall.community]) as connection:
        value = await available_points(connection, person_points(mall.community, person.person_id))
    assert value is not None
    return value


async def stock_of(database: Database, mall: Mall, item: Item) -> tuple[int, int]:
    async with bound(database.pool, [mall.community]) as connection:
        fresh = await catalogue.get_item(connection, item.id)
    return fresh.on_hand, fresh.reserved


async def ledger_verifies(database: Database, mall: Mall) -> list[str]:
    async with database.pool.acquire() as connection:
        report = await verify_ledger(connection, mall.community)
    return report.violations


def with_status(order: Order, **changes: Any) -> Order:
    return replace(order, **changes)


async def open_member_accounts(database: Database, community: uuid.UUID, person_id: uuid.UUID, points: int) -> None:
    """Accounts for a person made by ``tests.auth_support.Org`` (which writes rows, not accounts), with points."""
    async with bound(database.pool, EVERY_COMMUNITY) as connection:
        await open_accounts(
            connection, [*community_accounts(community), *person_accounts(community, person_id, party_member=False)]
        )
    if points:
        await issue(database, community, person_id, points)
