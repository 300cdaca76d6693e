"""Books and goods agree (账物相符) after anything the counter can do, and a count records what differs."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from datetime import datetime

import asyncpg

from tests.integration.rewards.support import (
    CODES,
    Mall,
    build_mall,
    ledger_verifies,
    resident,
    stock_of,
    stocked_item,
)
from timebank.access.principal import Principal
from timebank.db import Database, bound
from timebank.errors import TimebankError
from timebank.rewards import DonationLine, GrantLine, Item, OrderStatus
from timebank.rewards import catalogue as catalogue_
from timebank.rewards.counter import hand_over, pickup_code
from timebank.rewards.donations import DonationRequest, receive_donation
from timebank.rewards.grants import GrantRequest, approve_grant, issue_grant, request_grant
from timebank.rewards.orders import (
    OrderRequest,
    approve_order,
    cancel_order,
    get_order,
    list_orders,
    place_order,
    reject_order,
)
from timebank.rewards.reconciliation import count_stock, reconcile
from timebank.rewards.returns import return_goods
from timebank.rewards.sweeper import sweep_expired_orders

WINDOW = 2


async def _now(database: Database) -> datetime:
    now: datetime = await database.pool.fetchval("SELECT clock_timestamp()")
    return now


class _Run:
    """Random counter traffic against one station; every refusal must be a domain error, never a crash."""

    def __init__(self, database: Database, mall: Mall, items: list[Item], people: list[Principal], seed: int) -> None:
        self.database, self.mall, self.items, self.people = database, mall, items, people
        self.rng = random.Random(seed)
        self.orders: list[uuid.UUID] = []
        self.outcomes: Counter[str] = Counter()

    async def step(self) -> None:
        action = self.rng.choice(
            ["place", "place", "place", "place", "approve", "approve", "approve", "hand_over", "hand_over",
             "hand_over", "reject", "cancel", "return", "return", "restock", "writeoff", "donate", "grant", "count",
             "sweep"]
        )  # fmt: skip
        try:
            async with bound(self.database.pool, [self.mall.community]) as connection:
                await getattr(self, f"_{action}")(connection)
        except TimebankError as exc:
            self.outcomes[f"{action}:{exc.code}"] += 1
        else:
            self.outcomes[action] += 1

    async def _order_id(self, connection: asyncpg.Connection, status: str) -> uuid.UUID:
        """Mostly an order in ``status`` (so the step can succeed), sometimes any order (so it may be refused)."""
        if self.rng.random() < 0.8:
            rows = await connection.fetch(
                "SELECT id FROM rewards_order WHERE station_id = $1 AND status = $2 ORDER BY id",
                self.mall.station,
                status,
            )
            if rows:
                return self.rng.choice(rows)["id"]
        return self.rng.choice(self.orders) if self.orders else uuid.uuid4()

    async def _place(self, connection: asyncpg.Connection) -> None:
        person = self.rng.choice(self.people)
        assert person.person_id is not None
        chosen = self.rng.sample(self.items, self.rng.randint(1, 2))
        request = OrderRequest(
            id=uuid.uuid4(),
            station_id=self.mall.station,
            person_id=person.person_id,
            lines=tuple((item.id, self.rng.randint(1, 3)) for item in chosen),
        )
        await place_order(connection, person, CODES, self.mall.community, request)
        self.orders.append(request.id)  # once committed: later steps pick among orders that exist

    async def _approve(self, connection: asyncpg.Connection) -> None:
        await approve_order(connection, self.mall.staff, await self._order_id(connection, "placed"))

    async def _hand_over(self, connection: asyncpg.Connection) -> None:
        order = await get_order(connection, await self._order_id(connection, "approved"))
        taken = None
        if self.rng.random() < 0.4:
            taken = {line.item_id: self.rng.randint(0, line.quantity) for line in order.lines}
        code, _ = pickup_code(CODES, order)
        await hand_over(connection, self.mall.staff, CODES, order.id, code=code, taken=taken)

    async def _reject(self, connection: asyncpg.Connection) -> None:
        await reject_order(connection, self.mall.staff, await self._order_id(connection, "placed"), "缺货")

    async def _cancel(self, connection: asyncpg.Connection) -> None:
        await cancel_order(connection, self.mall.staff, await self._order_id(connection, "approved"))

    async def _return(self, connection: asyncpg.Connection) -> None:
        order = await get_order(connection, await self._order_id(connection, "picked_up"))
        line = self.rng.choice(order.lines)
        await return_goods(
            connection,
            self.mall.staff,
            id=uuid.uuid4(),
            order_id=order.id,
            item_id=line.item_id,
            quantity=self.rng.randint(1, 2),
            reason="质量问题",
        )

    async def _restock(self, connection: asyncpg.Connection) -> None:
        await catalogue_.move_stock(
            connection,
            self.mall.staff,
            self.rng.choice(self.items).id,
            id=uuid.uuid4(),
            kind="purchase_in",
            quantity=self.rng.randint(1, 4),
        )

    async def _writeoff(self, connection: asyncpg.Connection) -> None:
        await catalogue_.move_stock(
            connection,
            self.mall.staff,
            self.rng.choice(self.items).id,
            id=uuid.uuid4(),
            kind="writeoff",
            quantity=1,
            note="过期",
        )

    async def _donate(self, connection: asyncpg.Connection) -> None:
        donor = self.rng.choice(self.people)
        request = DonationRequest(
            id=uuid.uuid4(),
            station_id=self.mall.station,
            donor_person_id=donor.person_id,
            lines=(DonationLine(item_id=self.rng.choice(self.items).id, accepted=self.rng.randint(0, 2), rejected=1,
                                condition="usable"),),
        )  # fmt: skip
        await receive_donation(connection, self.mall.staff, self.mall.community, request)

    async def _grant(self, connection: asyncpg.Connection) -> None:
        request = GrantRequest(
            id=uuid.uuid4(),
            station_id=self.mall.station,
            household_id=self.mall.hardship_household,
            lines=(GrantLine(item_id=self.rng.choice(self.items).id, quantity=1),),
            reason="困难帮扶",
        )
        grant, _ = await request_grant(connection, self.mall.staff, self.mall.community, request)
        await approve_grant(connection, self.mall.second_staff, grant.id)
        if self.rng.random() < 0.5:
            await issue_grant(connection, self.mall.staff, grant.id, signed_by="困难户")

    async def _count(self, connection: asyncpg.Connection) -> None:
        item = self.rng.choice(self.items)
        on_hand, _ = await stock_of(self.database, self.mall, item)
        await count_stock(
            connection,
            self.mall.staff,
            id=uuid.uuid4(),
            item_id=item.id,
            counted=max(0, on_hand + self.rng.randint(-1, 1)),
        )

    async def _sweep(self, connection: asyncpg.Connection) -> None:
        await sweep_expired_orders(self.database.pool)


async def test_after_a_randomized_run_the_books_agree_and_the_ledger_verifies(database: Database) -> None:
    mall = await build_mall(database, pickup_window_seconds=WINDOW, donation_reward_points=2)
    items = [await stocked_item(database, mall, price=p, stock=20, name=f"货{p}") for p in (5, 10, 20, 44)]
    people = [await resident(database, mall, points=400, name=f"居民{n}") for n in range(6)]
    start = await _now(database)
    run = _Run(database, mall, items, people, seed=20261126)

    for _ in range(120):
        await run.step()
    middle = await _now(database)
    for _ in range(120):
        await run.step()
    await asyncio.sleep(WINDOW + 0.2)
    await sweep_expired_orders(database.pool)

    async with bound(database.pool, [mall.community]) as connection:
        whole = await reconcile(connection, mall.station, since=start)
        second_half = await reconcile(connection, mall.station, since=middle)
        statuses = Counter(order.status for order in await list_orders(connection, station_id=mall.station, limit=1000))
    assert whole.discrepancies == ()
    assert second_half.discrepancies == ()
    assert await ledger_verifies(database, mall) == []
    # The run exercised what it claims to: pickups (whole and part), returns, expiries, refusals for cause.
    assert statuses[OrderStatus.picked_up] > 0
    assert statuses[OrderStatus.expired] > 0
    assert run.outcomes["return"] > 0
    assert whole.points.posted > 0
    assert whole.points.released > 0
    assert whole.points.refunded > 0
    assert sum(item.redeemed for item in whole.items) > 0
    assert sum(item.granted for item in whole.items) > 0
    assert whole.points.held_at_end == 0  # every order is closed after the last sweep
    # The halves add up: what the second half opens with is what the first half closed with.
    for full, half in zip(whole.items, second_half.items, strict=True):
        assert full.closing == half.closing
        assert (
            full.opening
            + full.received
            + full.returned
            - full.redeemed
            - full.granted
            - full.written_off
            + (full.count_adjusted)
            == full.closing
        )


async def test_a_stock_count_books_the_difference_and_reconciliation_catches_tampering(database: Database) -> None:
    mall = await build_mall(database)
    soap = await stocked_item(database, mall, price=10, stock=5)
    start = await _now(database)
    async with bound(database.pool, [mall.community]) as connection:
        count, created = await count_stock(
            connection, mall.staff, id=uuid.uuid4(), item_id=soap.id, counted=3, note="破损"
        )
    assert created
    assert (count.expected, count.counted, count.difference) == (5, 3, -2)
    assert await stock_of(database, mall, soap) == (3, 0)

    async with bound(database.pool, [mall.community]) as connection:
        report = await reconcile(connection, mall.station, since=start)
        # The service's role may change reserved (orders do); a change no order explains shows up.
        await connection.execute("UPDATE rewards_stock SET reserved = reserved + 1 WHERE item_id = $1", soap.id)
        tampered = await reconcile(connection, mall.station, since=start)
    [balance] = report.items
    assert report.balanced
    assert (balance.count_adjusted, balance.closing, balance.on_hand) == (-2, 3, 3)
    assert not tampered.balanced
    assert "reserved" in tampered.discrepancies[0]
