"""The points mall's rows of the endpoint × role walk (tests/http/test_authorization.py).

*mine* is the caller's own row as the action understands it: an order whose points are the caller's, the caller as
a person; for rows of a community (stations, items, grants, the policy) it is the caller's community, so *mine* and
*theirs* are the same community there. Rows are made through the services as a system account; the walk's people
get a points account with points the first time an order is made for them.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import asyncpg

from tests.auth_support import Person, app_settings
from tests.integration.rewards.support import open_member_accounts
from timebank.access.principal import Principal
from timebank.db import EVERY_COMMUNITY, bound
from timebank.keys import load_keys
from timebank.rewards import Category, GrantLine, NewItem, Order, Source, catalogue
from timebank.rewards.codes import PICKUP_KEY_PURPOSE, PickupCodes
from timebank.rewards.counter import hand_over
from timebank.rewards.grants import GrantRequest, approve_grant, request_grant
from timebank.rewards.orders import OrderRequest, approve_order, place_order

if TYPE_CHECKING:  # the walk's own module imports this one
    from tests.http.test_authorization import Request, World

M = "/v1/mall"
_ACTOR = Principal.system("rewards-access-walk")
#: The app under test derives its pickup codes from the test settings' key; so do these builders.
_CODES = PickupCodes(load_keys(app_settings()).derive(PICKUP_KEY_PURPOSE))

ROLES = [
    "resident", "volunteer", "team_leader", "grid_worker", "branch_secretary", "community_staff", "partner_admin",
    "street_admin", "auditor", "system", "anonymous",
]  # fmt: skip


def _table(default: str, **by_role: str) -> dict[str, str]:
    """``default`` for every role not named; system reaches everything, anonymous is asked to log in."""
    table = dict.fromkeys(ROLES, default)
    table.update(system="ok ok ok", anonymous="401 401 401")
    table.update(by_role)
    return table


_NONE = "403 403 403"
_COMMUNITY = "ok ok 404"
_OWN = "ok 403 404"
# Everyone with a role in the community browses; every person is a resident of their home community.
_MEMBERS = _table(_COMMUNITY)
_STAFF = _table(_NONE, community_staff=_COMMUNITY)
_OVERSEERS = _table(_NONE, community_staff=_COMMUNITY, street_admin=_COMMUNITY, auditor=_COMMUNITY)
_OWNERS = _table(_OWN, community_staff=_COMMUNITY)
_OWNERS_AND_OVERSEERS = _table(_OWN, community_staff=_COMMUNITY, street_admin=_COMMUNITY, auditor=_COMMUNITY)

EXPECTED: dict[str, dict[str, str]] = {
    **dict.fromkeys(
        ("rewards.stations.read", "rewards.policy.read", "rewards.catalogue.read", "rewards.item.read",
         "rewards.donations.read"),
        _MEMBERS,
    ),
    **dict.fromkeys(
        ("rewards.stations.write", "rewards.policy.write", "rewards.catalogue.write", "rewards.item.write",
         "rewards.stock.write", "rewards.counter.lookup", "rewards.counter.hand_over", "rewards.order.decide",
         "rewards.order.return", "rewards.donations.write", "rewards.grants.write", "rewards.grant.decide"),
        _STAFF,
    ),
    **dict.fromkeys(("rewards.orders.list", "rewards.grants.list", "rewards.reconcile", "rewards.grant.read"),
                    _OVERSEERS),
    **dict.fromkeys(("rewards.order.place", "rewards.order.cancel"), _OWNERS),
    **dict.fromkeys(("rewards.order.read", "rewards.person.orders", "rewards.person.expiry"), _OWNERS_AND_OVERSEERS),
}  # fmt: skip

_stations: dict[uuid.UUID, tuple[uuid.UUID, uuid.UUID]] = {}
_households: dict[uuid.UUID, uuid.UUID] = {}
_funded: set[uuid.UUID] = set()


@asynccontextmanager
async def _system(w: World) -> AsyncIterator[asyncpg.Connection]:
    async with bound(w.database.pool, EVERY_COMMUNITY) as connection:
        yield connection


async def _station(w: World, community: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    """The community's station and one well-stocked item at it (one point a piece)."""
    if community not in _stations:
        station, item = uuid.uuid4(), uuid.uuid4()
        async with _system(w) as connection:
            await catalogue.create_station(connection, _ACTOR, community, id=station, name="爱心超市")
            await catalogue.create_item(
                connection,
                _ACTOR,
                community,
                NewItem(id=item, station_id=station, name="香皂", category=Category.daily_goods, price_points=1,
                        source=Source.purchased),
            )  # fmt: skip
            await catalogue.move_stock(connection, _ACTOR, item, id=uuid.uuid4(), kind="purchase_in", quantity=100_000)
        _stations[community] = (station, item)
    return _stations[community]


async def _order(w: World, o: Person, *, approved: bool = False, picked_up: bool = False) -> Order:
    if o.id not in _funded:
        await open_member_accounts(w.database, o.community_id, o.id, 100_000)
        _funded.add(o.id)
    station, item = await _station(w, o.community_id)
    request = OrderRequest(id=uuid.uuid4(), station_id=station, person_id=o.id, lines=((item, 1),))
    async with _system(w) as connection:
        order, _ = await place_order(connection, _ACTOR, _CODES, o.community_id, request)
        if approved or picked_up:
            order = await approve_order(connection, _ACTOR, order.id)
        if picked_up:
            code = _CODES.code(order.id, order.code_attempt)
            order = await hand_over(connection, _ACTOR, _CODES, order.id, code=code)
    return order


async def _household(w: World, community: uuid.UUID) -> uuid.UUID:
    """A household registered as in hardship, in ``community``."""
    if community not in _households:
        compound, building, household = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        async with _system(w) as connection:
            await connection.execute(
                "INSERT INTO compound (id, community_id, name) VALUES ($1, $2, $3)", compound, community, compound.hex
            )
            await connection.execute(
                "INSERT INTO building (id, community_id, compound_id, name) VALUES ($1, $2, $3, '1号楼')",
                building, community, compound,
            )  # fmt: skip
            await connection.execute(
                "INSERT INTO household (id, community_id, building_id, room, kind) "
                "VALUES ($1, $2, $3, '101', 'hardship')",
                household, community, building,
            )  # fmt: skip
        _households[community] = household
    return _households[community]


async def _grant(w: World, o: Person, *, approved: bool = False) -> uuid.UUID:
    station, item = await _station(w, o.community_id)
    request = GrantRequest(
        id=uuid.uuid4(),
        station_id=station,
        household_id=await _household(w, o.community_id),
        lines=(GrantLine(item_id=item, quantity=1),),
        reason="困难帮扶",
    )
    async with _system(w) as connection:
        grant, _ = await request_grant(connection, _ACTOR, o.community_id, request)
        if approved:
            await approve_grant(connection, _ACTOR, grant.id)
    return grant.id


async def _next_policy_version(w: World, community: uuid.UUID) -> int:
    async with _system(w) as connection:
        latest: int = await connection.fetchval(
            "SELECT coalesce(max(version), 0) FROM rewards_policy WHERE community_id = $1", community
        )
    return latest + 1


async def _list_stations(w: World, o: Person) -> Request:
    return "GET", f"{M}/communities/{o.community_id}/stations", None, None


async def _create_station(w: World, o: Person) -> Request:
    return (
        "POST",
        f"{M}/communities/{o.community_id}/stations",
        {"id": str(uuid.uuid4()), "name": uuid.uuid4().hex},
        None,
    )


async def _read_policy(w: World, o: Person) -> Request:
    return "GET", f"{M}/communities/{o.community_id}/mall-policy", None, None


async def _write_policy(w: World, o: Person) -> Request:
    body = {"version": await _next_policy_version(w, o.community_id), "auto_approve_max_points": 10}
    return "POST", f"{M}/communities/{o.community_id}/mall-policy", body, None


async def _list_items(w: World, o: Person) -> Request:
    station, _ = await _station(w, o.community_id)
    return "GET", f"{M}/stations/{station}/items", None, None


async def _create_item(w: World, o: Person) -> Request:
    station, _ = await _station(w, o.community_id)
    body = {"id": str(uuid.uuid4()), "name": uuid.uuid4().hex[:20], "category": "books", "price_points": 3,
            "source": "purchased"}  # fmt: skip
    return "POST", f"{M}/stations/{station}/items", body, None


async def _read_item(w: World, o: Person) -> Request:
    _, item = await _station(w, o.community_id)
    return "GET", f"{M}/items/{item}", None, None


async def _update_item(w: World, o: Person) -> Request:
    _, item = await _station(w, o.community_id)
    return "PATCH", f"{M}/items/{item}", {"image_url": f"https://img.example/{uuid.uuid4().hex}.jpg"}, None


async def _move_stock(w: World, o: Person) -> Request:
    _, item = await _station(w, o.community_id)
    return "POST", f"{M}/items/{item}/stock-movements", {"id": str(uuid.uuid4()), "kind": "purchase_in",
                                                         "quantity": 1}, None  # fmt: skip


async def _reconcile(w: World, o: Person) -> Request:
    station, _ = await _station(w, o.community_id)
    return "GET", f"{M}/stations/{station}/reconciliation", None, {"since": "2026-01-01T00:00:00+08:00"}


async def _place(w: World, o: Person) -> Request:
    await _order(w, o)  # the person's accounts and points exist before they order
    station, item = await _station(w, o.community_id)
    body = {"id": str(uuid.uuid4()), "person_id": str(o.id), "lines": [{"item_id": str(item), "quantity": 1}]}
    return "POST", f"{M}/stations/{station}/orders", body, None


async def _list_orders(w: World, o: Person) -> Request:
    station, _ = await _station(w, o.community_id)
    return "GET", f"{M}/stations/{station}/orders", None, None


async def _lookup(w: World, o: Person) -> Request:
    order = await _order(w, o, approved=True)
    code = _CODES.code(order.id, order.code_attempt)
    return "POST", f"{M}/stations/{order.station_id}/counter/lookup", {"code": code}, None


async def _read_order(w: World, o: Person) -> Request:
    return "GET", f"{M}/orders/{(await _order(w, o)).id}", None, None


async def _reject(w: World, o: Person) -> Request:
    return "POST", f"{M}/orders/{(await _order(w, o)).id}/reject", {"reason": "缺货"}, None


async def _cancel(w: World, o: Person) -> Request:
    return "POST", f"{M}/orders/{(await _order(w, o)).id}/cancel", {}, None


async def _hand_over(w: World, o: Person) -> Request:
    order = await _order(w, o, approved=True)
    return "POST", f"{M}/orders/{order.id}/hand-over", {"code": _CODES.code(order.id, order.code_attempt)}, None


async def _return(w: World, o: Person) -> Request:
    order = await _order(w, o, picked_up=True)
    body = {"id": str(uuid.uuid4()), "item_id": str(order.lines[0].item_id), "quantity": 1, "reason": "破损"}
    return "POST", f"{M}/orders/{order.id}/returns", body, None


async def _person_orders(w: World, o: Person) -> Request:
    return "GET", f"{M}/people/{o.id}/orders", None, None


async def _person_expiry(w: World, o: Person) -> Request:
    return "GET", f"{M}/people/{o.id}/points-expiry", None, None


async def _list_donations(w: World, o: Person) -> Request:
    station, _ = await _station(w, o.community_id)
    return "GET", f"{M}/stations/{station}/donations", None, None


async def _donate(w: World, o: Person) -> Request:
    station, item = await _station(w, o.community_id)
    body = {"id": str(uuid.uuid4()), "donor_person_id": str(o.id),
            "lines": [{"item_id": str(item), "accepted": 1, "condition": "good"}]}  # fmt: skip
    return "POST", f"{M}/stations/{station}/donations", body, None


async def _list_grants(w: World, o: Person) -> Request:
    station, _ = await _station(w, o.community_id)
    return "GET", f"{M}/stations/{station}/grants", None, None


async def _request_grant(w: World, o: Person) -> Request:
    station, item = await _station(w, o.community_id)
    body = {"id": str(uuid.uuid4()), "household_id": str(await _household(w, o.community_id)),
            "lines": [{"item_id": str(item), "quantity": 1}], "reason": "困难帮扶"}  # fmt: skip
    return "POST", f"{M}/stations/{station}/grants", body, None


async def _read_grant(w: World, o: Person) -> Request:
    return "GET", f"{M}/grants/{await _grant(w, o)}", None, None


async def _issue_grant(w: World, o: Person) -> Request:
    return "POST", f"{M}/grants/{await _grant(w, o, approved=True)}/issue", {"signed_by": "李秀兰"}, None


BUILDERS = {
    "rewards.stations.read": _list_stations,
    "rewards.stations.write": _create_station,
    "rewards.policy.read": _read_policy,
    "rewards.policy.write": _write_policy,
    "rewards.catalogue.read": _list_items,
    "rewards.catalogue.write": _create_item,
    "rewards.item.read": _read_item,
    "rewards.item.write": _update_item,
    "rewards.stock.write": _move_stock,
    "rewards.reconcile": _reconcile,
    "rewards.order.place": _place,
    "rewards.orders.list": _list_orders,
    "rewards.counter.lookup": _lookup,
    "rewards.order.read": _read_order,
    "rewards.order.decide": _reject,
    "rewards.order.cancel": _cancel,
    "rewards.counter.hand_over": _hand_over,
    "rewards.order.return": _return,
    "rewards.person.orders": _person_orders,
    "rewards.person.expiry": _person_expiry,
    "rewards.donations.read": _list_donations,
    "rewards.donations.write": _donate,
    "rewards.grants.list": _list_grants,
    "rewards.grants.write": _request_grant,
    "rewards.grant.read": _read_grant,
    "rewards.grant.decide": _issue_grant,
}
