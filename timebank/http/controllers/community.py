"""HTTP face of communities: places, people and memberships, teams, partner units, family links, grants, audit.

Who may call what is decided by the access policy before a handler runs (each handler names its action); the
handler binds its transaction to the caller's communities, so rows elsewhere are not found.
"""

from __future__ import annotations

import uuid
from contextlib import AbstractAsyncContextManager
from typing import Annotated

import asyncpg
import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from timebank.access.principal import Principal, Role
from timebank.access.scoped import bound_for
from timebank.community import contracts as wire
from timebank.community import family, organisation, people, places
from timebank.community.personal_data import id_number_hash, parse_id_number, parse_phone
from timebank.db import Database
from timebank.errors import Forbidden, NotFound
from timebank.http.responses import created
from timebank.keys import Keys

__all__ = ["CommunityController", "PeopleController"]


def _bound(
    database: Database, principal: Principal, *also: uuid.UUID
) -> AbstractAsyncContextManager[asyncpg.Connection]:
    return bound_for(database.pool, principal, *also)


def _is_staff_of(principal: Principal, community_id: uuid.UUID) -> bool:
    return principal.is_system or principal.holds(Role.community_staff, community_id=community_id)


def _reveals_phone(principal: Principal, person: people.Person) -> bool:
    """Phones show in full to the person and to staff of their community; everyone else sees them masked."""
    return principal.person_id == person.id or _is_staff_of(principal, person.community_id)


class CommunityController(Controller):
    path = "/communities"
    tags = ["communities"]  # noqa: RUF012

    @get("", operation_id="ListCommunities", opt={"action": "community.list"})
    async def list_communities(
        self, database: NamedDependency[Database], principal: NamedDependency[Principal]
    ) -> list[wire.CommunityResponse]:
        async with _bound(database, principal) as connection:
            return [wire.CommunityResponse.of(c) for c in await places.list_communities(connection)]

    @post("", operation_id="CreateCommunity", opt={"action": "community.create"})
    async def create_community(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        data: JSONBody[wire.CommunityCreateRequest],
    ) -> Response[wire.CommunityResponse]:
        async with _bound(database, principal, data.id) as connection:
            community, is_new = await places.create_community(
                connection, principal, id=data.id, street_id=data.street_id, code=data.code, name=data.name
            )
        return created(wire.CommunityResponse.of(community), is_new)

    @get("/{community_id:uuid}/places", operation_id="ListPlaces", opt={"action": "community.places.read"})
    async def list_places(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        community_id: FromPath[uuid.UUID],
    ) -> list[wire.PlaceResponse]:
        async with _bound(database, principal) as connection:
            await places.get_community(connection, community_id)
            return [wire.PlaceResponse.of(p) for p in await places.places_of(connection, community_id)]

    @post("/{community_id:uuid}/places", operation_id="AddPlace", opt={"action": "community.places.write"})
    async def add_place(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        community_id: FromPath[uuid.UUID],
        data: JSONBody[wire.PlaceCreateRequest],
    ) -> Response[wire.PlaceResponse]:
        async with _bound(database, principal) as connection:
            place, is_new = await places.add_place(
                connection,
                principal,
                community_id,
                id=data.id,
                kind=data.kind,
                name=data.name,
                parent_id=data.parent_id,
                household_kind=data.household_kind,
            )
        return created(wire.PlaceResponse.of(place), is_new)

    @get("/{community_id:uuid}/people", operation_id="ListPeople", opt={"action": "community.people.list"})
    async def list_people(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        community_id: FromPath[uuid.UUID],
        name: Annotated[str | None, QueryParameter(min_length=1, max_length=64)] = None,
        kind: Annotated[str | None, QueryParameter(min_length=1, max_length=32)] = None,
        after: FromQuery[uuid.UUID | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
    ) -> wire.PeoplePage:
        async with _bound(database, principal) as connection:
            found = await people.list_people(
                connection, community_id, name_contains=name, kind=kind, after=after, limit=limit
            )
        # Lists mask phones unless the caller is staff of this community.
        staff = _is_staff_of(principal, community_id)
        return wire.PeoplePage(
            people=[wire.PersonResponse.of(p, reveal_phone=staff or p.id == principal.person_id) for p in found],
            next_after=found[-1].id if len(found) == limit else None,
        )

    @post("/{community_id:uuid}/people", operation_id="RegisterPerson", opt={"action": "community.people.write"})
    async def register_person(
        self,
        database: NamedDependency[Database],
        keys: NamedDependency[Keys],
        principal: NamedDependency[Principal],
        community_id: FromPath[uuid.UUID],
        data: JSONBody[wire.PersonRegisterRequest],
    ) -> Response[wire.PersonResponse]:
        id_number = None if data.id_number is None else parse_id_number(data.id_number)
        new = people.NewPerson(
            id=data.id,
            name=data.name,
            phone=None if data.phone is None else parse_phone(data.phone),
            id_number_hash=None if id_number is None else id_number_hash(keys.personal_data, id_number),
            id_number_last4=None if id_number is None else id_number.last4,
            birth_date=data.birth_date or (None if id_number is None else id_number.birth_date),
            household_id=data.household_id,
        )
        async with _bound(database, principal) as connection:
            await places.get_community(connection, community_id)
            person, is_new = await people.register_person(connection, principal, community_id, new)
        return created(wire.PersonResponse.of(person, reveal_phone=True), is_new)

    @post(
        "/{community_id:uuid}/memberships", operation_id="AddMembership", opt={"action": "community.memberships.write"}
    )
    async def add_membership(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        community_id: FromPath[uuid.UUID],
        data: JSONBody[wire.MembershipCreateRequest],
    ) -> Response[wire.MembershipResponse]:
        new = people.NewMembership(**msgspec.structs.asdict(data) | {"skills": tuple(data.skills)})
        async with _bound(database, principal) as connection:
            membership, is_new = await people.join(connection, principal, community_id, new)
        return created(wire.MembershipResponse.of(membership), is_new)

    @get("/{community_id:uuid}/teams", operation_id="ListTeams", opt={"action": "community.teams.read"})
    async def list_teams(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        community_id: FromPath[uuid.UUID],
    ) -> list[wire.TeamResponse]:
        async with _bound(database, principal) as connection:
            return [wire.TeamResponse.of(t) for t in await organisation.list_teams(connection, community_id)]

    @post("/{community_id:uuid}/teams", operation_id="CreateTeam", opt={"action": "community.teams.write"})
    async def create_team(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        community_id: FromPath[uuid.UUID],
        data: JSONBody[wire.TeamCreateRequest],
    ) -> Response[wire.TeamResponse]:
        async with _bound(database, principal) as connection:
            team, is_new = await organisation.create_team(
                connection, principal, community_id, id=data.id, name=data.name, service_area=data.service_area
            )
        return created(wire.TeamResponse.of(team), is_new)

    @get("/{community_id:uuid}/partner-units", operation_id="ListPartnerUnits", opt={"action": "community.units.read"})
    async def list_units(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        community_id: FromPath[uuid.UUID],
    ) -> list[wire.UnitResponse]:
        async with _bound(database, principal) as connection:
            return [wire.UnitResponse.of(u) for u in await organisation.list_units(connection, community_id)]

    @post(
        "/{community_id:uuid}/partner-units", operation_id="CreatePartnerUnit", opt={"action": "community.units.write"}
    )
    async def create_unit(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        community_id: FromPath[uuid.UUID],
        data: JSONBody[wire.UnitCreateRequest],
    ) -> Response[wire.UnitResponse]:
        async with _bound(database, principal) as connection:
            unit, is_new = await organisation.create_unit(
                connection,
                principal,
                community_id,
                id=data.id,
                name=data.name,
                kind=data.kind,
                contact_name=data.contact_name,
                contact_phone=data.contact_phone,
            )
        return created(wire.UnitResponse.of(unit), is_new)

    @post("/{community_id:uuid}/agreements", operation_id="AddAgreement", opt={"action": "community.units.write"})
    async def add_agreement(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        community_id: FromPath[uuid.UUID],
        data: JSONBody[wire.AgreementCreateRequest],
    ) -> Response[wire.AgreementResponse]:
        async with _bound(database, principal) as connection:
            agreement, is_new = await organisation.add_agreement(
                connection,
                principal,
                community_id,
                id=data.id,
                unit_id=data.unit_id,
                starts_on=data.starts_on,
                ends_on=data.ends_on,
                commitments=tuple(data.commitments),
            )
        return created(wire.AgreementResponse.of(agreement), is_new)

    @post("/{community_id:uuid}/role-grants", operation_id="GrantRole", opt={"action": "community.grants.write"})
    async def grant_role(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        community_id: FromPath[uuid.UUID],
        data: JSONBody[wire.RoleGrantRequest],
    ) -> Response[wire.RoleGrantResponse]:
        async with _bound(database, principal) as connection:
            grant, is_new = await organisation.grant_role(
                connection,
                principal,
                community_id,
                id=data.id,
                person_id=data.person_id,
                role=data.role,
                scope_id=data.scope_id,
            )
        return created(wire.RoleGrantResponse.of(grant), is_new)

    @get("/{community_id:uuid}/party-orgs", operation_id="ListPartyOrgs", opt={"action": "community.places.read"})
    async def list_party_orgs(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        community_id: FromPath[uuid.UUID],
    ) -> list[wire.PartyOrgResponse]:
        async with _bound(database, principal) as connection:
            return [wire.PartyOrgResponse.of(o) for o in await organisation.party_orgs_of(connection, community_id)]

    @post("/{community_id:uuid}/party-orgs", operation_id="AddPartyOrg", opt={"action": "community.places.write"})
    async def add_party_org(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        community_id: FromPath[uuid.UUID],
        data: JSONBody[wire.PartyOrgCreateRequest],
    ) -> Response[wire.PartyOrgResponse]:
        new = organisation.PartyOrg(community_id=community_id, **msgspec.structs.asdict(data))
        async with _bound(database, principal) as connection:
            org, is_new = await organisation.add_party_org(connection, principal, community_id, new)
        return created(wire.PartyOrgResponse.of(org), is_new)

    @post("/{community_id:uuid}/grid-buildings", operation_id="CoverBuilding", opt={"action": "community.places.write"})
    async def cover_building(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        community_id: FromPath[uuid.UUID],
        data: JSONBody[wire.GridCoverRequest],
    ) -> Response[wire.GridCoverRequest]:
        async with _bound(database, principal) as connection:
            is_new = await organisation.cover_building(
                connection, principal, community_id, grid_id=data.grid_id, building_id=data.building_id
            )
        return created(data, is_new)

    @get("/{community_id:uuid}/audit", operation_id="ListAuditEvents", opt={"action": "community.audit.read"})
    async def audit_events(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        community_id: FromPath[uuid.UUID],
        entity: Annotated[str | None, QueryParameter(min_length=1, max_length=64)] = None,
        after: Annotated[int, QueryParameter(ge=0)] = 0,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
    ) -> wire.AuditPage:
        async with _bound(database, principal) as connection:
            rows = await connection.fetch(
                """
                SELECT id, community_id, actor_id, actor_subject, action, entity, entity_id, before::text,
                       after::text, request_id, at
                FROM audit_event WHERE community_id = $1 AND ($2::text IS NULL OR entity = $2) AND id > $3
                ORDER BY id LIMIT $4
                """,
                community_id,
                entity,
                after,
                limit,
            )
        events = [
            wire.AuditEventResponse(
                **{k: v for k, v in dict(row).items() if k not in ("before", "after")},
                before=None if row["before"] is None else msgspec.json.decode(row["before"]),
                after=None if row["after"] is None else msgspec.json.decode(row["after"]),
            )
            for row in rows
        ]
        return wire.AuditPage(events=events, next_after=events[-1].id if len(events) == limit else None)


class PeopleController(Controller):
    """Rows addressed by their own id: a person, a membership, a family link, a grant."""

    path = ""
    tags = ["communities"]  # noqa: RUF012

    @get("/people/{person_id:uuid}", operation_id="GetPerson", opt={"action": "community.person.read"})
    async def get_person(
        self, database: NamedDependency[Database], principal: NamedDependency[Principal], person_id: FromPath[uuid.UUID]
    ) -> wire.PersonResponse:
        async with _bound(database, principal) as connection:
            person = await people.get_person(connection, person_id)
            memberships = await people.memberships_of(connection, person_id)
        return wire.PersonResponse.of(person, reveal_phone=_reveals_phone(principal, person), memberships=memberships)

    @post(
        "/memberships/{membership_id:uuid}/end",
        operation_id="EndMembership",
        status_code=200,
        opt={"action": "community.membership.end"},
    )
    async def end_membership(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        membership_id: FromPath[uuid.UUID],
        data: JSONBody[wire.MembershipEndRequest],
    ) -> wire.MembershipResponse:
        async with _bound(database, principal) as connection:
            return wire.MembershipResponse.of(await people.leave(connection, principal, membership_id, data.left_on))

    @post(
        "/me/dual-registrations",
        operation_id="RegisterWithPairedCommunity",
        opt={"action": "community.dual_registration"},
    )
    async def dual_registration(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        data: JSONBody[wire.DualRegistrationRequest],
    ) -> Response[wire.MembershipResponse]:
        """An in-service party member reports to the community their unit is paired with (双报到)."""
        if principal.person_id is None:
            raise Forbidden("only a person can register with a community")
        # Binding the paired community is safe: the only rows read or written there are the unit and the membership.
        async with _bound(database, principal, data.community_id) as connection:
            paired = await connection.fetchval(
                "SELECT 1 FROM partner_unit WHERE id = $1 AND community_id = $2", data.unit_id, data.community_id
            )
            if paired is None:
                raise NotFound("the unit is not a partner of that community", field="unit_id")
            membership, is_new = await people.join(
                connection,
                principal,
                data.community_id,
                people.NewMembership(
                    id=data.id,
                    person_id=principal.person_id,
                    kind="party_member",
                    member_type="dual_registered",
                    unit_id=data.unit_id,
                ),
            )
        return created(wire.MembershipResponse.of(membership), is_new)

    @post("/family-links", operation_id="RequestFamilyLink", opt={"action": "community.family.request"})
    async def request_family_link(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        data: JSONBody[wire.FamilyLinkRequest],
    ) -> Response[wire.FamilyLinkResponse]:
        async with _bound(database, principal) as connection:
            staff = await _staff_of_person(connection, principal, data.person_id)
            if data.person_id != principal.person_id and not staff:
                raise Forbidden("a member files links for themselves; staff for anyone of their community")
            link, is_new = await family.request_link(
                connection,
                principal,
                id=data.id,
                person_id=data.person_id,
                relative_id=data.relative_id,
                relation=data.relation,
            )
        return created(wire.FamilyLinkResponse.of(link), is_new)

    @post(
        "/family-links/{link_id:uuid}/verify",
        operation_id="VerifyFamilyLink",
        status_code=200,
        opt={"action": "community.family.verify"},
    )
    async def verify_family_link(
        self, database: NamedDependency[Database], principal: NamedDependency[Principal], link_id: FromPath[uuid.UUID]
    ) -> wire.FamilyLinkResponse:
        async with _bound(database, principal) as connection:
            return wire.FamilyLinkResponse.of(await family.verify_link(connection, principal, link_id))

    @post(
        "/family-links/{link_id:uuid}/revoke",
        operation_id="RevokeFamilyLink",
        status_code=200,
        opt={"action": "community.family.verify"},
    )
    async def revoke_family_link(
        self, database: NamedDependency[Database], principal: NamedDependency[Principal], link_id: FromPath[uuid.UUID]
    ) -> wire.FamilyLinkResponse:
        async with _bound(database, principal) as connection:
            return wire.FamilyLinkResponse.of(await family.revoke_link(connection, principal, link_id))

    @post(
        "/role-grants/{grant_id:uuid}/revoke",
        operation_id="RevokeRole",
        status_code=200,
        opt={"action": "community.grant.revoke"},
    )
    async def revoke_grant(
        self, database: NamedDependency[Database], principal: NamedDependency[Principal], grant_id: FromPath[uuid.UUID]
    ) -> wire.RoleGrantResponse:
        async with _bound(database, principal) as connection:
            return wire.RoleGrantResponse.of(await organisation.revoke_grant(connection, principal, grant_id))


async def _staff_of_person(connection: asyncpg.Connection, principal: Principal, person_id: uuid.UUID) -> bool:
    community_id = await connection.fetchval("SELECT community_id FROM person WHERE id = $1", person_id)
    if community_id is None:
        raise NotFound("no such person", field="person_id")
    return _is_staff_of(principal, community_id)
