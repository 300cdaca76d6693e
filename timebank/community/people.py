"""People and their memberships: registering a person, joining and leaving, reading one or a page of them.

Every function runs on a connection the caller bound to the principal's communities (``timebank.db.bound``), so a
person of another community is simply not found. Joining opens the member's ledger accounts on the same
transaction: a member never exists without their accounts, nor accounts without a member.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import date

import asyncpg

from timebank.access.principal import Principal
from timebank.community import audit
from timebank.community.accounts import open_accounts, person_accounts
from timebank.errors import Conflict, InvalidInput, NotFound

__all__ = [
    "Membership",
    "NewMembership",
    "NewPerson",
    "Person",
    "get_person",
    "join",
    "leave",
    "list_people",
    "memberships_of",
    "register_person",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class NewPerson:
    """A person to register; ``id`` is chosen by the client, so retrying the same request registers once."""

    id: uuid.UUID
    name: str
    phone: str | None = None
    id_number_hash: bytes | None = None
    id_number_last4: str | None = None
    birth_date: date | None = None
    household_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Person:
    id: uuid.UUID
    community_id: uuid.UUID
    name: str
    phone: str | None
    id_number_last4: str | None
    birth_date: date | None
    household_id: uuid.UUID | None


@dataclass(frozen=True, slots=True, kw_only=True)
class NewMembership:
    id: uuid.UUID
    person_id: uuid.UUID
    kind: str
    skills: tuple[str, ...] = ()
    member_type: str | None = None
    party_org_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None
    unit_id: uuid.UUID | None = None
    joined_on: date | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Membership:
    id: uuid.UUID
    community_id: uuid.UUID
    person_id: uuid.UUID
    kind: str
    skills: tuple[str, ...]
    member_type: str | None
    party_org_id: uuid.UUID | None
    team_id: uuid.UUID | None
    unit_id: uuid.UUID | None
    joined_on: date
    left_on: date | None


_PERSON_COLUMNS = "id, community_id, name, phone, id_number_last4, birth_date, household_id"
_MEMBERSHIP_COLUMNS = (
    "id, community_id, person_id, kind, skills, member_type, party_org_id, team_id, unit_id, joined_on, left_on"
)


def _person(row: asyncpg.Record) -> Person:
    return Person(**dict(row))


def _membership(row: asyncpg.Record) -> Membership:
    values = dict(row)
    values["skills"] = tuple(values["skills"])
    return Membership(**values)


async def register_person(
    connection: asyncpg.Connection, actor: Principal, community_id: uuid.UUID, new: NewPerson
) -> tuple[Person, bool]:
    """Register a resident of ``community_id`` and open their accounts; returns the person and whether it is new.

    Raises:
        Conflict: the id was used for another person, or the ID number is already registered.
        NotFound: the household is not in this community.
    """
    inserted = await connection.fetchrow(
        f"""
        INSERT INTO person (id, community_id, name, phone, id_number_hash, id_number_last4, birth_date, household_id)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        ON CONFLICT DO NOTHING
        RETURNING {_PERSON_COLUMNS}
        """,
        new.id,
        community_id,
        new.name,
        new.phone,
        new.id_number_hash,
        new.id_number_last4,
        new.birth_date,
        new.household_id,
    )
    if inserted is None:
        return await _replayed_registration(connection, community_id, new), False
    person = _person(inserted)
    await join(
        connection,
        actor,
        community_id,
        NewMembership(id=_derived_id(person.id, "resident"), person_id=person.id, kind="resident"),
    )
    await audit.record(
        connection,
        actor,
        community_id=community_id,
        action="register",
        entity="person",
        entity_id=person.id,
        after=_audit_view(person),
    )
    return person, True


async def _replayed_registration(connection: asyncpg.Connection, community_id: uuid.UUID, new: NewPerson) -> Person:
    row = await connection.fetchrow(f"SELECT {_PERSON_COLUMNS}, id_number_hash FROM person WHERE id = $1", new.id)
    if row is None:
        # The id is free, so the ID number clashed: the person is registered already, perhaps elsewhere.
        raise Conflict("a person with this ID number is already registered", field="id_number")
    same = (
        row["community_id"] == community_id
        and row["name"] == new.name
        and row["phone"] == new.phone
        and row["id_number_hash"] == new.id_number_hash
        and row["birth_date"] == new.birth_date
        and row["household_id"] == new.household_id
    )
    if not same:
        raise Conflict("this person id was used for a different person", field="id", id=str(new.id))
    values = dict(row)
    del values["id_number_hash"]
    return Person(**values)


async def get_person(connection: asyncpg.Connection, person_id: uuid.UUID) -> Person:
    row = await connection.fetchrow(f"SELECT {_PERSON_COLUMNS} FROM person WHERE id = $1", person_id)
    if row is None:
        raise NotFound("no such person", person_id=str(person_id))
    return _person(row)


async def list_people(
    connection: asyncpg.Connection,
    community_id: uuid.UUID,
    *,
    name_contains: str | None = None,
    kind: str | None = None,
    after: uuid.UUID | None = None,
    limit: int = 50,
) -> list[Person]:
    """People of a community (residents and members through a membership there), in id order, a page at a time."""
    rows = await connection.fetch(
        f"""
        SELECT {_PERSON_COLUMNS} FROM person p
        WHERE (p.community_id = $1 OR EXISTS (
                SELECT 1 FROM membership m WHERE m.person_id = p.id AND m.community_id = $1 AND m.left_on IS NULL))
          AND ($2::text IS NULL OR strpos(p.name, $2) > 0)
          AND ($3::text IS NULL OR EXISTS (
                SELECT 1 FROM membership m
                WHERE m.person_id = p.id AND m.community_id = $1 AND m.kind = $3 AND m.left_on IS NULL))
          AND ($4::uuid IS NULL OR p.id > $4)
        ORDER BY p.id
        LIMIT $5
        """,
        community_id,
        name_contains,
        kind,
        after,
        limit,
    )
    return [_person(row) for row in rows]


async def memberships_of(connection: asyncpg.Connection, person_id: uuid.UUID) -> list[Membership]:
    rows = await connection.fetch(
        f"SELECT {_MEMBERSHIP_COLUMNS} FROM membership WHERE person_id = $1 ORDER BY joined_on, id", person_id
    )
    return [_membership(row) for row in rows]


async def join(
    connection: asyncpg.Connection, actor: Principal, community_id: uuid.UUID, new: NewMembership
) -> tuple[Membership, bool]:
    """Give a person a membership in ``community_id`` and open the accounts it needs, in one transaction.

    Idempotent by membership id; an active membership of the same kind (and team or unit) answers Conflict.
    """
    if await connection.fetchval("SELECT 1 FROM person WHERE id = $1", new.person_id) is None:
        raise NotFound("no such person", field="person_id", person_id=str(new.person_id))
    try:
        async with connection.transaction():
            row = await connection.fetchrow(
                f"""
                INSERT INTO membership
                    (id, community_id, person_id, kind, skills, member_type, party_org_id, team_id, unit_id, joined_on)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, coalesce($10, current_date))
                ON CONFLICT (id) DO NOTHING
                RETURNING {_MEMBERSHIP_COLUMNS}
                """,
                new.id,
                community_id,
                new.person_id,
                new.kind,
                list(new.skills),
                new.member_type,
                new.party_org_id,
                new.team_id,
                new.unit_id,
                new.joined_on,
            )
    except asyncpg.UniqueViolationError:
        raise Conflict(
            f"the person already has an active {new.kind} membership here", field="kind", kind=new.kind
        ) from None
    except asyncpg.ForeignKeyViolationError as exc:
        raise NotFound(
            "a referenced team, unit or party organisation is not in this community", field=_foreign_key_field(exc)
        ) from None
    except asyncpg.CheckViolationError as exc:
        raise InvalidInput(f"the membership is inconsistent ({exc.constraint_name})", field="kind") from None
    if row is None:
        existing = await connection.fetchrow(f"SELECT {_MEMBERSHIP_COLUMNS} FROM membership WHERE id = $1", new.id)
        if existing is None or existing["person_id"] != new.person_id or existing["kind"] != new.kind:
            raise Conflict("this membership id was used for another membership", field="id", id=str(new.id))
        return _membership(existing), False
    membership = _membership(row)
    party_member = new.kind == "party_member"
    await open_accounts(connection, person_accounts(community_id, new.person_id, party_member=party_member))
    await audit.record(
        connection,
        actor,
        community_id=community_id,
        action="join",
        entity="membership",
        entity_id=membership.id,
        after=_audit_view(membership),
    )
    return membership, True


async def leave(
    connection: asyncpg.Connection, actor: Principal, membership_id: uuid.UUID, on: date | None = None
) -> Membership:
    """End a membership; the person's accounts stay open so their history and balances stay readable."""
    before = await connection.fetchrow(
        f"SELECT {_MEMBERSHIP_COLUMNS} FROM membership WHERE id = $1 FOR UPDATE", membership_id
    )
    if before is None:
        raise NotFound("no such membership", membership_id=str(membership_id))
    if before["left_on"] is not None:
        return _membership(before)
    if on is not None and on < before["joined_on"]:
        raise InvalidInput("a membership cannot end before it began", field="left_on")
    row = await connection.fetchrow(
        f"UPDATE membership SET left_on = coalesce($2, current_date) WHERE id = $1 RETURNING {_MEMBERSHIP_COLUMNS}",
        membership_id,
        on,
    )
    membership = _membership(row)
    await audit.record(
        connection,
        actor,
        community_id=membership.community_id,
        action="leave",
        entity="membership",
        entity_id=membership.id,
        before=_audit_view(_membership(before)),
        after=_audit_view(membership),
    )
    return membership


def _derived_id(person_id: uuid.UUID, purpose: str) -> uuid.UUID:
    return uuid.uuid5(person_id, purpose)


def _foreign_key_field(exc: asyncpg.ForeignKeyViolationError) -> str:
    constraint = exc.constraint_name or ""
    for column in ("party_org_id", "team_id", "unit_id", "person_id"):
        if column.removesuffix("_id") in constraint:
            return column
    return "community_id"


def _audit_view(value: Person | Membership) -> dict[str, object]:
    view = {key: (str(item) if isinstance(item, uuid.UUID | date) else item) for key, item in asdict(value).items()}
    if view.get("phone"):
        view["phone"] = "***"  # the audit log shows that a phone changed, never the number
    return view
