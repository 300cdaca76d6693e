"""The shape of a demo street, as plain data: places, organisation, people and grants, nothing written yet.

:mod:`timebank.community.demo_street` fills it from the seed documents' figures, and
:mod:`timebank.community.demo` writes it. Everything refers to everything else by name (a community by code, a
unit by name within its community, a person by a stable key), so the plan is easy to read and to test, and the
writer turns names into ids with the same find-or-create functions the importer uses.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

__all__ = [
    "CommunityPlan",
    "Home",
    "PlannedGrant",
    "PlannedMembership",
    "PlannedPerson",
    "StreetPlan",
    "WellKnown",
]


@dataclass(frozen=True, slots=True, order=True)
class Home:
    compound: str
    building: str
    room: str


@dataclass(frozen=True, slots=True)
class PlannedMembership:
    """A membership in ``community``; ``party_org`` names a branch, group or hub household there, ``unit`` a unit of
    ``unit_community`` (a dual-registered member's unit is paired with the community they registered with)."""

    community: str
    kind: str
    member_type: str | None = None
    skills: tuple[str, ...] = ()
    party_org: str | None = None
    team: str | None = None
    unit: str | None = None
    unit_community: str | None = None


@dataclass(slots=True)
class PlannedPerson:
    key: str
    community: str
    name: str
    born: dt.date
    id_number: str
    phone: str | None
    home: Home | None
    memberships: list[PlannedMembership] = field(default_factory=list)

    def age(self, on: dt.date) -> int:
        return on.year - self.born.year - ((on.month, on.day) < (self.born.month, self.born.day))


@dataclass(frozen=True, slots=True)
class PlannedGrant:
    """A role for ``person``; ``scope`` names a grid, branch, team or unit of ``community`` (or the community or
    street itself, or the person for ``self``)."""

    person: str
    role: str
    scope_kind: str
    scope: str
    community: str | None


@dataclass(slots=True)
class CommunityPlan:
    code: str
    name: str
    buildings: dict[str, list[str]] = field(default_factory=dict)
    households: dict[Home, str] = field(default_factory=dict)
    grids: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    committee: str = ""
    branches: dict[str, str] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)
    hubs: dict[str, tuple[str, Home]] = field(default_factory=dict)
    teams: dict[str, str] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    agreements: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class WellKnown:
    """A person the README introduces: what they are, and their key in the plan."""

    role: str
    person: str


@dataclass(slots=True)
class StreetPlan:
    code: str
    name: str
    communities: list[CommunityPlan]
    people: list[PlannedPerson]
    grants: list[PlannedGrant]
    well_known: list[WellKnown]
