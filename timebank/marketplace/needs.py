"""The need list (需求清单) and micro-wishes (微心愿): raising, withdrawing, reading with the requester's name masked.

A need is published when raised. A micro-wish carries a value within the policy's cap and waits for staff to verify
it (``timebank.marketplace.wishes``) before it is published. The requester's (for a wish: the beneficiary's) name
shows in full only to staff, to the requester and their verified relatives, and to whoever holds the claim.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from timebank.access.principal import Principal, Role
from timebank.community import audit
from timebank.errors import Conflict, InvalidInput, NotFound
from timebank.marketplace import acting
from timebank.marketplace.errors import OrderNotInState, WishOverValueCap
from timebank.marketplace.listing import Page, page_clause
from timebank.marketplace.model import NeedKind, NeedStatus, Settlement, mask_name
from timebank.marketplace.policy import policy_at
from timebank.marketplace.time_bank import check_may_spend

__all__ = [
    "NeedFilter",
    "NeedView",
    "NewNeed",
    "get_need",
    "list_needs",
    "raise_need",
    "withdraw_need",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class NewNeed:
    """A need or micro-wish to raise; ``id`` is the client's, so a retry raises it once."""

    id: uuid.UUID
    kind: NeedKind
    category: str
    title: str
    description: str = ""
    skills: tuple[str, ...] = ()
    requester_id: uuid.UUID | None = None
    household_id: uuid.UUID | None = None
    building_id: uuid.UUID | None = None
    compound_id: uuid.UUID | None = None
    urgency: str = "routine"
    preferred_from: datetime | None = None
    preferred_until: datetime | None = None
    est_minutes: int = 60
    settlement: Settlement = Settlement.public_good
    value_yuan: int | None = None
    source: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class NeedView:
    """A need as one viewer may see it: ``requester_name`` is masked unless the viewer may know it."""

    id: uuid.UUID
    community_id: uuid.UUID
    kind: str
    category: str
    title: str
    description: str
    skills: tuple[str, ...]
    requester_id: uuid.UUID | None
    requester_name: str | None
    name_masked: bool
    household_id: uuid.UUID | None
    building_id: uuid.UUID | None
    compound_id: uuid.UUID | None
    urgency: str
    preferred_from: datetime | None
    preferred_until: datetime | None
    est_minutes: int
    settlement: str
    value_yuan: int | None
    source: str
    status: str
    raised_by: uuid.UUID | None
    raised_at: datetime
    reviewed_by: uuid.UUID | None
    reviewed_at: datetime | None
    review_note: str
    order_id: uuid.UUID | None


@dataclass(frozen=True, slots=True, kw_only=True)
class NeedFilter:
    kind: str | None = None
    category: str | None = None
    status: str | None = None
    compound_id: uuid.UUID | None = None
    building_id: uuid.UUID | None = None
    requester_id: uuid.UUID | None = None
    text: str | None = None


_SELECT = """
    SELECT n.id, n.community_id, n.kind, n.category, n.title, n.description, n.skills, n.requester_id,
        p.name AS requester_name, n.household_id, n.building_id, n.compound_id, n.urgency, n.preferred_from,
        n.preferred_until, n.est_minutes, n.settlement, n.value_yuan, n.source, n.status, n.raised_by, n.raised_at,
        n.reviewed_by, n.reviewed_at, n.review_note, o.id AS order_id,
        -- Whoever holds (or held, to the end) the claim on this need's order may know whose need it is.
        EXISTS (
            SELECT 1 FROM order_claim c LEFT JOIN order_participant op ON op.claim_id = c.id
            WHERE c.order_id = o.id AND c.status IN ('live', 'completed') AND $1::uuid IN (c.claimed_by, op.person_id)
        ) AS viewer_claims
    FROM need n
    LEFT JOIN person p ON p.id = n.requester_id
    LEFT JOIN service_order o ON o.need_id = n.id AND o.status <> 'cancelled'
"""


async def _view(connection: asyncpg.Connection, viewer: Principal, row: asyncpg.Record) -> NeedView:
    values = dict(row)
    claims = values.pop("viewer_claims")
    reveal = (
        claims
        or acting.can_dispatch(viewer, row["community_id"])
        or (viewer.person_id is not None and viewer.person_id in (row["requester_id"], row["raised_by"]))
        or (
            viewer.person_id is not None
            and row["requester_id"] is not None
            and await acting.speaks_for_requester(connection, viewer, row["community_id"], row["requester_id"])
        )
    )
    name = values["requester_name"]
    masked = name is not None and not reveal
    values["requester_name"] = mask_name(name) if masked else name
    values["skills"] = tuple(values["skills"])
    return NeedView(**values, name_masked=masked)


def _source(actor: Principal, community_id: uuid.UUID, given: str | None) -> str:
    if given is not None:
        return given
    if acting.is_staff(actor, community_id):
        return "staff"
    if actor.holds(Role.grid_worker, community_id=community_id):
        return "grid_worker"
    return "resident"


async def raise_need(
    connection: asyncpg.Connection, actor: Principal, community_id: uuid.UUID, new: NewNeed
) -> tuple[NeedView, bool]:
    """Raise a need (published at once) or a micro-wish (waiting for staff); returns it and whether it is new.

    A resident raises for themselves; staff, grid workers and verified relatives raise for a requester.

    Raises:
        Forbidden: the caller may not speak for the requester.
        WishOverValueCap: a wish is worth more than the policy allows.
        InvalidInput: a field contradicts another (a wish without a value, time-bank help without minutes).
        NotFound: the requester or the place is not in this community.
        Conflict: the id was used for a different need.
    """
    requester_id = new.requester_id or actor.person_id
    acting.require(
        await acting.speaks_for_requester(connection, actor, community_id, requester_id),
        "a resident raises needs for themselves; staff, grid workers and verified relatives for others",
    )
    _check(new, requester_id)
    if requester_id is not None and not await acting.is_member(connection, requester_id, community_id):
        raise NotFound("the requester is not a member of this community", field="requester_id")
    if new.settlement is Settlement.time_bank and requester_id is not None:
        await check_may_spend(connection, community_id, requester_id)
    if new.kind is NeedKind.micro_wish:
        policy = await policy_at(connection, community_id, datetime.now(UTC))
        if new.value_yuan is not None and new.value_yuan > policy.wish_value_cap_yuan:
            raise WishOverValueCap(
                f"a micro-wish is worth at most ¥{policy.wish_value_cap_yuan}",
                field="value_yuan",
                cap=policy.wish_value_cap_yuan,
                policy_version=policy.version,
            )
    status = NeedStatus.pending_review if new.kind is NeedKind.micro_wish else NeedStatus.published
    try:
        async with connection.transaction():
            inserted = await connection.fetchval(
                """
                INSERT INTO need (id, community_id, kind, category, title, description, skills, compound_id,
                    building_id, household_id, urgency, preferred_from, preferred_until, est_minutes, settlement,
                    value_yuan, requester_id, raised_by, source, status)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
                ON CONFLICT (id) DO NOTHING
                RETURNING id
                """,
                new.id,
                community_id,
                new.kind.value,
                new.category,
                new.title,
                new.description,
                list(new.skills),
                new.compound_id,
                new.building_id,
                new.household_id,
                new.urgency,
                new.preferred_from,
                new.preferred_until,
                new.est_minutes,
                new.settlement.value,
                new.value_yuan,
                requester_id,
                actor.person_id,
                _source(actor, community_id, new.source),
                status.value,
            )
    except asyncpg.ForeignKeyViolationError:
        raise NotFound("the place is not in this community", field="household_id") from None
    except asyncpg.CheckViolationError as exc:
        raise InvalidInput(f"the need is inconsistent ({exc.constraint_name})", field="settlement") from None
    need = await get_need(connection, actor, new.id)
    if inserted is None:
        same = (need.community_id, need.kind, need.title, need.requester_id, need.value_yuan) == (
            community_id,
            new.kind.value,
            new.title,
            requester_id,
            new.value_yuan,
        )
        if not same:
            raise Conflict("this need id was used for a different need", field="id", id=str(new.id))
        return need, False
    await audit.record(
        connection, actor, community_id=community_id, action="raise", entity="need", entity_id=new.id,
        after={"kind": need.kind, "category": need.category, "title": need.title, "status": need.status},
    )  # fmt: skip
    return need, True


def _check(new: NewNeed, requester_id: uuid.UUID | None) -> None:
    if new.kind is NeedKind.micro_wish:
        if new.value_yuan is None:
            raise InvalidInput("a micro-wish states its value in yuan", field="value_yuan")
        if requester_id is None:
            raise InvalidInput("a micro-wish names its beneficiary", field="requester_id")
    elif new.value_yuan is not None:
        raise InvalidInput("only a micro-wish carries a value", field="value_yuan")
    if new.settlement is Settlement.time_bank:
        if new.kind is NeedKind.micro_wish:
            raise InvalidInput("a micro-wish is a gift, never paid in time coins", field="settlement")
        if new.est_minutes <= 0 or requester_id is None:
            raise InvalidInput("time-bank help names its requester and the minutes offered", field="est_minutes")
    if new.preferred_from and new.preferred_until and new.preferred_until < new.preferred_from:
        raise InvalidInput("the preferred time ends before it starts", field="preferred_until")


async def withdraw_need(connection: asyncpg.Connection, actor: Principal, need_id: uuid.UUID) -> NeedView:
    """Take a need off the list before it became an order (withdrawing twice is a no-op).

    Raises:
        Forbidden: the caller is neither its requester (or their proxy) nor staff.
        OrderNotInState: an order is under way; cancel the order first.
    """
    row = await connection.fetchrow(
        "SELECT community_id, requester_id, status FROM need WHERE id = $1 FOR UPDATE", need_id
    )
    if row is None:
        raise NotFound("no such need", need_id=str(need_id))
    acting.require(
        await acting.speaks_for_requester(connection, actor, row["community_id"], row["requester_id"]),
        "only the requester, their proxy or staff withdraw a need",
    )
    if row["status"] == NeedStatus.withdrawn:
        return await get_need(connection, actor, need_id)
    if row["status"] not in (NeedStatus.pending_review, NeedStatus.published):
        raise OrderNotInState(f"the need is {row['status']}; cancel its order first", status=row["status"])
    await connection.execute("UPDATE need SET status = 'withdrawn' WHERE id = $1", need_id)
    await audit.record(
        connection, actor, community_id=row["community_id"], action="withdraw", entity="need", entity_id=need_id,
        before={"status": row["status"]}, after={"status": "withdrawn"},
    )  # fmt: skip
    return await get_need(connection, actor, need_id)


async def get_need(connection: asyncpg.Connection, viewer: Principal, need_id: uuid.UUID) -> NeedView:
    row = await connection.fetchrow(f"{_SELECT} WHERE n.id = $2", viewer.person_id, need_id)
    if row is None:
        raise NotFound("no such need", need_id=str(need_id))
    return await _view(connection, viewer, row)


async def list_needs(
    connection: asyncpg.Connection,
    viewer: Principal,
    community_id: uuid.UUID,
    where: NeedFilter,
    *,
    before: uuid.UUID | None = None,
    limit: int = 50,
) -> Page[NeedView]:
    """Needs of a community, newest first. Wishes waiting for review show only to staff and their requesters."""
    reviewer = acting.can_dispatch(viewer, community_id)
    rows = await connection.fetch(
        f"""
        {_SELECT}
        WHERE n.community_id = $2
          AND ($3::text IS NULL OR n.kind = $3)
          AND ($4::text IS NULL OR n.category = $4)
          AND ($5::text IS NULL OR n.status = $5)
          AND ($6::uuid IS NULL OR n.compound_id = $6)
          AND ($7::uuid IS NULL OR n.building_id = $7)
          AND ($8::uuid IS NULL OR n.requester_id = $8)
          AND ($9::text IS NULL OR strpos(n.title, $9) > 0 OR strpos(n.description, $9) > 0)
          AND ($10 OR n.status NOT IN ('pending_review', 'rejected') OR $1::uuid IN (n.requester_id, n.raised_by))
          AND {page_clause("need", "$11", stamp="raised_at", alias="n")}
        ORDER BY n.raised_at DESC, n.id DESC
        LIMIT $12
        """,
        viewer.person_id,
        community_id,
        where.kind,
        where.category,
        where.status,
        where.compound_id,
        where.building_id,
        where.requester_id,
        where.text,
        reviewer,
        before,
        limit,
    )
    return Page.of([await _view(connection, viewer, row) for row in rows], limit)
