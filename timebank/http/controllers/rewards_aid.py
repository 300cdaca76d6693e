"""HTTP face of the mutual-aid station: donations in kind and grants to households in need.

Who may call what is the access policy's (timebank/access/rules/rewards.py)."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from timebank.access.principal import Principal, Role
from timebank.db import Database
from timebank.http.controllers.rewards_common import DEPENDENCIES, bound_to
from timebank.http.responses import created
from timebank.rewards import DonationLine, GrantLine, GrantStatus, catalogue
from timebank.rewards import contracts as wire
from timebank.rewards.donations import DonationRequest, list_donations, receive_donation
from timebank.rewards.grants import (
    GrantRequest,
    approve_grant,
    cancel_grant,
    get_grant,
    issue_grant,
    list_grants,
    reject_grant,
    request_grant,
)

__all__ = ["MallGrantController", "MallStationAidController"]

Limit = Annotated[int, QueryParameter(ge=1, le=500)]


class MallStationAidController(Controller):
    path = "/mall/stations/{station_id:uuid}"
    tags = ["mutual-aid station"]  # noqa: RUF012
    dependencies = DEPENDENCIES

    @post(
        "/donations",
        operation_id="ReceiveDonation",
        opt={"action": "rewards.donations.write"},
        summary="Log goods donated in kind, book the accepted pieces in, reward a resident donor by policy",
    )
    async def receive(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        station_id: FromPath[uuid.UUID],
        data: JSONBody[wire.DonationCreateRequest],
    ) -> Response[wire.DonationResponse]:
        request = DonationRequest(
            id=data.id,
            station_id=station_id,
            donor_person_id=data.donor_person_id,
            donor_unit_id=data.donor_unit_id,
            lines=tuple(
                DonationLine(item_id=x.item_id, accepted=x.accepted, rejected=x.rejected, condition=x.condition)
                for x in data.lines
            ),
            public_acknowledge=data.public_acknowledge,
            note=data.note,
        )
        async with bound_to(database, principal) as connection:
            station = await catalogue.get_station(connection, station_id)
            donation, is_new = await receive_donation(connection, principal, station.community_id, request)
        return created(wire.DonationResponse.of(donation), is_new)

    @get(
        "/donations",
        operation_id="ListDonations",
        opt={"action": "rewards.donations.read"},
        summary="Donations, newest first; residents see the donor board (donations the donor agreed to publish)",
    )
    async def donations(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        station_id: FromPath[uuid.UUID],
        limit: Limit = 100,
    ) -> list[wire.DonationResponse]:
        async with bound_to(database, principal) as connection:
            station = await catalogue.get_station(connection, station_id)
            donations = await list_donations(connection, station_id, limit=limit)
        staff = principal.is_system or principal.holds(Role.community_staff, community_id=station.community_id)
        return [wire.DonationResponse.of(d) for d in donations if staff or d.public_acknowledge]

    @post("/grants", operation_id="RequestGrant", opt={"action": "rewards.grants.write"})
    async def request(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        station_id: FromPath[uuid.UUID],
        data: JSONBody[wire.GrantCreateRequest],
    ) -> Response[wire.GrantResponse]:
        request = GrantRequest(
            id=data.id,
            station_id=station_id,
            household_id=data.household_id,
            lines=tuple(GrantLine(item_id=line.item_id, quantity=line.quantity) for line in data.lines),
            reason=data.reason,
        )
        async with bound_to(database, principal) as connection:
            station = await catalogue.get_station(connection, station_id)
            grant, is_new = await request_grant(connection, principal, station.community_id, request)
        return created(wire.GrantResponse.of(grant), is_new)

    @get("/grants", operation_id="ListGrants", opt={"action": "rewards.grants.list"})
    async def grants(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        station_id: FromPath[uuid.UUID],
        status: FromQuery[GrantStatus | None] = None,
        limit: Limit = 100,
    ) -> list[wire.GrantResponse]:
        async with bound_to(database, principal) as connection:
            grants = await list_grants(connection, station_id, status=status, limit=limit)
        return [wire.GrantResponse.of(g) for g in grants]


class MallGrantController(Controller):
    path = "/mall/grants/{grant_id:uuid}"
    tags = ["mutual-aid station"]  # noqa: RUF012
    dependencies = DEPENDENCIES

    @get("", operation_id="GetGrant", opt={"action": "rewards.grant.read"})
    async def get_one(
        self, database: NamedDependency[Database], principal: NamedDependency[Principal], grant_id: FromPath[uuid.UUID]
    ) -> wire.GrantResponse:
        async with bound_to(database, principal) as connection:
            return wire.GrantResponse.of(await get_grant(connection, grant_id))

    @post(
        "/approve",
        operation_id="ApproveGrant",
        status_code=200,
        opt={"action": "rewards.grant.decide"},
        summary="A second member of staff approves; the goods are reserved",
    )
    async def approve(
        self, database: NamedDependency[Database], principal: NamedDependency[Principal], grant_id: FromPath[uuid.UUID]
    ) -> wire.GrantResponse:
        async with bound_to(database, principal) as connection:
            return wire.GrantResponse.of(await approve_grant(connection, principal, grant_id))

    @post("/reject", operation_id="RejectGrant", status_code=200, opt={"action": "rewards.grant.decide"})
    async def reject(
        self, database: NamedDependency[Database], principal: NamedDependency[Principal], grant_id: FromPath[uuid.UUID]
    ) -> wire.GrantResponse:
        async with bound_to(database, principal) as connection:
            return wire.GrantResponse.of(await reject_grant(connection, principal, grant_id))

    @post("/cancel", operation_id="CancelGrant", status_code=200, opt={"action": "rewards.grant.decide"})
    async def cancel(
        self, database: NamedDependency[Database], principal: NamedDependency[Principal], grant_id: FromPath[uuid.UUID]
    ) -> wire.GrantResponse:
        async with bound_to(database, principal) as connection:
            return wire.GrantResponse.of(await cancel_grant(connection, principal, grant_id))

    @post(
        "/issue",
        operation_id="IssueGrant",
        status_code=200,
        opt={"action": "rewards.grant.decide"},
        summary="Hand the goods over against the recipient's signature; they leave stock",
    )
    async def issue(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        grant_id: FromPath[uuid.UUID],
        data: JSONBody[wire.IssueRequest],
    ) -> wire.GrantResponse:
        async with bound_to(database, principal) as connection:
            return wire.GrantResponse.of(await issue_grant(connection, principal, grant_id, data.signed_by))
