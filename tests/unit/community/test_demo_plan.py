"""The demo street's plan: the seed documents' figures, valid identities, and the same street on every run."""

from __future__ import annotations

import hashlib
from collections import Counter

from timebank.community.demo_street import demo_street
from timebank.community.personal_data import parse_id_number, parse_phone

PLAN = demo_street()
SUZHOULU = next(c for c in PLAN.communities if c.code == "suzhoulu")


def memberships(community: str, kind: str) -> list[tuple[str, str | None, str | None, str | None]]:
    return [
        (person.key, m.member_type, m.unit, m.party_org)
        for person in PLAN.people
        for m in person.memberships
        if m.community == community and m.kind == kind
    ]


def test_suzhoulu_has_the_figures_of_seed_document_000() -> None:
    assert len(SUZHOULU.buildings) == 2
    assert len(SUZHOULU.households) == 2424
    assert 6500 <= len(memberships("suzhoulu", "resident")) < 6600
    party = memberships("suzhoulu", "party_member")
    types = Counter(member_type for _, member_type, _, _ in party)
    assert types == {"community_managed": 44, "dual_registered": 443}
    assert len({unit for _, member_type, unit, _ in party if member_type == "dual_registered"}) == 11
    assert len(SUZHOULU.units) == 23
    assert sum(len(projects) for projects in SUZHOULU.agreements.values()) == 46
    assert (len(SUZHOULU.groups), len(SUZHOULU.hubs), len(SUZHOULU.grids)) == (15, 64, 19)
    assert sum(len(buildings) for buildings in SUZHOULU.buildings.values()) == 145


def test_hub_households_each_link_five_to_ten_members_living_near() -> None:
    linked = Counter(org for _, _, _, org in memberships("suzhoulu", "party_member") if org is not None)
    assert set(linked) == set(SUZHOULU.hubs)
    assert all(5 <= count <= 10 for count in linked.values())


def test_every_grid_has_a_worker_and_every_building_a_head() -> None:
    grid_workers = [g for g in PLAN.grants if g.role == "grid_worker" and g.community == "suzhoulu"]
    assert sorted(g.scope for g in grid_workers) == sorted(SUZHOULU.grids)
    heads = [p for p in PLAN.people for m in p.memberships if m.team == "楼栋长队伍" and m.community == "suzhoulu"]
    assert len({(p.home.compound, p.home.building) for p in heads if p.home}) == 145


def test_every_kind_of_user_has_a_grant_and_a_well_known_person() -> None:
    roles = {grant.role for grant in PLAN.grants}
    assert roles == {
        "street_admin",
        "auditor",
        "community_staff",
        "grid_worker",
        "branch_secretary",
        "team_leader",
        "partner_admin",
    }  # residents and volunteers are granted by joining (the bulk path), see the integration test
    assert len({known.person for known in PLAN.well_known}) == len(PLAN.well_known) == 16


def test_identities_are_valid_and_unique() -> None:
    numbers = [person.id_number for person in PLAN.people]
    assert len(set(numbers)) == len(numbers)
    for person in PLAN.people:
        assert parse_id_number(person.id_number).birth_date == person.born
        if person.phone is not None:
            assert parse_phone(person.phone) == person.phone
    assert len({person.key for person in PLAN.people}) == len(PLAN.people)


def test_the_plan_is_the_same_on_every_run() -> None:
    again = demo_street.__wrapped__()

    def digest(people: list[object]) -> str:
        return hashlib.sha256(repr(people).encode()).hexdigest()

    assert again is not PLAN
    assert digest(list(again.people)) == digest(list(PLAN.people))
    assert again.grants == PLAN.grants
