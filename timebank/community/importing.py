"""Importing households, people and party members from a community's spreadsheet (CSV or XLSX).

One row is one person; the columns are in :mod:`timebank.community.import_columns` and the README. The rows are
checked on their own and against each other first; the rows that pass are then written in one transaction:
places, party groups and units found or created by name, then people in chunks through the bulk path the demo
seed also takes (:mod:`timebank.community.import_people`). A row that fails is reported with its row number,
column and problem, and the others are still written. A dry run does all of it and rolls the transaction back, so
it reports exactly what applying would, and leaves nothing behind.

Importing is idempotent: people are matched by the keyed hash of their ID number, households by building and
room, memberships by what they are (the active-membership key), so importing a file again changes nothing.
"""

from __future__ import annotations

import datetime as dt
import getpass
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from timebank.community.import_audit import Actor, AuditEvent, append_events
from timebank.community.import_columns import Column
from timebank.community.import_files import ColumnRef, read_sheet
from timebank.community.import_people import MembershipRecord, PersonRecord, write_people
from timebank.community.import_places import (
    Tally,
    derived_id,
    ensure_buildings,
    ensure_committee,
    ensure_compounds,
    ensure_households,
    ensure_party_orgs,
    ensure_units,
)
from timebank.community.import_rows import PersonLine, RowError, check_across_rows, check_row
from timebank.community.personal_data import id_number_hash
from timebank.db import EVERY_COMMUNITY, bound
from timebank.errors import NotFound

__all__ = ["ImportReport", "PreparedImport", "apply_import", "import_people_file", "prepare_import"]

CHUNK_ROWS = 1000
_COLUMN_ORDER = {column: at for at, column in enumerate(Column)}


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import did (or, in a dry run, would do)."""

    community_code: str
    dry_run: bool
    rows: int
    imported: int
    errors: tuple[RowError, ...]
    columns: dict[Column, ColumnRef]
    changes: dict[str, int]

    def column_of(self, error: RowError) -> str:
        """How a report names the column of ``error``: letter and header as in the file, e.g. ``C 身份证号``."""
        if error.column is None:
            return "-"
        ref = self.columns.get(error.column)
        return f"{ref.letter} {ref.header}" if ref else f"{error.column.label} (no such column)"


class _DryRun(Exception):
    """Raised inside the transaction to roll it back, carrying the report out."""

    def __init__(self, report: ImportReport) -> None:
        super().__init__("dry run")
        self.report = report


@dataclass(frozen=True, slots=True)
class PreparedImport:
    """A file read and checked row by row, ready to apply; nothing has touched the database yet."""

    path: Path
    sha256: str
    rows: int
    columns: dict[Column, ColumnRef]
    lines: list[PersonLine]
    errors: list[RowError]


def prepare_import(path: Path, *, today: dt.date | None = None) -> PreparedImport:
    """Read ``path`` and check every row on its own and against the rows before it.

    Raises:
        ImportFileError: the file cannot be read at all.
    """
    sheet = read_sheet(path)
    checked_on = today or dt.date.today()
    lines: list[PersonLine] = []
    errors: list[RowError] = []
    for row in sheet.rows:
        checked = check_row(row, checked_on)
        if isinstance(checked, PersonLine):
            lines.append(checked)
        else:
            errors += checked
    lines, contradictions = check_across_rows(lines)
    return PreparedImport(path, sheet.sha256, len(sheet.rows), sheet.columns, lines, errors + contradictions)


async def apply_import(
    pool: asyncpg.Pool,
    prepared: PreparedImport,
    *,
    community_code: str,
    key: bytes,
    dry_run: bool = False,
    actor: Actor | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Write the rows of ``prepared`` that pass into the community ``community_code`` (or, dry, roll them back).

    ``key`` is the personal-data key for ID hashes; ``actor`` is who the audit log names (default: the operating
    system account, as ``cli:<user>``). ``progress`` is called with the number of rows each step
    finished; the calls add up to ``prepared.rows``.

    Raises:
        NotFound: no community has that code.
    """
    refused_early = prepared.rows - len(prepared.lines)
    if progress is not None and refused_early:
        progress(refused_early)
    actor = actor or Actor(f"cli:{getpass.getuser()}")
    importer = _Importer(key=key, actor=actor, progress=progress)
    try:
        async with bound(pool, EVERY_COMMUNITY) as connection:
            community_id, community_name = await _community(connection, community_code)
            written, refused = await importer.write(connection, community_id, community_name, prepared.lines)
            errors = sorted(prepared.errors + refused, key=_error_order)
            summary = _summary(community_id, prepared, written, len(errors), importer.tally)
            await append_events(connection, [summary], actor)
            report = ImportReport(
                community_code=community_code,
                dry_run=dry_run,
                rows=prepared.rows,
                imported=written,
                errors=tuple(errors),
                columns=prepared.columns,
                changes={name: count for name, count in sorted(importer.tally.items()) if count},
            )
            if dry_run:
                raise _DryRun(report)
    except _DryRun as rolled_back:
        return rolled_back.report
    return report


async def import_people_file(
    pool: asyncpg.Pool,
    path: Path,
    *,
    community_code: str,
    key: bytes,
    dry_run: bool = False,
    today: dt.date | None = None,
) -> ImportReport:
    """:func:`prepare_import` and :func:`apply_import` in one call."""
    prepared = prepare_import(path, today=today)
    return await apply_import(pool, prepared, community_code=community_code, key=key, dry_run=dry_run)


def _error_order(error: RowError) -> tuple[int, int]:
    return (error.row, -1 if error.column is None else _COLUMN_ORDER[error.column])


async def _community(connection: asyncpg.Connection, code: str) -> tuple[uuid.UUID, str]:
    row = await connection.fetchrow("SELECT id, name FROM community WHERE code = $1", code)
    if row is None:
        raise NotFound(f"no community has the code {code!r}", community_code=code)
    return row["id"], row["name"]


def _summary(
    community_id: uuid.UUID, prepared: PreparedImport, imported: int, refused: int, tally: Tally
) -> AuditEvent:
    after = {"file": prepared.path.name, "rows": prepared.rows, "imported": imported, "refused": refused}
    after["changes"] = dict(tally)
    return AuditEvent(community_id, "people.imported", "import", f"sha256:{prepared.sha256}", None, after)


class _Importer:
    """Turns checked lines into rows: names resolved to ids, then people written chunk by chunk."""

    def __init__(self, *, key: bytes, actor: Actor, progress: Callable[[int], None] | None) -> None:
        self.key = key
        self.actor = actor
        self.progress = progress
        self.tally = Tally()
        self.refused: list[RowError] = []

    def refuse(self, line: PersonLine, column: Column, problem: str) -> None:
        self.refused.append(RowError(line.row, column, problem))

    async def write(
        self, connection: asyncpg.Connection, community_id: uuid.UUID, community_name: str, lines: list[PersonLine]
    ) -> tuple[int, list[RowError]]:
        """Write ``lines``; returns how many were written and the ones refused against the stored data."""
        hashes = {line.row: id_number_hash(self.key, line.id_number) for line in lines}
        lines = await self._keep_homes(connection, community_id, lines, hashes)
        party_orgs = await self._party_orgs(connection, community_id, community_name, lines)
        lines = [line for line in lines if line.row in party_orgs]
        units = await ensure_units(
            connection, community_id, {line.unit: "other" for line in lines if line.unit is not None}, self.tally
        )
        households = await self._households(connection, community_id, lines)
        if self.progress is not None and self.refused:
            self.progress(len(self.refused))
        for start in range(0, len(lines), CHUNK_ROWS):
            chunk = lines[start : start + CHUNK_ROWS]
            records = [
                _record(line, hashes[line.row], households.get(line.row), party_orgs[line.row], units) for line in chunk
            ]
            events: list[AuditEvent] = []
            await write_people(connection, community_id, records, self.tally, events)
            await append_events(connection, events, self.actor)
            if self.progress is not None:
                self.progress(len(chunk))
        return len(lines), self.refused

    async def _keep_homes(
        self,
        connection: asyncpg.Connection,
        community_id: uuid.UUID,
        lines: list[PersonLine],
        hashes: dict[int, bytes],
    ) -> list[PersonLine]:
        """Refuse rows that would give a home here to someone who lives in another community."""
        rows = await connection.fetch(
            """
            SELECT p.id_number_hash, c.code FROM person p JOIN community c ON c.id = p.community_id
            WHERE p.id_number_hash = ANY($1::bytea[]) AND p.community_id <> $2
            """,
            [hashes[line.row] for line in lines if line.address is not None],
            community_id,
        )
        elsewhere = {row["id_number_hash"]: row["code"] for row in rows}
        kept = []
        for line in lines:
            if line.address is not None and (code := elsewhere.get(hashes[line.row])) is not None:
                self.refuse(line, Column.id_number, f"lives in community {code}; only dual registration can add them")
            else:
                kept.append(line)
        return kept

    async def _party_orgs(
        self, connection: asyncpg.Connection, community_id: uuid.UUID, community_name: str, lines: list[PersonLine]
    ) -> dict[int, uuid.UUID | None]:
        """The party organisation of each row that names a valid one (or none); rows naming a wrong one are left out."""
        named = [line for line in lines if line.branch is not None or line.group is not None]
        if not named:
            return {line.row: None for line in lines}
        groups: dict[str, str | None] = {}
        for line in named:
            if line.group is not None and groups.get(line.group) is None:
                groups[line.group] = line.branch
        committee_id = await ensure_committee(connection, community_id, f"{community_name}党委", self.tally)
        branches = {line.branch for line in named if line.branch is not None}
        orgs = await ensure_party_orgs(connection, community_id, committee_id, branches, groups, self.tally)
        resolved: dict[int, uuid.UUID | None] = {}
        for line in lines:
            if line.group is not None:
                found = orgs.groups.get(line.group)
                if found is None:
                    self.refuse(line, Column.group, f"no 党小组 {line.group} yet; give its 党支部 to create it")
                elif line.branch is not None and found[1] != orgs.branches[line.branch]:
                    self.refuse(line, Column.branch, f"党小组 {line.group} belongs to another 党支部")
                else:
                    resolved[line.row] = found[0]
            elif line.branch is not None:
                resolved[line.row] = orgs.branches[line.branch]
            else:
                resolved[line.row] = None
        return resolved

    async def _households(
        self, connection: asyncpg.Connection, community_id: uuid.UUID, lines: Sequence[PersonLine]
    ) -> dict[int, uuid.UUID]:
        """The household of each row that gives an address, created with its compound and building as needed."""
        housed = [(line, line.address) for line in lines if line.address is not None]
        compounds = await ensure_compounds(
            connection, community_id, (address.compound for _, address in housed), self.tally
        )
        buildings = await ensure_buildings(
            connection,
            community_id,
            ((compounds[address.compound], address.building) for _, address in housed),
            self.tally,
        )
        kinds: dict[tuple[uuid.UUID, str], str | None] = {}
        for line, address in housed:
            key = (buildings[(compounds[address.compound], address.building)], address.room)
            kinds[key] = line.household_kind or kinds.get(key)
        changed: list[AuditEvent] = []
        households = await ensure_households(connection, community_id, kinds, self.tally, changed)
        await append_events(connection, changed, self.actor)
        return {
            line.row: households[(buildings[(compounds[address.compound], address.building)], address.room)]
            for line, address in housed
        }


def _record(
    line: PersonLine,
    id_hash: bytes,
    household_id: uuid.UUID | None,
    party_org_id: uuid.UUID | None,
    units: dict[str, uuid.UUID],
) -> PersonRecord:
    memberships = []
    if household_id is not None:
        memberships.append(MembershipRecord(kind="resident"))
    if line.member_type is not None:
        unit_id = units[line.unit] if line.unit is not None else None
        memberships.append(
            MembershipRecord(
                kind="party_member", member_type=line.member_type, party_org_id=party_org_id, unit_id=unit_id
            )
        )
    if line.skills:
        memberships.append(MembershipRecord(kind="volunteer", skills=line.skills))
    return PersonRecord(
        row=line.row,
        new_id=derived_id("person", id_hash.hex()),
        name=line.name,
        id_hash=id_hash,
        id_last4=line.id_number.last4,
        birth_date=line.id_number.birth_date,
        phone=line.phone,
        household_id=household_id,
        memberships=tuple(memberships),
    )
