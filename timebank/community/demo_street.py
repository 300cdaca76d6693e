"""The demo street 望城街道, built from the seed documents' figures, as a :class:`StreetPlan`.

苏州路社区 as seed document 000 reports it: 2 compounds, 2,424 households, 6,500-odd residents, 44 community-managed
party members, 443 dual-registered members from 11 units, 23 partner units with 46 co-building projects, 15
building groups, 64 hub households, 19 grid workers, 145 building heads, the volunteer teams it names, and one
full-time social worker among its staff. 烟台路社区 is a smaller neighbour in the same street, there to show that
communities are separate; 23 of its residents are dual-registered with 苏州路社区's units and so seen by both.

Everything is drawn from one seeded random source in a fixed order: the same plan on every machine and every run.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import replace
from functools import cache

from timebank.community.demo_figures import DUAL_FROM_NEIGHBOUR, SUZHOULU, YANTAILU, CommunityFigures
from timebank.community.demo_households import REFERENCE_DAY, lay_out_buildings, people_of_households
from timebank.community.demo_identities import IdentityMaker
from timebank.community.demo_plan import (
    CommunityPlan,
    PlannedGrant,
    PlannedMembership,
    PlannedPerson,
    StreetPlan,
    WellKnown,
)
from timebank.community.demo_units import PROJECTS

__all__ = ["demo_street"]

_SEED = 201703  # the month 苏州路社区 was built


#: The order the README introduces the demo people in: who runs things first, then who takes part.
_README_ORDER = (
    "street admin",
    "street auditor",
    "community staff",
    "grid worker",
    "branch secretary",
    "volunteer team leader",
    "partner unit admin",
    "building head",
    "party member, community-managed, head of a hub household",
    "party member, dual-registered",
    "party member living in 烟台路社区, dual-registered with 苏州路社区",
    "volunteer",
    "resident",
    "resident, elder living alone",
    "resident of 烟台路社区",
)


@cache
def demo_street() -> StreetPlan:
    """The plan of the demo street (computed once per process)."""
    rng = random.Random(_SEED)  # noqa: S311 - made-up people must be reproducible, not unpredictable
    people = IdentityMaker(rng)
    builder = _Builder(rng, people)
    neighbour = builder.community(YANTAILU)
    main = builder.community(SUZHOULU)
    builder.register_dual(main, SUZHOULU, neighbour)
    for figures, plan in ((SUZHOULU, main), (YANTAILU, neighbour)):
        builder.organise(figures, plan)
    builder.street_staff(main.code)
    return StreetPlan(
        code="wangcheng",
        name="望城街道",
        communities=[main, neighbour],
        people=builder.people,
        grants=builder.grants,
        well_known=sorted(builder.well_known, key=lambda known: _README_ORDER.index(known.role.split(" (")[0])),
    )


class _Builder:
    def __init__(self, rng: random.Random, identities: IdentityMaker) -> None:
        self.rng = rng
        self.identities = identities
        self.people: list[PlannedPerson] = []
        self.grants: list[PlannedGrant] = []
        self.well_known: list[WellKnown] = []
        self.residents: dict[str, list[PlannedPerson]] = {}
        self.busy: set[str] = set()  # people given a post (grid worker, building head, secretary, …)
        self.party: dict[str, list[PlannedPerson]] = {}
        self.skills: dict[str, set[str]] = {}  # volunteers' skills, by person: one volunteer membership each

    def community(self, figures: CommunityFigures) -> CommunityPlan:
        """Places, residents and the party members who live there (community-managed, and dual-registered ones)."""
        plan = CommunityPlan(code=figures.code, name=figures.name, committee=f"{figures.name}党委")
        buildings = lay_out_buildings(plan, figures.compounds, figures.households)
        residents = people_of_households(plan, figures.residents, self.identities, self.rng)
        self.people += residents
        self.residents[plan.code] = residents
        self.party[plan.code] = []
        per_grid = _spread(len(buildings), figures.grids)
        for number, (start, count) in enumerate(per_grid, start=1):
            plan.grids[f"第{number}网格"] = buildings[start : start + count]
        seniors = [p for p in residents if p.age(REFERENCE_DAY) >= 45]
        for person in sorted(self.rng.sample(seniors, figures.community_managed), key=lambda p: p.key):
            person.memberships.append(PlannedMembership(plan.code, "party_member", member_type="community_managed"))
            self.party[plan.code].append(person)
        return plan

    def register_dual(self, main: CommunityPlan, figures: CommunityFigures, neighbour: CommunityPlan) -> None:
        """Dual-registered members of ``main``'s units: most live in ``main``, some in ``neighbour``."""
        dual_units = [(name, count) for name, _, count in figures.units if count]
        outside = self._in_service(neighbour.code, DUAL_FROM_NEIGHBOUR)
        inside = self._in_service(main.code, sum(count for _, count in dual_units) - len(outside))
        members = iter(inside + outside)
        for unit, count in dual_units:
            for person in [next(members) for _ in range(count)]:
                registered = PlannedMembership(
                    main.code, "party_member", member_type="dual_registered", unit=unit, unit_community=main.code
                )
                person.memberships.append(registered)
                if person.community != main.code:
                    # Registered in both communities, naming the same unit (migration: membership).
                    person.memberships.append(
                        PlannedMembership(
                            person.community, "party_member", "dual_registered", unit=unit, unit_community=main.code
                        )
                    )
                self.party[person.community].append(person)

    def organise(self, figures: CommunityFigures, plan: CommunityPlan) -> None:
        self._party_organisation(figures, plan)
        self._posts(plan)
        self._teams(figures, plan)
        self._units(figures, plan)
        self._staff(figures, plan)

    def street_staff(self, home: str) -> None:
        for role, title in (("street_admin", "street admin"), ("auditor", "street auditor")):
            person = self._outsider(home, f"street/{role}")
            self.grants.append(PlannedGrant(person.key, role, "street", "wangcheng", None))
            self.well_known.append(WellKnown(f"{title} (望城街道)", person.key))

    # -- the pieces -------------------------------------------------------------------------------------------------
    def _in_service(self, community: str, count: int) -> list[PlannedPerson]:
        taken = {p.key for p in self.party[community]}
        pool = [p for p in self.residents[community] if 25 <= p.age(REFERENCE_DAY) <= 55 and p.key not in taken]
        return sorted(self.rng.sample(pool, count), key=lambda p: p.key)

    def _party_organisation(self, figures: CommunityFigures, plan: CommunityPlan) -> None:
        """Branches per compound, building groups over runs of buildings, and hub households that each link the
        party members living nearest them (each member's party organisation is their hub)."""
        members = self.party[plan.code]
        group_buildings: dict[str, set[tuple[str, str]]] = {}
        for (compound, _), groups in zip(figures.compounds, figures.groups, strict=True):
            branch = f"{compound}小区党支部"
            plan.branches[branch] = compound
            buildings = plan.buildings[compound]
            for number, (start, count) in enumerate(_spread(len(buildings), groups), start=1):
                group = f"{compound}第{number}楼栋党小组"
                plan.groups[group] = branch
                group_buildings[group] = {(compound, b) for b in buildings[start : start + count]}
        in_group = {
            group: sorted((p for p in members if p.home and (p.home.compound, p.home.building) in where), key=_home)
            for group, where in group_buildings.items()
        }
        hubs_per_group = _apportion(figures.hubs, {group: len(people) for group, people in in_group.items()})
        for group, group_members in in_group.items():
            for start, count in _spread(len(group_members), hubs_per_group[group]):
                linked = group_members[start : start + count]
                # The hub is a community-managed member's home where the run has one (they hold organisational
                # life in the community), else the home in the middle of the run.
                managed_here = [p for p in linked if _member_type(p, plan.code) == "community_managed"]
                head = managed_here[0] if managed_here else linked[len(linked) // 2]
                assert head.home is not None
                hub = f"{head.home.compound}{head.home.building}{head.home.room}党员中心户"
                plan.hubs[hub] = (group, head.home)
                for person in linked:
                    person.memberships = [
                        replace(m, party_org=hub) if m.community == plan.code and m.kind == "party_member" else m
                        for m in person.memberships
                    ]
        managed = [p for p in members if _member_type(p, plan.code) == "community_managed"]
        for branch, compound in plan.branches.items():
            secretary = next(p for p in managed if p.home and p.home.compound == compound and p.key not in self.busy)
            self._post(secretary, "branch_secretary", "branch", branch, plan.code)
            self._know(plan, f"branch secretary ({branch})", secretary)
        hub_homes = {home for _, home in plan.hubs.values()}
        hub_head = self._first(p for p in managed if p.home in hub_homes)
        self._know(plan, "party member, community-managed, head of a hub household", hub_head)
        dual = self._first(p for p in members if p.home and _member_type(p, plan.code) == "dual_registered")
        self._know(plan, "party member, dual-registered", dual)

    def _posts(self, plan: CommunityPlan) -> None:
        """A grid worker for each grid and a building head (楼栋长) for each building, all residents."""
        residents = self.residents[plan.code]
        by_building: dict[tuple[str, str], list[PlannedPerson]] = {}
        for person in residents:
            if person.home is not None:
                by_building.setdefault((person.home.compound, person.home.building), []).append(person)
        for grid, buildings in plan.grids.items():
            candidates = [p for b in buildings for p in by_building[b] if 25 <= p.age(REFERENCE_DAY) <= 50]
            worker = self._free(candidates)
            self._post(worker, "grid_worker", "grid", grid, plan.code)
            self._know(plan, f"grid worker ({grid})", worker)
        heads_team = "楼栋长队伍"
        plan.teams[heads_team] = "each building head looks after their building"
        in_order = [(compound, name) for compound, names in plan.buildings.items() for name in names]
        for at, building in enumerate(in_order):
            head = self._free([p for p in by_building[building] if 30 <= p.age(REFERENCE_DAY) <= 70])
            self.busy.add(head.key)
            kind = "team_leader" if at == 0 else "team_member"
            head.memberships.append(PlannedMembership(plan.code, kind, team=heads_team))
            self.skills.setdefault(head.key, set()).add("楼栋长")
            if at == 0:
                self.grants.append(PlannedGrant(head.key, "team_leader", "team", heads_team, plan.code))
                self._know(plan, f"building head ({building[0]}{building[1]})", head)

    def _teams(self, figures: CommunityFigures, plan: CommunityPlan) -> None:
        adults = [p for p in self.residents[plan.code] if 18 <= p.age(REFERENCE_DAY) <= 75]
        skills_of = self.skills
        for spec in figures.teams:
            plan.teams[spec.name] = spec.area
            pool = [p for p in adults if p.key not in self.busy]
            if spec.party_share:
                party = [p for p in self.party[plan.code] if p.community == plan.code and p.key not in self.busy]
                chosen = self.rng.sample(party, round(spec.size * spec.party_share))
                keys = {p.key for p in chosen}
                chosen += self.rng.sample([p for p in pool if p.key not in keys], spec.size - len(chosen))
            else:
                chosen = self.rng.sample(pool, spec.size)
            leader, *members = chosen
            self.busy.add(leader.key)
            leader.memberships.append(PlannedMembership(plan.code, "team_leader", team=spec.name))
            self.grants.append(PlannedGrant(leader.key, "team_leader", "team", spec.name, plan.code))
            self._know(plan, f"volunteer team leader ({spec.name})", leader)
            for person in members:
                person.memberships.append(PlannedMembership(plan.code, "team_member", team=spec.name))
            for person in chosen:
                skills_of.setdefault(person.key, set()).update(self.rng.sample(spec.skills, min(2, len(spec.skills))))
            self._know(
                plan, f"volunteer ({spec.name})", self._first(p for p in members if p not in self.party[plan.code])
            )
        loners = self.rng.sample(
            [p for p in adults if p.key not in skills_of and p.key not in self.busy], figures.volunteers
        )
        every_skill = sorted({skill for spec in figures.teams for skill in spec.skills})
        for person in loners:
            skills_of[person.key] = set(self.rng.sample(every_skill, 2))
        for person in self.residents[plan.code]:
            if person.key in skills_of:
                person.memberships.append(
                    PlannedMembership(plan.code, "volunteer", skills=tuple(sorted(skills_of[person.key])))
                )
        residents = self.residents[plan.code]
        self._know(
            plan,
            "resident",
            self._first(p for p in residents if len(p.memberships) == 1 and p.age(REFERENCE_DAY) >= 18),
        )
        elder = self._first(p for p in residents if p.home and plan.households[p.home] == "solitary_elder")
        self._know(plan, "resident, elder living alone (独居老人)", elder)

    def _units(self, figures: CommunityFigures, plan: CommunityPlan) -> None:
        """Partner units with their co-building agreements (two projects each) and an admin each: one of the unit's
        dual-registered members where it has some, else a staff member who lives elsewhere."""
        projects = iter(PROJECTS * 2)
        for at, (unit, kind, _) in enumerate(figures.units):
            plan.units[unit] = kind
            plan.agreements[unit] = (next(projects), next(projects))
            registered = [p for p in self.party[plan.code] if _unit(p, plan.code) == unit and p.key not in self.busy]
            admin = registered[0] if registered else self._outsider(plan.code, f"{plan.code}/unit/{at + 1:02d}")
            self.busy.add(admin.key)
            admin.memberships.append(PlannedMembership(plan.code, "partner_staff", unit=unit, unit_community=plan.code))
            self.grants.append(PlannedGrant(admin.key, "partner_admin", "unit", unit, plan.code))
            self._know(plan, f"partner unit admin ({unit})", admin)
        if plan.code == "suzhoulu":
            neighbour = next(p for p in self.party["yantailu"] if _unit(p, plan.code) is not None)
            self.well_known.append(
                WellKnown("party member living in 烟台路社区, dual-registered with 苏州路社区", neighbour.key)
            )

    def _staff(self, figures: CommunityFigures, plan: CommunityPlan) -> None:
        for number in range(1, figures.staff + 1):
            staff = self._outsider(plan.code, f"{plan.code}/staff/{number:02d}")
            self.grants.append(PlannedGrant(staff.key, "community_staff", "community", plan.code, plan.code))
            if number == 1:
                self.well_known.append(WellKnown(f"community staff ({plan.name})", staff.key))

    # -- helpers ----------------------------------------------------------------------------------------------------
    def _outsider(self, community: str, key: str) -> PlannedPerson:
        """Someone registered with ``community`` who does not live in it (staff, a unit's contact)."""
        sex = self.identities.sex()
        born = self.identities.birth_date(self.rng.randrange(26, 55), REFERENCE_DAY)
        person = PlannedPerson(
            key=key,
            community=community,
            name=self.identities.name(sex),
            born=born,
            id_number=self.identities.id_number(born, sex),
            phone=self.identities.phone(),
            home=None,
        )
        self.people.append(person)
        return person

    def _first(self, candidates: Iterable[PlannedPerson]) -> PlannedPerson:
        return next(p for p in candidates if p.key not in self.busy)

    def _free(self, candidates: Iterable[PlannedPerson]) -> PlannedPerson:
        free = [p for p in candidates if p.key not in self.busy]
        return free[self.rng.randrange(len(free))]

    def _post(self, person: PlannedPerson, role: str, scope_kind: str, scope: str, community: str) -> None:
        self.busy.add(person.key)
        self.grants.append(PlannedGrant(person.key, role, scope_kind, scope, community))

    def _know(self, plan: CommunityPlan, role: str, person: PlannedPerson) -> None:
        """Introduce the first person of each kind in the main community (and the neighbour's first resident)."""
        label = role.split(" (")[0]
        known = {w.role.split(" (")[0] for w in self.well_known}
        if plan.code == "suzhoulu" and label not in known:
            self.well_known.append(WellKnown(role, person.key))
            self.busy.add(person.key)  # so the README's people each stand for one thing
        elif plan.code == "yantailu" and role == "resident":
            self.well_known.append(WellKnown("resident of 烟台路社区", person.key))


def _spread(total: int, parts: int) -> list[tuple[int, int]]:
    """(start, count) of ``parts`` consecutive runs covering ``total`` items as evenly as possible."""
    size, extra = divmod(total, parts)
    runs, start = [], 0
    for part in range(parts):
        count = size + (part < extra)
        runs.append((start, count))
        start += count
    return runs


def _apportion(total: int, weights: dict[str, int]) -> dict[str, int]:
    """``total`` split over the keys in proportion to their weights (largest remainders), at least one each."""
    whole = sum(weights.values())
    shares = {key: max(1, total * weight // whole) for key, weight in weights.items()}
    by_remainder = sorted(weights, key=lambda key: -(total * weights[key] % whole))
    while sum(shares.values()) < total:
        for key in by_remainder[: total - sum(shares.values())]:
            shares[key] += 1
    return shares


def _home(person: PlannedPerson) -> tuple[str, str, str]:
    assert person.home is not None
    building = int(person.home.building.removesuffix("号楼"))
    return (person.home.compound, f"{building:04d}", person.home.room)


def _member_type(person: PlannedPerson, community: str) -> str | None:
    return next((m.member_type for m in person.memberships if m.community == community and m.member_type), None)


def _unit(person: PlannedPerson, community: str) -> str | None:
    return next((m.unit for m in person.memberships if m.community == community and m.kind == "party_member"), None)
