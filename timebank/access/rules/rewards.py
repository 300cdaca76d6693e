"""Who may use the points mall and mutual-aid station API.

Everyone with a role in a community browses its stations, catalogue and mall policy, and the donor board. A
resident orders and cancels with their own points, and so does a relative they act for by a verified family link
(代办): an order's people are its person and those relatives. Community staff run the counter: catalogue, prices,
stock, counts, approvals, hand-over, returns, donations and grants; they may also order for a resident at the
counter. Street admins and auditors read orders, grants and reconciliations.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg
import msgspec

from timebank.access.policy import Lookup, Resolver, Rule, Scope, Target, allow, not_found
from timebank.access.principal import Role

__all__ = ["RULES"]

_SYSTEM = allow(Role.system, within=Scope.system)
_STREET_READERS = (*allow(Role.street_admin, Role.auditor, within=Scope.street), *_SYSTEM)
_STAFF = (*allow(Role.community_staff, within=Scope.community), *_SYSTEM)
_MEMBERS = (
    *allow(
        Role.resident,
        Role.volunteer,
        Role.team_leader,
        Role.grid_worker,
        Role.branch_secretary,
        Role.community_staff,
        Role.partner_admin,
        within=Scope.community,
    ),
    *_STREET_READERS,
)
_THEMSELVES = allow(Role.resident, Role.volunteer, within=Scope.self)
_OVERSEERS = (*allow(Role.community_staff, within=Scope.community), *_STREET_READERS)


async def _people(connection: asyncpg.Connection, person_id: uuid.UUID) -> frozenset[uuid.UUID]:
    """The person and everyone who may act for them by a verified, unrevoked family link."""
    rows = await connection.fetch(
        """
        SELECT person_id FROM family_link
        WHERE relative_id = $1 AND verified_at IS NOT NULL AND revoked_at IS NULL
        """,
        person_id,
    )
    return frozenset({person_id, *(row["person_id"] for row in rows)})


def _row_in_path(table: str, parameter: str, missing: str, *, owner: str | None = None) -> Resolver:
    async def resolve(lookup: Lookup, connection: asyncpg.Connection) -> Sequence[Target]:
        row_id: uuid.UUID = lookup.path(parameter)
        row = await connection.fetchrow(
            f"SELECT community_id{f', {owner}' if owner else ''} FROM {table} WHERE id = $1", row_id
        )
        ref = {parameter: str(row_id)}
        if row is None:
            raise not_found(missing, **ref)
        people = await _people(connection, row[owner]) if owner else frozenset()
        return [Target(row["community_id"], people, missing=missing, ref=ref)]

    return resolve


async def _community_in_path(lookup: Lookup, connection: asyncpg.Connection) -> Sequence[Target]:
    community_id: uuid.UUID = lookup.path("community_id")
    return [Target(community_id, missing="no such community", ref={"community_id": str(community_id)})]


async def _person_in_path(lookup: Lookup, connection: asyncpg.Connection) -> Sequence[Target]:
    person_id: uuid.UUID = lookup.path("person_id")
    # Home community when visible, else a community where the person is a member (a dual-registered member).
    community_id = await connection.fetchval(
        """
        SELECT CASE WHEN community_visible(p.community_id) THEN p.community_id
                    ELSE (SELECT m.community_id FROM membership m WHERE m.person_id = p.id LIMIT 1) END
        FROM person p WHERE p.id = $1
        """,
        person_id,
    )
    ref = {"person_id": str(person_id)}
    if community_id is None:
        raise not_found("no such person", **ref)
    return [Target(community_id, await _people(connection, person_id), missing="no such person", ref=ref)]


class _NamesPerson(msgspec.Struct):
    person_id: uuid.UUID


async def _order_placement(lookup: Lookup, connection: asyncpg.Connection) -> Sequence[Target]:
    """An order is placed at a station (its community) for a person (who, with their proxies, may place it)."""
    [station] = await _station_in_path(lookup, connection)
    body = await lookup.body(_NamesPerson)
    return [
        Target(
            station.community_id,
            await _people(connection, body.person_id),
            missing=station.missing,
            ref=station.ref,
        )
    ]


_station_in_path = _row_in_path("rewards_station", "station_id", "no such station")
_item_in_path = _row_in_path("rewards_item", "item_id", "no such item")
_order_in_path = _row_in_path("rewards_order", "order_id", "no such order", owner="person_id")
_grant_in_path = _row_in_path("rewards_grant", "grant_id", "no such grant")

RULES = (
    Rule(("rewards.stations.read", "rewards.policy.read"), allow=_MEMBERS, target=_community_in_path),
    Rule(("rewards.stations.write", "rewards.policy.write"), allow=_STAFF, target=_community_in_path),
    Rule(("rewards.catalogue.read", "rewards.donations.read"), allow=_MEMBERS, target=_station_in_path),
    Rule(("rewards.item.read",), allow=_MEMBERS, target=_item_in_path),
    Rule(("rewards.catalogue.write",), allow=_STAFF, target=_station_in_path),
    Rule(("rewards.item.write", "rewards.stock.write"), allow=_STAFF, target=_item_in_path),
    Rule(("rewards.order.place",), allow=(*_THEMSELVES, *_STAFF), target=_order_placement),
    Rule(("rewards.order.read",), allow=(*_THEMSELVES, *_OVERSEERS), target=_order_in_path),
    Rule(("rewards.order.cancel",), allow=(*_THEMSELVES, *_STAFF), target=_order_in_path),
    Rule(
        ("rewards.order.decide", "rewards.counter.hand_over", "rewards.order.return"),
        allow=_STAFF,
        target=_order_in_path,
    ),
    Rule(("rewards.person.orders", "rewards.person.expiry"), allow=(*_THEMSELVES, *_OVERSEERS), target=_person_in_path),
    Rule(
        ("rewards.orders.list", "rewards.grants.list", "rewards.reconcile"), allow=_OVERSEERS, target=_station_in_path
    ),
    Rule(
        ("rewards.counter.lookup", "rewards.donations.write", "rewards.grants.write"),
        allow=_STAFF,
        target=_station_in_path,
    ),
    Rule(("rewards.grant.read",), allow=_OVERSEERS, target=_grant_in_path),
    Rule(("rewards.grant.decide",), allow=_STAFF, target=_grant_in_path),
)
