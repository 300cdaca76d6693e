"""Importing people from CSV and XLSX into a real database: reported errors, applied rows, idempotence, audit."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from timebank.community.accounts import account_id
from timebank.community.demo_sheet import SampleSheet, sample_sheet, write_csv, write_xlsx
from timebank.community.import_columns import Column
from timebank.community.importing import ImportReport, import_people_file
from timebank.community.personal_data import id_number_hash, parse_id_number
from timebank.db import EVERY_COMMUNITY, Database, bound
from timebank.errors import NotFound
from timebank.ledger import Asset

KEY = b"import tests key" * 2

#: Tables an import writes, with the columns that must not change when the same file is imported again.
SNAPSHOT = {
    "compound": "id, name",
    "building": "id, compound_id, name",
    "household": "id, building_id, room, kind",
    "party_org": "id, parent_id, level, name",
    "partner_unit": "id, name, kind",
    "person": "id, household_id, name, phone, id_number_hash, birth_date",
    "membership": "id, person_id, kind, member_type, skills, party_org_id, unit_id, left_on",
    "role_grant": "id, person_id, role, scope_id, revoked_at",
    "ledger_account": "id, owner_id, asset",
}


@pytest.fixture(name="community")
async def fx_community(database: Database) -> tuple[uuid.UUID, str]:
    """A fresh community of its own street, so each test sees only what it imported."""
    street_id, community_id = uuid.uuid4(), uuid.uuid4()
    code = f"import-{community_id.hex[:10]}"
    async with bound(database.pool, EVERY_COMMUNITY) as connection:
        await connection.execute("INSERT INTO street (id, code, name) VALUES ($1, $2, '望城街道')", street_id, code)
        await connection.execute(
            "INSERT INTO community (id, street_id, code, name) VALUES ($1, $2, $3, '苏州路社区')",
            community_id,
            street_id,
            code,
        )
    return community_id, code


async def snapshot(connection: asyncpg.Connection, community_id: uuid.UUID) -> dict[str, set[tuple[Any, ...]]]:
    tables = {}
    for table, columns in SNAPSHOT.items():
        rows = await connection.fetch(f"SELECT {columns} FROM {table} WHERE community_id = $1", community_id)
        tables[table] = {tuple(tuple(value) if isinstance(value, list) else value for value in row) for row in rows}
    return tables


async def run(database: Database, path: Path, code: str, *, dry_run: bool = False) -> ImportReport:
    return await import_people_file(database.pool, path, community_code=code, key=KEY, dry_run=dry_run)


def assert_reports_planted(report: ImportReport, sheet: SampleSheet) -> None:
    """Each planted error is reported at its row and column with the expected words, and nothing else is."""
    reported = {(error.row, error.column): error.problem for error in report.errors}
    assert set(reported) == {(planted.row, planted.column) for planted in sheet.planted}
    for planted in sheet.planted:
        assert planted.problem in reported[(planted.row, planted.column)], planted


async def test_dry_run_reports_every_planted_error_and_writes_nothing(
    database: Database, community: tuple[uuid.UUID, str], tmp_path: Path
) -> None:
    community_id, code = community
    sheet = sample_sheet(400, seed=101, errors=27)
    path = tmp_path / "residents.csv"
    write_csv(sheet, path)
    report = await run(database, path, code, dry_run=True)
    assert report.dry_run
    assert_reports_planted(report, sheet)
    assert (report.rows, report.imported) == (400, 400 - 27)
    assert report.changes["people_created"] == 400 - 27
    assert report.column_of(report.errors[0]) == "B 身份证号"  # the first kind planted spoils the check character
    async with bound(database.pool, EVERY_COMMUNITY) as connection:
        assert all(not rows for rows in (await snapshot(connection, community_id)).values())
        assert await connection.fetchval("SELECT count(*) FROM audit_event WHERE community_id = $1", community_id) == 0


async def test_apply_writes_the_valid_rows_with_accounts_and_audit_then_changes_nothing_again(
    database: Database, community: tuple[uuid.UUID, str], tmp_path: Path
) -> None:
    community_id, code = community
    sheet = sample_sheet(300, seed=202, errors=20)
    path = tmp_path / "residents.csv"
    write_csv(sheet, path, encoding="gb18030")
    first = await run(database, path, code)
    assert_reports_planted(first, sheet)
    assert first.changes["people_created"] == 280
    async with bound(database.pool, EVERY_COMMUNITY) as connection:
        before = await snapshot(connection, community_id)
        assert len(before["person"]) == 280
        residents = await connection.fetchval(
            "SELECT count(*) FROM membership WHERE community_id = $1 AND kind = 'resident'", community_id
        )
        assert residents == 280
        dual = await connection.fetch(
            """
            SELECT m.unit_id, u.name FROM membership m JOIN partner_unit u ON u.id = m.unit_id
            WHERE m.community_id = $1 AND m.member_type = 'dual_registered'
            """,
            community_id,
        )
        assert dual
        assert all(row["name"].startswith(("莱西", "国网", "中国邮政")) for row in dual)
        # A party member holds the party score account as well as hours, coins and points.
        party_member = await connection.fetchval(
            "SELECT person_id FROM membership WHERE community_id = $1 AND kind = 'party_member' LIMIT 1", community_id
        )
        assets = await connection.fetch("SELECT asset FROM ledger_account WHERE owner_id = $1", party_member)
        assert {Asset(row["asset"]) for row in assets} == set(Asset)
        events = await connection.fetch(
            "SELECT action, count(*) AS n FROM audit_event WHERE community_id = $1 GROUP BY action", community_id
        )
        assert {row["action"]: row["n"] for row in events} == {"person.created": 280, "people.imported": 1}

    second = await run(database, path, code)
    assert second.changes == {}
    assert_reports_planted(second, sheet)
    async with bound(database.pool, EVERY_COMMUNITY) as connection:
        assert await snapshot(connection, community_id) == before


async def test_xlsx_and_csv_of_one_sheet_import_the_same(
    database: Database, community: tuple[uuid.UUID, str], tmp_path: Path
) -> None:
    _, code = community
    sheet = sample_sheet(120, seed=303, errors=6)
    xlsx, csv = tmp_path / "residents.xlsx", tmp_path / "residents.csv"
    write_xlsx(sheet, xlsx)
    write_csv(sheet, csv)
    from_xlsx = await run(database, xlsx, code)
    assert_reports_planted(from_xlsx, sheet)
    assert from_xlsx.changes["people_created"] == 114
    from_csv = await run(database, csv, code)
    assert_reports_planted(from_csv, sheet)
    assert from_csv.changes == {}


async def test_a_corrected_row_updates_the_person_and_logs_before_and_after(
    database: Database, community: tuple[uuid.UUID, str], tmp_path: Path
) -> None:
    community_id, code = community
    header = "姓名,身份证号,手机号,小区,楼栋,房号,户类型,党员类型,党支部,党小组\n"
    path = tmp_path / "one.csv"
    path.write_text(header + "张伟,370285199001011238,13812345678,苏州花园,1号楼,1-101,,,,\n", encoding="utf-8")
    await run(database, path, code)
    moved = "张伟,370285199001011238,13912345678,苏州花园,2号楼,1-201,困难户,自管党员,苏州花园党支部,第一党小组\n"
    path.write_text(header + moved, encoding="utf-8")
    report = await run(database, path, code)
    assert report.changes == {
        "accounts_opened": 1,  # the party score
        "buildings_created": 1,
        "households_created": 1,
        "memberships_created": 1,
        "party_orgs_created": 3,  # the committee, the branch, the group
        "people_updated": 1,
    }
    person_hash = id_number_hash(KEY, parse_id_number("370285199001011238"))
    async with bound(database.pool, EVERY_COMMUNITY) as connection:
        person = await connection.fetchrow(
            """
            SELECT p.id, p.phone, h.room, h.kind FROM person p JOIN household h ON h.id = p.household_id
            WHERE p.id_number_hash = $1
            """,
            person_hash,
        )
        assert (person["phone"], person["room"], person["kind"]) == ("13912345678", "1-201", "hardship")
        change = await connection.fetchrow(
            "SELECT before, after FROM audit_event WHERE entity_id = $1 AND action = 'person.updated'",
            str(person["id"]),
        )
        assert set(json.loads(change["before"])) == {"phone", "household_id"}
        assert "13812345678" not in change["before"] + change["after"]
        committee = await connection.fetchval(
            "SELECT name FROM party_org WHERE community_id = $1 AND level = 'committee'", community_id
        )
        assert committee == "苏州路社区党委"
        score = account_id(community_id, "person", person["id"], Asset.party_score)
        assert await connection.fetchval("SELECT 1 FROM ledger_account WHERE id = $1", score) == 1


async def test_someone_living_in_another_community_may_only_be_dual_registered_here(
    database: Database, community: tuple[uuid.UUID, str], tmp_path: Path
) -> None:
    home_id, home_code = community
    street = await _street_of(database, home_id)
    paired_id, paired_code = uuid.uuid4(), f"import-{uuid.uuid4().hex[:10]}"
    async with bound(database.pool, EVERY_COMMUNITY) as connection:
        await connection.execute(
            "INSERT INTO community (id, street_id, code, name) VALUES ($1, $2, $3, '烟台路社区')",
            paired_id,
            street,
            paired_code,
        )
    header = "姓名,身份证号,小区,楼栋,房号,党员类型,报到单位\n"
    home = tmp_path / "home.csv"
    home.write_text(header + "刘洋,11010519491231002X,苏州花园,1号楼,1-101,,\n", encoding="utf-8")
    await run(database, home, home_code)
    paired = tmp_path / "paired.csv"
    paired.write_text(
        header
        + "刘洋,11010519491231002X,烟台路小区,3号楼,2-301,,\n刘洋,11010519491231002X,,,,双报到党员,莱西市税务局\n",
        encoding="utf-8",
    )
    report = await run(database, paired, paired_code)
    assert [(error.row, error.column) for error in report.errors] == [(2, Column.id_number), (3, Column.id_number)]
    assert report.errors[0].problem.startswith(f"lives in community {home_code}")
    only_dual = tmp_path / "dual.csv"
    only_dual.write_text(header + "刘洋,11010519491231002X,,,,双报到党员,莱西市税务局\n", encoding="utf-8")
    report = await run(database, only_dual, paired_code)
    assert report.errors == ()
    assert report.changes["memberships_created"] == 1
    async with bound(database.pool, EVERY_COMMUNITY) as connection:
        row = await connection.fetchrow(
            """
            SELECT p.community_id, m.member_type FROM person p JOIN membership m ON m.person_id = p.id
            WHERE m.community_id = $1
            """,
            paired_id,
        )
        assert (row["community_id"], row["member_type"]) == (home_id, "dual_registered")


async def test_unknown_community_is_refused(database: Database, tmp_path: Path) -> None:
    path = tmp_path / "residents.csv"
    write_csv(sample_sheet(3, seed=404), path)
    with pytest.raises(NotFound, match="no community has the code 'nowhere'"):
        await run(database, path, "nowhere")


async def _street_of(database: Database, community_id: uuid.UUID) -> uuid.UUID:
    async with bound(database.pool, EVERY_COMMUNITY) as connection:
        street: uuid.UUID = await connection.fetchval("SELECT street_id FROM community WHERE id = $1", community_id)
    return street
