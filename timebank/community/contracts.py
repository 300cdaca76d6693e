"""Wire types of the community API: requests refuse unknown fields, responses never carry an ID number."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

from timebank.community.family import FamilyLink
from timebank.community.organisation import Agreement, PartyOrg, RoleGrant, Team, Unit
from timebank.community.people import Membership, Person
from timebank.community.personal_data import mask_phone
from timebank.community.places import Community, Place

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
LongName = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Code = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9-]{1,64}$")]
PlaceKind = Literal["compound", "building", "household", "grid"]
HouseholdKind = Literal["ordinary", "solitary_elder", "bereaved_elder", "hardship", "disabled", "veteran"]
MembershipKind = Literal["resident", "volunteer", "party_member", "team_member", "team_leader", "partner_staff"]
MemberType = Literal["community_managed", "dual_registered", "property_company", "volunteer", "retired", "mobile"]
Relation = Literal["parent", "child", "grandparent", "grandchild", "spouse"]
UnitKind = Literal["government", "public_institution", "enterprise", "social_organisation", "other"]
GrantedRole = Literal[
    "resident", "volunteer", "team_leader", "grid_worker", "branch_secretary", "community_staff", "partner_admin"
]
Skill = Annotated[str, msgspec.Meta(min_length=1, max_length=32)]


class _Request(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class _Response(msgspec.Struct, frozen=True, kw_only=True):
    pass


class CommunityCreateRequest(_Request, kw_only=True):
    id: uuid.UUID
    street_id: uuid.UUID
    code: Code
    name: LongName


class CommunityResponse(_Response, frozen=True, kw_only=True):
    id: uuid.UUID
    street_id: uuid.UUID
    code: str
    name: str

    @classmethod
    def of(cls, community: Community) -> CommunityResponse:
        return cls(id=community.id, street_id=community.street_id, code=community.code, name=community.name)


class PlaceCreateRequest(_Request, kw_only=True):
    id: uuid.UUID
    kind: PlaceKind
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    parent_id: uuid.UUID | None = None
    household_kind: HouseholdKind | None = None


class PlaceResponse(_Response, frozen=True, kw_only=True):
    id: uuid.UUID
    kind: str
    parent_id: uuid.UUID | None
    name: str

    @classmethod
    def of(cls, place: Place) -> PlaceResponse:
        return cls(id=place.id, kind=place.kind, parent_id=place.parent_id, name=place.name)


class PersonRegisterRequest(_Request, kw_only=True):
    """A person to register; the ID number is checked, hashed under the service key and dropped."""

    id: uuid.UUID
    name: Name
    phone: Annotated[str, msgspec.Meta(max_length=32)] | None = None
    id_number: Annotated[str, msgspec.Meta(max_length=32)] | None = None
    birth_date: date | None = None
    household_id: uuid.UUID | None = None


class MembershipResponse(_Response, frozen=True, kw_only=True):
    id: uuid.UUID
    community_id: uuid.UUID
    person_id: uuid.UUID
    kind: str
    skills: list[str]
    member_type: str | None
    party_org_id: uuid.UUID | None
    team_id: uuid.UUID | None
    unit_id: uuid.UUID | None
    joined_on: date
    left_on: date | None

    @classmethod
    def of(cls, m: Membership) -> MembershipResponse:
        return cls(
            id=m.id,
            community_id=m.community_id,
            person_id=m.person_id,
            kind=m.kind,
            skills=list(m.skills),
            member_type=m.member_type,
            party_org_id=m.party_org_id,
            team_id=m.team_id,
            unit_id=m.unit_id,
            joined_on=m.joined_on,
            left_on=m.left_on,
        )


class PersonResponse(_Response, frozen=True, kw_only=True):
    """A person as the caller may see them: the phone is masked unless the caller is the person or their staff."""

    id: uuid.UUID
    community_id: uuid.UUID
    name: str
    phone: str | None
    id_number_last4: str | None
    birth_date: date | None
    household_id: uuid.UUID | None
    memberships: list[MembershipResponse] | None = None

    @classmethod
    def of(cls, person: Person, *, reveal_phone: bool, memberships: list[Membership] | None = None) -> PersonResponse:
        phone = person.phone if reveal_phone or person.phone is None else mask_phone(person.phone)
        return cls(
            id=person.id,
            community_id=person.community_id,
            name=person.name,
            phone=phone,
            id_number_last4=person.id_number_last4,
            birth_date=person.birth_date,
            household_id=person.household_id,
            memberships=None if memberships is None else [MembershipResponse.of(m) for m in memberships],
        )


class PeoplePage(_Response, frozen=True, kw_only=True):
    people: list[PersonResponse]
    next_after: uuid.UUID | None


class MembershipCreateRequest(_Request, kw_only=True):
    id: uuid.UUID
    person_id: uuid.UUID
    kind: MembershipKind
    skills: Annotated[list[Skill], msgspec.Meta(max_length=20)] = msgspec.field(default_factory=list)
    member_type: MemberType | None = None
    party_org_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None
    unit_id: uuid.UUID | None = None
    joined_on: date | None = None


class MembershipEndRequest(_Request, kw_only=True):
    left_on: date | None = None


class DualRegistrationRequest(_Request, kw_only=True):
    """An in-service party member reports to the community paired with their unit (双报到)."""

    id: uuid.UUID
    community_id: uuid.UUID
    unit_id: uuid.UUID


class TeamCreateRequest(_Request, kw_only=True):
    id: uuid.UUID
    name: LongName
    service_area: Annotated[str, msgspec.Meta(max_length=200)] = ""


class TeamResponse(_Response, frozen=True, kw_only=True):
    id: uuid.UUID
    community_id: uuid.UUID
    name: str
    service_area: str

    @classmethod
    def of(cls, team: Team) -> TeamResponse:
        return cls(id=team.id, community_id=team.community_id, name=team.name, service_area=team.service_area)


class UnitCreateRequest(_Request, kw_only=True):
    id: uuid.UUID
    name: LongName
    kind: UnitKind = "enterprise"
    contact_name: Annotated[str, msgspec.Meta(max_length=64)] = ""
    contact_phone: Annotated[str, msgspec.Meta(pattern=r"^[0-9-]{5,20}$")] | None = None


class UnitResponse(_Response, frozen=True, kw_only=True):
    id: uuid.UUID
    community_id: uuid.UUID
    name: str
    kind: str
    contact_name: str
    contact_phone: str | None

    @classmethod
    def of(cls, unit: Unit) -> UnitResponse:
        return cls(
            id=unit.id,
            community_id=unit.community_id,
            name=unit.name,
            kind=unit.kind,
            contact_name=unit.contact_name,
            contact_phone=unit.contact_phone,
        )


class AgreementCreateRequest(_Request, kw_only=True):
    id: uuid.UUID
    unit_id: uuid.UUID
    starts_on: date
    ends_on: date
    commitments: Annotated[
        list[Annotated[str, msgspec.Meta(min_length=1, max_length=200)]], msgspec.Meta(max_length=50)
    ] = msgspec.field(default_factory=list)


class AgreementResponse(_Response, frozen=True, kw_only=True):
    id: uuid.UUID
    community_id: uuid.UUID
    unit_id: uuid.UUID
    starts_on: date
    ends_on: date
    commitments: list[str]

    @classmethod
    def of(cls, a: Agreement) -> AgreementResponse:
        return cls(
            id=a.id,
            community_id=a.community_id,
            unit_id=a.unit_id,
            starts_on=a.starts_on,
            ends_on=a.ends_on,
            commitments=list(a.commitments),
        )


class FamilyLinkRequest(_Request, kw_only=True):
    """Ask staff to verify that ``relative_id`` is the ``relation`` of ``person_id`` (the caller, unless staff)."""

    id: uuid.UUID
    person_id: uuid.UUID
    relative_id: uuid.UUID
    relation: Relation


class FamilyLinkResponse(_Response, frozen=True, kw_only=True):
    id: uuid.UUID
    community_id: uuid.UUID
    person_id: uuid.UUID
    relative_id: uuid.UUID
    relation: str
    requested_at: datetime
    verified_by: uuid.UUID | None
    verified_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, link: FamilyLink) -> FamilyLinkResponse:
        return cls(
            id=link.id,
            community_id=link.community_id,
            person_id=link.person_id,
            relative_id=link.relative_id,
            relation=link.relation,
            requested_at=link.requested_at,
            verified_by=link.verified_by,
            verified_at=link.verified_at,
            revoked_at=link.revoked_at,
        )


class RoleGrantRequest(_Request, kw_only=True):
    id: uuid.UUID
    person_id: uuid.UUID
    role: GrantedRole
    scope_id: uuid.UUID


class RoleGrantResponse(_Response, frozen=True, kw_only=True):
    id: uuid.UUID
    person_id: uuid.UUID
    role: str
    scope_kind: str
    scope_id: uuid.UUID
    community_id: uuid.UUID | None
    granted_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, g: RoleGrant) -> RoleGrantResponse:
        return cls(
            id=g.id,
            person_id=g.person_id,
            role=g.role,
            scope_kind=g.scope_kind,
            scope_id=g.scope_id,
            community_id=g.community_id,
            granted_at=g.granted_at,
            revoked_at=g.revoked_at,
        )


class AuditEventResponse(_Response, frozen=True, kw_only=True):
    id: int
    community_id: uuid.UUID | None
    actor_id: uuid.UUID | None
    actor_subject: str
    action: str
    entity: str
    entity_id: str
    before: dict[str, object] | None
    after: dict[str, object] | None
    request_id: str | None
    at: datetime


class AuditPage(_Response, frozen=True, kw_only=True):
    events: list[AuditEventResponse]
    next_after: int | None


PartyLevel = Literal["committee", "branch", "group", "hub_household"]


class PartyOrgCreateRequest(_Request, kw_only=True):
    """A level of the party organisation: committee → branch → building group → hub household (党员中心户)."""

    id: uuid.UUID
    level: PartyLevel
    name: LongName
    parent_id: uuid.UUID | None = None
    compound_id: uuid.UUID | None = None
    building_id: uuid.UUID | None = None
    household_id: uuid.UUID | None = None
    is_temporary: bool = False


class PartyOrgResponse(_Response, frozen=True, kw_only=True):
    id: uuid.UUID
    community_id: uuid.UUID
    parent_id: uuid.UUID | None
    level: str
    name: str
    compound_id: uuid.UUID | None
    building_id: uuid.UUID | None
    household_id: uuid.UUID | None
    is_temporary: bool

    @classmethod
    def of(cls, org: PartyOrg) -> PartyOrgResponse:
        return cls(**{name: getattr(org, name) for name in cls.__struct_fields__})


class GridCoverRequest(_Request, kw_only=True):
    grid_id: uuid.UUID
    building_id: uuid.UUID
