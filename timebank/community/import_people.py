"""Writing people and their memberships in bulk: the path both the import and the demo seed take.

A chunk of people is written in a handful of statements. The existing rows are read and locked first, every
decision (new, changed, unchanged) is made in Python against them, and only the differences are written, so writing
the same people twice changes nothing. Joining opens the person's ledger accounts and their self-scoped role
grants on the same transaction, and each change leaves an audit event.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from timebank.community.accounts import open_accounts, person_accounts
from timebank.community.import_audit import AuditEvent
from timebank.community.import_places import Tally
from timebank.errors import Conflict

__all__ = ["MembershipRecord", "PersonRecord", "write_people"]

_NIL = uuid.UUID(int=0)
# Skills travel to unnest() as one string per membership: unnest would flatten a two-dimensional array.
_SKILL_SEPARATOR = "\x1f"
#: The role each kind of membership brings: a resident acts for themselves, a volunteer within the community.
_MEMBERSHIP_ROLES = {"resident": "resident", "volunteer": "volunteer"}


@dataclass(frozen=True, slots=True)
class MembershipRecord:
    kind: str
    member_type: str | None = None
    skills: tuple[str, ...] = ()
    party_org_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None
    unit_id: uuid.UUID | None = None

    @property
    def key(self) -> tuple[str, uuid.UUID]:
        # One party membership per person and community, whatever unit it names; the others are one per team/unit.
        if self.kind == "party_member":
            return (self.kind, _NIL)
        return (self.kind, self.team_id or self.unit_id or _NIL)

    def described(self) -> dict[str, Any]:
        fields: dict[str, Any] = {"kind": self.kind, "member_type": self.member_type, "skills": list(self.skills)}
        fields |= {"party_org_id": self.party_org_id, "team_id": self.team_id, "unit_id": self.unit_id}
        return {name: value for name, value in fields.items() if value not in (None, [])}


@dataclass(frozen=True, slots=True)
class PersonRecord:
    """A person to be present, matched by ``id_hash``; ``new_id`` is the id they get if they are not there yet.

    ``household_id`` None means "registered here without a home here" (a dual-registered member): an existing
    person keeps their household. ``phone`` None keeps a stored phone.
    """

    row: int
    new_id: uuid.UUID
    name: str
    id_hash: bytes
    id_last4: str
    birth_date: dt.date
    phone: str | None
    household_id: uuid.UUID | None
    memberships: tuple[MembershipRecord, ...] = ()

    def __post_init__(self) -> None:
        keys = [membership.key for membership in self.memberships]
        if len(set(keys)) != len(keys):
            # Two records of one membership would be written once and then "corrected" on every later run.
            raise ValueError(f"row {self.row}: the same membership twice: {sorted(keys)}")


@dataclass(slots=True)
class _Membership:
    id: uuid.UUID
    record: MembershipRecord


@dataclass(slots=True)
class _Plan:
    """What one chunk writes, decided before anything is written."""

    new_people: list[tuple[uuid.UUID, PersonRecord]] = field(default_factory=list)
    changed_people: list[tuple[uuid.UUID, PersonRecord]] = field(default_factory=list)
    new_memberships: list[tuple[uuid.UUID, uuid.UUID, MembershipRecord]] = field(default_factory=list)
    changed_memberships: list[tuple[uuid.UUID, MembershipRecord]] = field(default_factory=list)


async def write_people(
    connection: asyncpg.Connection,
    community_id: uuid.UUID,
    records: Sequence[PersonRecord],
    tally: Tally,
    events: list[AuditEvent],
) -> dict[int, uuid.UUID]:
    """Make ``records`` present in ``community_id``; returns each record's person id by its row.

    A person whose home is another community keeps it and their details; only memberships here are added. The
    caller refuses such records when they give a home here.
    """
    stored = {
        row["id_number_hash"]: row
        for row in await connection.fetch(
            """
            SELECT id, community_id, household_id, name, phone, birth_date, id_number_hash FROM person
            WHERE id_number_hash = ANY($1::bytea[]) FOR UPDATE
            """,
            [record.id_hash for record in records],
        )
    }
    plan = _Plan()
    person_ids: dict[int, uuid.UUID] = {}
    for record in records:
        row = stored.get(record.id_hash)
        if row is None:
            person_ids[record.row] = record.new_id
            plan.new_people.append((record.new_id, record))
            continue
        person_ids[record.row] = row["id"]
        if row["community_id"] != community_id:
            continue
        before, after = _person_changes(row, record)
        if after:
            plan.changed_people.append((row["id"], record))
            events.append(AuditEvent(community_id, "person.updated", "person", row["id"], before, after))

    existing = await _active_memberships(connection, community_id, list(person_ids.values()))
    for record in records:
        person_id = person_ids[record.row]
        for membership in record.memberships:
            found = existing.get((person_id, *membership.key))
            if found is None:
                plan.new_memberships.append((uuid.uuid4(), person_id, membership))
            elif (merged := _merged(found.record, membership)) != found.record:
                plan.changed_memberships.append((found.id, merged))
                before, after = found.record.described(), merged.described()
                events.append(AuditEvent(community_id, "membership.updated", "membership", found.id, before, after))

    await _insert_people(connection, community_id, plan.new_people)
    await _update_people(connection, plan.changed_people)
    await _insert_memberships(connection, community_id, plan.new_memberships)
    await _update_memberships(connection, plan.changed_memberships)
    events += _join_events(community_id, plan)
    tally["people_created"] += len(plan.new_people)
    tally["people_updated"] += len(plan.changed_people)
    tally["memberships_created"] += len(plan.new_memberships)
    tally["memberships_updated"] += len(plan.changed_memberships)

    tally["accounts_opened"] += await _open_accounts(connection, community_id, records, person_ids, existing)
    tally["grants_created"] += await _grant_membership_roles(connection, community_id, records, person_ids)
    return person_ids


def _person_changes(row: asyncpg.Record, record: PersonRecord) -> tuple[dict[str, Any], dict[str, Any]]:
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    wanted = {"name": record.name, "birth_date": record.birth_date}
    if record.phone is not None:
        wanted["phone"] = record.phone
    if record.household_id is not None:
        wanted["household_id"] = record.household_id
    for column, value in wanted.items():
        if row[column] != value:
            before[column], after[column] = row[column], value
    for shown in (before, after):
        if shown.get("phone") is not None:
            shown["phone"] = "***"  # as the community services log it: that a phone changed, never the number
    return before, after


def _merged(stored: MembershipRecord, wanted: MembershipRecord) -> MembershipRecord:
    """The stored membership with what ``wanted`` says about it; what it leaves out (None, no skills) stays.

    A party member's type decides the unit: a member who is no longer dual-registered names no unit.
    """
    unit_id = wanted.unit_id if wanted.kind == "party_member" else wanted.unit_id or stored.unit_id
    return MembershipRecord(
        kind=stored.kind,
        member_type=wanted.member_type or stored.member_type,
        skills=wanted.skills or stored.skills,
        party_org_id=wanted.party_org_id or stored.party_org_id,
        team_id=stored.team_id,
        unit_id=unit_id,
    )


async def _active_memberships(
    connection: asyncpg.Connection, community_id: uuid.UUID, person_ids: list[uuid.UUID]
) -> dict[tuple[uuid.UUID, str, uuid.UUID], _Membership]:
    rows = await connection.fetch(
        """
        SELECT id, person_id, kind, member_type, skills, party_org_id, team_id, unit_id FROM membership
        WHERE community_id = $1 AND person_id = ANY($2::uuid[]) AND left_on IS NULL
        FOR UPDATE
        """,
        community_id,
        person_ids,
    )
    found: dict[tuple[uuid.UUID, str, uuid.UUID], _Membership] = {}
    for row in rows:
        record = MembershipRecord(
            kind=row["kind"],
            member_type=row["member_type"],
            skills=tuple(row["skills"]),
            party_org_id=row["party_org_id"],
            team_id=row["team_id"],
            unit_id=row["unit_id"],
        )
        found[(row["person_id"], *record.key)] = _Membership(row["id"], record)
    return found


async def _insert_people(
    connection: asyncpg.Connection, community_id: uuid.UUID, people: list[tuple[uuid.UUID, PersonRecord]]
) -> None:
    if not people:
        return
    inserted = await connection.fetch(
        """
        INSERT INTO person (id, community_id, household_id, name, phone, id_number_hash, id_number_last4, birth_date)
        SELECT id, $2, household_id, name, phone, id_hash, last4, birth_date
        FROM unnest($1::uuid[], $3::uuid[], $4::text[], $5::text[], $6::bytea[], $7::text[], $8::date[])
            AS p(id, household_id, name, phone, id_hash, last4, birth_date)
        ON CONFLICT DO NOTHING RETURNING id
        """,
        [person_id for person_id, _ in people],
        community_id,
        [record.household_id for _, record in people],
        [record.name for _, record in people],
        [record.phone for _, record in people],
        [record.id_hash for _, record in people],
        [record.id_last4 for _, record in people],
        [record.birth_date for _, record in people],
    )
    if len(inserted) != len(people):
        # Another writer added some of these people since they were read; the caller's transaction rolls back.
        raise Conflict("some of these people were added by another writer meanwhile; run again")


async def _update_people(connection: asyncpg.Connection, people: list[tuple[uuid.UUID, PersonRecord]]) -> None:
    if not people:
        return
    await connection.execute(
        """
        UPDATE person p SET name = c.name, birth_date = c.birth_date,
            phone = coalesce(c.phone, p.phone), household_id = coalesce(c.household_id, p.household_id)
        FROM unnest($1::uuid[], $2::text[], $3::date[], $4::text[], $5::uuid[])
            AS c(id, name, birth_date, phone, household_id)
        WHERE p.id = c.id
        """,
        [person_id for person_id, _ in people],
        [record.name for _, record in people],
        [record.birth_date for _, record in people],
        [record.phone for _, record in people],
        [record.household_id for _, record in people],
    )


async def _insert_memberships(
    connection: asyncpg.Connection,
    community_id: uuid.UUID,
    memberships: list[tuple[uuid.UUID, uuid.UUID, MembershipRecord]],
) -> None:
    if not memberships:
        return
    records = [membership for _, _, membership in memberships]
    await connection.execute(
        """
        INSERT INTO membership (id, community_id, person_id, kind, member_type, skills, party_org_id, team_id, unit_id)
        SELECT id, $2, person_id, kind, member_type, string_to_array(skills, $10), party_org_id, team_id, unit_id
        FROM unnest($1::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::uuid[], $8::uuid[], $9::uuid[])
            AS m(id, person_id, kind, member_type, skills, party_org_id, team_id, unit_id)
        ON CONFLICT DO NOTHING
        """,
        [membership_id for membership_id, _, _ in memberships],
        community_id,
        [person_id for _, person_id, _ in memberships],
        [record.kind for record in records],
        [record.member_type for record in records],
        [_SKILL_SEPARATOR.join(record.skills) for record in records],
        [record.party_org_id for record in records],
        [record.team_id for record in records],
        [record.unit_id for record in records],
        _SKILL_SEPARATOR,
    )


async def _update_memberships(
    connection: asyncpg.Connection, memberships: list[tuple[uuid.UUID, MembershipRecord]]
) -> None:
    if not memberships:
        return
    await connection.execute(
        """
        UPDATE membership m SET member_type = c.member_type, skills = string_to_array(c.skills, $6),
            party_org_id = c.party_org_id, unit_id = c.unit_id
        FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[], $5::uuid[])
            AS c(id, member_type, skills, party_org_id, unit_id)
        WHERE m.id = c.id
        """,
        [membership_id for membership_id, _ in memberships],
        [record.member_type for _, record in memberships],
        [_SKILL_SEPARATOR.join(record.skills) for _, record in memberships],
        [record.party_org_id for _, record in memberships],
        [record.unit_id for _, record in memberships],
        _SKILL_SEPARATOR,
    )


def _join_events(community_id: uuid.UUID, plan: _Plan) -> list[AuditEvent]:
    new_ids = {person_id for person_id, _ in plan.new_people}
    joined: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for _, person_id, membership in plan.new_memberships:
        joined.setdefault(person_id, []).append(membership.described())
    events = []
    for person_id, record in plan.new_people:
        after = _created(record, joined.pop(person_id, []))
        events.append(AuditEvent(community_id, "person.created", "person", person_id, None, after))
    events += [
        AuditEvent(community_id, "membership.created", "person", person_id, None, {"memberships": memberships})
        for person_id, memberships in joined.items()
        if person_id not in new_ids
    ]
    return events


def _created(record: PersonRecord, memberships: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "name": record.name,
        "phone": None if record.phone is None else "***",
        "id_number_last4": record.id_last4,
        "household_id": record.household_id,
        "memberships": memberships,
    }


async def _open_accounts(
    connection: asyncpg.Connection,
    community_id: uuid.UUID,
    records: Sequence[PersonRecord],
    person_ids: dict[int, uuid.UUID],
    existing: dict[tuple[uuid.UUID, str, uuid.UUID], _Membership],
) -> int:
    """Open every member's accounts here (party members also get the party score); returns how many were new."""
    party_members = {person_id for person_id, kind, _ in existing if kind == "party_member"}
    party_members |= {person_ids[r.row] for r in records if any(m.kind == "party_member" for m in r.memberships)}
    accounts = [
        account
        for record in records
        if record.memberships
        for account in person_accounts(
            community_id, person_ids[record.row], party_member=person_ids[record.row] in party_members
        )
    ]
    already = await connection.fetchval(
        "SELECT count(*) FROM ledger_account WHERE id = ANY($1::uuid[])", [account.id for account in accounts]
    )
    await open_accounts(connection, accounts)
    return len(accounts) - int(already)


async def _grant_membership_roles(
    connection: asyncpg.Connection,
    community_id: uuid.UUID,
    records: Sequence[PersonRecord],
    person_ids: dict[int, uuid.UUID],
) -> int:
    grants = {
        (person_ids[record.row], _MEMBERSHIP_ROLES[membership.kind])
        for record in records
        for membership in record.memberships
        if membership.kind in _MEMBERSHIP_ROLES
    }
    if not grants:
        return 0
    created = await connection.fetch(
        """
        INSERT INTO role_grant (id, person_id, role, scope_kind, scope_id, community_id)
        SELECT gen_random_uuid(), person_id, role, kind, CASE kind WHEN 'self' THEN person_id ELSE $3 END, $3
        FROM unnest($1::uuid[], $2::text[]) AS g(person_id, role),
            LATERAL (SELECT CASE role WHEN 'resident' THEN 'self' ELSE 'community' END AS kind) AS s
        ON CONFLICT DO NOTHING RETURNING id
        """,
        [person_id for person_id, _ in grants],
        [role for _, role in grants],
        community_id,
    )
    return len(created)
