"""The demo street in the database: seeded once for this module, counted, seeded again, and kept apart by community."""

from __future__ import annotations

import uuid

import pytest

from timebank.community.demo import community_counts, demo_person_id, seed_demo, well_known_people
from timebank.community.demo_street import demo_street
from timebank.db import EVERY_COMMUNITY, Database, bound

KEY = b"demo tests key, not the service's"
#: Everything the seed writes, compared as one digest per table before and after seeding again.
TABLES = (
    "street",
    "community",
    "compound",
    "building",
    "household",
    "grid",
    "grid_building",
    "party_org",
    "volunteer_team",
    "partner_unit",
    "co_building_agreement",
    "person",
    "membership",
    "role_grant",
    "ledger_account",
)


@pytest.fixture(name="seeded", scope="module")
async def fx_seeded(database: Database) -> dict[str, int]:
    return await seed_demo(database.pool, KEY)


async def digests(database: Database) -> dict[str, str]:
    found = {}
    async with bound(database.pool, EVERY_COMMUNITY) as connection:
        for table in TABLES:
            rows = "coalesce(string_agg(t::text, ',' ORDER BY t::text), '')"
            found[table] = await connection.fetchval(f"SELECT md5({rows}) FROM {table} t")
    return found


async def community_id(database: Database, code: str) -> uuid.UUID:
    async with bound(database.pool, EVERY_COMMUNITY) as connection:
        found: uuid.UUID = await connection.fetchval("SELECT id FROM community WHERE code = $1", code)
    return found


async def test_suzhoulu_has_the_seed_documents_figures(database: Database, seeded: dict[str, int]) -> None:
    assert seeded["people_created"] == len(demo_street().people)
    (suzhoulu,) = await community_counts(database.pool, ["suzhoulu"])
    figures = suzhoulu.figures
    assert 6500 <= figures.pop("residents") < 6600
    assert figures.pop("volunteers") > 400
    assert figures.pop("ledger_accounts") > 3 * 6500
    assert figures == {
        "compounds": 2,
        "buildings": 145,
        "households": 2424,
        "community_managed_party_members": 44,
        "dual_registered_party_members": 443,
        "dual_registration_units": 11,
        "partner_units": 23,
        "co_building_agreements": 23,
        "party_branches": 2,
        "building_groups": 15,
        "hub_households": 64,
        "grids": 19,
        "grids_with_workers": 19,
        "building_heads": 145,
        "volunteer_teams": 8,
    }


async def test_seeding_again_changes_nothing(database: Database, seeded: dict[str, int]) -> None:
    before = await digests(database)
    assert await seed_demo(database.pool, KEY) == {}
    assert await digests(database) == before


async def test_every_well_known_person_holds_their_role(database: Database, seeded: dict[str, int]) -> None:
    known = await well_known_people(database.pool)
    assert known is not None
    plan = demo_street()
    assert [person.id for person in known] == [demo_person_id(k.person) for k in plan.well_known]
    async with bound(database.pool, EVERY_COMMUNITY) as connection:
        rows = await connection.fetch(
            "SELECT person_id, role FROM role_grant WHERE person_id = ANY($1::uuid[]) AND revoked_at IS NULL",
            [person.id for person in known],
        )
    held = {(row["person_id"], row["role"]) for row in rows}
    expected = {
        "street admin": "street_admin",
        "street auditor": "auditor",
        "community staff": "community_staff",
        "grid worker": "grid_worker",
        "branch secretary": "branch_secretary",
        "volunteer team leader": "team_leader",
        "partner unit admin": "partner_admin",
        "building head": "team_leader",
        "volunteer": "volunteer",
        "resident": "resident",
    }
    for person in known:
        role = expected.get(person.role.split(" (")[0], "resident")
        assert (person.id, role) in held, person


async def test_the_second_community_is_separate(database: Database, seeded: dict[str, int]) -> None:
    suzhoulu, yantailu = await community_id(database, "suzhoulu"), await community_id(database, "yantailu")
    async with bound(database.pool, [yantailu]) as connection:
        assert await connection.fetchval("SELECT count(*) FROM household") == 300
        assert await connection.fetchval("SELECT count(*) FROM household WHERE community_id = $1", suzhoulu) == 0
        assert await connection.fetchval("SELECT count(*) FROM membership WHERE community_id = $1", suzhoulu) == 0
        assert await connection.fetchval("SELECT count(*) FROM person WHERE community_id <> $1", yantailu) == 0
        assert await connection.fetchval("SELECT count(*) FROM community") == 1
    async with bound(database.pool, [suzhoulu]) as connection:
        # 苏州路社区 sees its own people and the 23 residents of 烟台路社区 dual-registered with its units.
        visitors = await connection.fetchval("SELECT count(*) FROM person WHERE community_id = $1", yantailu)
        assert visitors == 23
        assert await connection.fetchval("SELECT count(*) FROM household WHERE community_id = $1", yantailu) == 0
