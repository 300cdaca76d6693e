"""Households and the people in them for a demo community: places laid out, families drawn at random (seeded).

苏州路社区 is a new school-district community (seed document 000): mostly young working parents of 30–45 with
school-age children, grandparents who came to look after them, and some elders living alone.
"""

from __future__ import annotations

import datetime as dt
import random

from timebank.community.demo_identities import IdentityMaker, Sex
from timebank.community.demo_plan import CommunityPlan, Home, PlannedMembership, PlannedPerson

__all__ = ["REFERENCE_DAY", "lay_out_buildings", "people_of_households"]

#: Ages are as of this day, so the street is the same whenever it is seeded.
REFERENCE_DAY = dt.date(2026, 1, 1)

# Three entrances (单元) by six floors, one flat per landing: "2-301" is entrance 2, third floor.
_ROOMS = [f"{entrance}-{floor}01" for floor in range(1, 7) for entrance in range(1, 4)]
_SIZES, _SIZE_WEIGHTS = (1, 2, 3, 4, 5), (15, 30, 33, 16, 6)


def lay_out_buildings(
    community: CommunityPlan, compounds: tuple[tuple[str, int], ...], households: int
) -> list[tuple[str, str]]:
    """Buildings ``1号楼``… in each compound and ``households`` rooms spread evenly over them (in building order)."""
    buildings = [(compound, f"{n}号楼") for compound, count in compounds for n in range(1, count + 1)]
    for compound, count in compounds:
        community.buildings[compound] = [f"{n}号楼" for n in range(1, count + 1)]
    per_building, extra = divmod(households, len(buildings))
    for at, (compound, building) in enumerate(buildings):
        for room in _ROOMS[: per_building + (at < extra)]:
            community.households[Home(compound, building, room)] = "ordinary"
    return buildings


def people_of_households(
    community: CommunityPlan, residents: int, people: IdentityMaker, rng: random.Random
) -> list[PlannedPerson]:
    """Exactly ``residents`` people in the community's households, each with a resident membership.

    Household kinds follow who lives there: most elders living alone are marked 独居老人.
    """
    homes = list(community.households)  # in layout order: compound, building, room
    sizes = rng.choices(_SIZES, weights=_SIZE_WEIGHTS, k=len(homes))
    while (difference := residents - sum(sizes)) != 0:
        at = rng.randrange(len(sizes))
        if difference > 0 and sizes[at] < _SIZES[-1]:
            sizes[at] += 1
        elif difference < 0 and sizes[at] > 1:
            sizes[at] -= 1
    planned: list[PlannedPerson] = []
    for home, size in zip(homes, sizes, strict=True):
        family = _family(size, rng)
        surname = people.surname()
        for role, age, sex in family:
            born = people.birth_date(age, REFERENCE_DAY)
            has_phone = age >= 16 and rng.random() < (0.85 if age >= 70 else 0.97)
            planned.append(
                PlannedPerson(
                    key=f"{community.code}/resident/{len(planned) + 1:05d}",
                    community=community.code,
                    name=people.name(sex, surname if role in ("father", "child", "grandfather") else None),
                    born=born,
                    id_number=people.id_number(born, sex),
                    phone=people.phone() if has_phone else None,
                    home=home,
                    memberships=[PlannedMembership(community.code, "resident")],
                )
            )
        community.households[home] = _kind(family, rng)
    return planned


def _family(size: int, rng: random.Random) -> list[tuple[str, int, Sex]]:
    """Who lives in a household of ``size``: (role, age, sex) each."""
    if size == 1:
        if rng.random() < 0.6:
            return [("elder", rng.randrange(66, 91), _sex(rng))]
        return [("single", rng.randrange(22, 36), _sex(rng))]
    if size == 2 and rng.random() < 0.15:
        return [("grandfather", rng.randrange(62, 86), "male"), ("grandmother", rng.randrange(60, 84), "female")]
    parent_age = rng.randrange(30, 46)
    family: list[tuple[str, int, Sex]] = [
        ("father", parent_age + rng.randrange(0, 4), "male"),
        ("mother", parent_age, "female"),
    ]
    grandparents = {3: 0, 4: int(rng.random() < 0.3), 5: 2 if rng.random() < 0.6 else 1}.get(size, 0)
    children = size - 2 - grandparents
    family += [("child", rng.randrange(1, 18), _sex(rng)) for _ in range(children)]
    elders: list[tuple[str, int, Sex]] = [
        ("grandfather", parent_age + 28, "male"),
        ("grandmother", parent_age + 26, "female"),
    ]
    family += elders[:grandparents]
    return family


def _kind(family: list[tuple[str, int, Sex]], rng: random.Random) -> str:
    if len(family) == 1 and family[0][0] == "elder" and rng.random() < 0.7:
        return "solitary_elder"
    if all(role.startswith("grand") for role, _, _ in family) and rng.random() < 0.1:
        return "bereaved_elder"
    draw = rng.random()
    for kind, share in (("hardship", 0.006), ("disabled", 0.011), ("veteran", 0.018)):
        if draw < share:
            return kind
    return "ordinary"


def _sex(rng: random.Random) -> Sex:
    return "male" if rng.random() < 0.5 else "female"
