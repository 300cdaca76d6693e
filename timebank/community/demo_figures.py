"""The figures of the demo street's communities: 苏州路社区 as seed document 000 reports it, and its smaller
neighbour 烟台路社区, which is there to show that communities are kept apart."""

from __future__ import annotations

from dataclasses import dataclass

from timebank.community.demo_units import SUZHOULU_UNITS, TEAMS, YANTAILU_UNITS, TeamSpec

__all__ = ["DUAL_FROM_NEIGHBOUR", "SUZHOULU", "YANTAILU", "CommunityFigures"]


@dataclass(frozen=True, slots=True)
class CommunityFigures:
    code: str
    name: str
    compounds: tuple[tuple[str, int], ...]  # name, buildings
    households: int
    residents: int
    community_managed: int
    groups: tuple[int, ...]  # building groups per compound
    hubs: int
    grids: int
    staff: int
    units: tuple[tuple[str, str, int], ...]  # name, kind, dual-registered members it sends here
    teams: tuple[TeamSpec, ...]
    volunteers: int  # registered volunteers outside any team


SUZHOULU = CommunityFigures(
    code="suzhoulu",
    name="苏州路社区",
    compounds=(("苏州花园", 78), ("学府佳苑", 67)),
    households=2424,
    residents=6518,
    community_managed=44,
    groups=(8, 7),
    hubs=64,
    grids=19,
    staff=6,
    units=SUZHOULU_UNITS,
    teams=TEAMS,
    volunteers=120,
)
YANTAILU = CommunityFigures(
    code="yantailu",
    name="烟台路社区",
    compounds=(("烟台路小区", 20),),
    households=300,
    residents=812,
    community_managed=8,
    groups=(2,),
    hubs=4,
    grids=2,
    staff=2,
    units=YANTAILU_UNITS,
    teams=(TeamSpec("烟台路志愿服务队", "烟台路小区", 20, ("陪伴老人", "巡逻", "家电维修")),),
    volunteers=15,
)

#: 烟台路社区 residents who are dual-registered with 苏州路社区's units (part of its 443).
DUAL_FROM_NEIGHBOUR = 23
