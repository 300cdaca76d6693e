"""The claimer's and the requester's steps: claim (接单), withdraw, done with proof, reopen, rate and close (评单).

Claiming is decided by the database: the order moves from dispatched or open to accepted only if it is still in one
of those states when its row is locked, and a unique index allows one live claim per order, so of two claimers racing
for one order exactly one wins and the other gets AlreadyClaimed. Closing writes the ledger chain on the same
transaction as the status change, so an order is paid exactly once, or not closed at all.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from timebank.access.principal import Principal
from timebank.errors import Conflict, Forbidden, InvalidInput, NotFound, RuleViolation
from timebank.marketplace import acting, crediting, party_score
from timebank.marketplace.errors import AlreadyClaimed, ClaimDeadlinePassed, OrderNotInState
from timebank.marketplace.model import (
    ClaimantKind,
    OrderMode,
    OrderStatus,
    Settlement,
    credited_minutes,
    plan_credits,
    score_bonuses,
)
from timebank.marketplace.order_store import Order, encode_score_credits, get_claim, get_order, lock_order, move
from timebank.marketplace.orders import end_claim
from timebank.marketplace.policy import policy_version
from timebank.scoring.model import local_day

__all__ = ["NewClaim", "claim_order", "mark_done", "rate_order", "reopen_order", "withdraw_claim"]

_MAX_PARTICIPANTS = 50


@dataclass(frozen=True, slots=True, kw_only=True)
class NewClaim:
    """A claim; ``id`` is the client's, so a retry claims once. A group claim names several participants."""

    id: uuid.UUID
    claimant_kind: ClaimantKind = ClaimantKind.person
    #: The team or unit claimed for; for a person, the caller.
    claimant_id: uuid.UUID | None = None
    #: Who does the work and is credited; the caller when empty.
    participants: tuple[uuid.UUID, ...] = ()


async def _need(connection: asyncpg.Connection, need_id: uuid.UUID) -> asyncpg.Record:
    row = await connection.fetchrow(
        "SELECT id, kind, title, requester_id, settlement, est_minutes FROM need WHERE id = $1", need_id
    )
    if row is None:  # the order's foreign key keeps its need
        raise NotFound("no such need", need_id=str(need_id))
    return row


async def _speaks_for_claimant(
    connection: asyncpg.Connection, actor: Principal, kind: ClaimantKind, claimant_id: uuid.UUID
) -> bool:
    """The caller themselves, a member or leader of the team, or the unit's admin or staff."""
    if kind is ClaimantKind.person:
        return actor.person_id == claimant_id
    if kind is ClaimantKind.unit and acting.speaks_for_unit(actor, claimant_id):
        return True
    if kind is ClaimantKind.team and await acting.speaks_for_team(connection, actor, claimant_id):
        return True
    column, kinds = ("team_id", ["team_member", "team_leader"]) if kind is ClaimantKind.team else ("unit_id", None)
    return bool(
        await connection.fetchval(
            f"""
            SELECT EXISTS (SELECT 1 FROM membership WHERE person_id = $1 AND {column} = $2 AND left_on IS NULL
                           AND ($3::text[] IS NULL OR kind = ANY ($3)))
            """,
            actor.person_id,
            claimant_id,
            kinds,
        )
    )


async def claim_order(
    connection: asyncpg.Connection, actor: Principal, order_id: uuid.UUID, new: NewClaim
) -> tuple[Order, bool]:
    """Accept an order for oneself, a team or a unit; returns the order and whether the claim is new.

    Raises:
        AlreadyClaimed: another claim is live on the order (the race's loser).
        OrderNotInState: the order is not waiting for a claimer.
        ClaimDeadlinePassed: the deadline to accept has passed.
        Forbidden: the caller may not claim it (not the assignee, not a member, the requester themselves).
        CoinsDoNotCover: time-bank help whose requester can no longer pay (the coins are held now).
    """
    if actor.person_id is None:
        raise Forbidden("a claim is made by a person")
    replayed = await get_claim(connection, new.id)
    if replayed is not None:
        if replayed.order_id != order_id or replayed.claimed_by != actor.person_id:
            raise Conflict("this claim id was used for another claim", field="id", id=str(new.id))
        return await get_order(connection, order_id), False
    order = await get_order(connection, order_id)
    need = await _need(connection, order.need_id)
    claimant_id = new.claimant_id or actor.person_id
    participants = tuple(dict.fromkeys(new.participants or (actor.person_id,)))
    await _check_claimant(connection, actor, order, need, new.claimant_kind, claimant_id, participants)
    # One savepoint: a refusal part-way (deadline, lost race, coins) leaves nothing of the claim behind.
    async with connection.transaction():
        try:
            order = await move(
                connection,
                actor,
                order_id,
                from_states=(OrderStatus.dispatched, OrderStatus.open),
                to=OrderStatus.accepted,
                action="claim",
                stamp=("accepted_at",),
                detail={
                    "claim_id": str(new.id),
                    "claimant_kind": new.claimant_kind.value,
                    "claimant_id": str(claimant_id),
                    "participants": [str(p) for p in participants],
                },
            )
        except OrderNotInState:
            if await connection.fetchval(
                "SELECT EXISTS (SELECT 1 FROM order_claim WHERE order_id = $1 AND status = 'live')", order_id
            ):
                raise AlreadyClaimed("someone else claimed this order first", order_id=str(order_id)) from None
            raise
        if order.accepted_at is not None and order.accepted_at > order.accept_by:
            raise ClaimDeadlinePassed(
                "the order had to be accepted by " + order.accept_by.isoformat(), accept_by=order.accept_by.isoformat()
            )
        try:
            async with connection.transaction():
                await connection.execute(
                    """
                    INSERT INTO order_claim (id, community_id, order_id, claimant_kind, claimant_id, claimed_by, status)
                    VALUES ($1, $2, $3, $4, $5, $6, 'live')
                    """,
                    new.id,
                    order.community_id,
                    order_id,
                    new.claimant_kind.value,
                    claimant_id,
                    actor.person_id,
                )
        except asyncpg.UniqueViolationError:
            raise AlreadyClaimed("someone else claimed this order first", order_id=str(order_id)) from None
        await connection.executemany(
            "INSERT INTO order_participant (community_id, claim_id, person_id) VALUES ($1, $2, $3)",
            [(order.community_id, new.id, person) for person in participants],
        )
        if need["settlement"] == Settlement.time_bank:
            policy = await policy_version(connection, order.community_id, order.policy_version)
            hold = crediting.hold_coins(
                community_id=order.community_id,
                claim_id=new.id,
                order_id=order_id,
                requester_id=need["requester_id"],
                helper_id=actor.person_id,
                amount=need["est_minutes"] * policy.coins_per_minute,
                policy_version=order.policy_version,
            )
            await crediting.write(connection, [hold], what="the hold on the requester's coins")
            await connection.execute("UPDATE order_claim SET hold_transfer_id = $2 WHERE id = $1", new.id, hold.id)
    return await get_order(connection, order_id), True


async def _check_claimant(
    connection: asyncpg.Connection,
    actor: Principal,
    order: Order,
    need: asyncpg.Record,
    kind: ClaimantKind,
    claimant_id: uuid.UUID,
    participants: tuple[uuid.UUID, ...],
) -> None:
    if order.mode == OrderMode.directed and (order.assignee_kind, order.assignee_id) != (kind.value, claimant_id):
        raise Forbidden(f"this order is dispatched to a {order.assignee_kind}, not to this claimant")
    if not await _speaks_for_claimant(connection, actor, kind, claimant_id):
        raise Forbidden(f"the caller does not speak for this {kind.value}")
    if need["requester_id"] is not None and need["requester_id"] in (actor.person_id, *participants):
        raise RuleViolation("a requester cannot claim their own need", field="participants")
    if len(participants) > _MAX_PARTICIPANTS:
        raise InvalidInput(f"a group claim names at most {_MAX_PARTICIPANTS} people", field="participants")
    if need["settlement"] == Settlement.time_bank and (kind is not ClaimantKind.person or len(participants) != 1):
        raise InvalidInput("time-bank help is claimed by one person for themselves", field="participants")
    for person in participants:
        if not await acting.is_member(connection, person, order.community_id):
            raise NotFound("a participant is not a member of this community", field="participants")


def _is_worker(actor: Principal, order: Order) -> bool:
    claim = order.claim
    return (
        claim is not None
        and claim.status == "live"
        and actor.person_id is not None
        and (actor.person_id == claim.claimed_by or actor.person_id in claim.participants)
    )


async def withdraw_claim(
    connection: asyncpg.Connection, actor: Principal, order_id: uuid.UUID, *, reason: str
) -> Order:
    """The claimer gives an accepted order back (or staff revoke the claim); it waits for a claimer again.

    Raises:
        Forbidden: neither the claimer nor staff.
        OrderNotInState: the order is not accepted (done work is reopened or rated, not withdrawn).
    """
    order = await lock_order(connection, order_id)
    staff = acting.can_dispatch(actor, order.community_id)
    acting.require(_is_worker(actor, order) or staff, "only the claimer or staff give a claim back")
    if order.status != OrderStatus.accepted or order.claim is None:
        raise OrderNotInState(f"the order is {order.status}; only an accepted order is given back", status=order.status)
    # The hold's release and the move back commit together.
    async with connection.transaction():
        own = actor.person_id in (order.claim.claimed_by, *order.claim.participants)
        await end_claim(connection, order, order.claim.id, status="withdrawn" if own else "revoked", reason=reason)
        back = OrderStatus.dispatched if order.mode == OrderMode.directed else OrderStatus.open
        return await move(
            connection,
            actor,
            order_id,
            from_states=(OrderStatus.accepted,),
            to=back,
            action="withdraw" if own else "revoke",
            sets={"accepted_at": None},
            detail={"claim_id": str(order.claim.id), "reason": reason},
        )


async def mark_done(
    connection: asyncpg.Connection,
    actor: Principal,
    order_id: uuid.UUID,
    *,
    minutes: int,
    proof_text: str,
    proof_urls: tuple[str, ...] = (),
) -> Order:
    """The claimer reports the work done, with proof (text and photo URLs) and the minutes it took.

    Reporting the same again is a no-op; a different report of a done order is a conflict.
    """
    order = await lock_order(connection, order_id)
    acting.require(_is_worker(actor, order), "only whoever holds the claim reports the work done")
    if order.status == OrderStatus.done:
        if (order.done_minutes, order.proof_text, order.proof_urls) != (minutes, proof_text, proof_urls):
            raise Conflict("the order is reported done already, differently", field="proof_text")
        return order
    if not proof_text.strip() and not proof_urls:
        raise InvalidInput("done needs proof: a description or a photo", field="proof_text")
    return await move(
        connection,
        actor,
        order_id,
        from_states=(OrderStatus.accepted,),
        to=OrderStatus.done,
        action="done",
        sets={"done_minutes": minutes, "proof_text": proof_text, "proof_urls": list(proof_urls)},
        stamp=("done_at",),
        detail={"minutes": minutes, "proof_text": proof_text, "proof_urls": list(proof_urls)},
    )


async def reopen_order(connection: asyncpg.Connection, actor: Principal, order_id: uuid.UUID, *, reason: str) -> Order:
    """The requester disputes the work: the order goes back to the claimer, who reports it done again."""
    order = await lock_order(connection, order_id)
    need = await _need(connection, order.need_id)
    acting.require(
        await acting.speaks_for_requester(connection, actor, order.community_id, need["requester_id"]),
        "only the requester, their proxy or staff dispute the work",
    )
    return await move(
        connection,
        actor,
        order_id,
        from_states=(OrderStatus.done,),
        to=OrderStatus.accepted,
        action="reopen",
        sets={"done_at": None, "done_minutes": None, "proof_text": None, "proof_urls": []},
        detail={"reason": reason, "reported_minutes": order.done_minutes, "proof_text": order.proof_text},
    )


async def rate_order(
    connection: asyncpg.Connection, actor: Principal, order_id: uuid.UUID, *, rating: int, comment: str = ""
) -> Order:
    """The requester confirms the work and rates it 1–5: the order closes and pays, in one linked chain, once; the
    party members' score bonus is scored in the party assessment on the same transaction.

    Rating a closed order again with the same rating is a no-op.

    Raises:
        Forbidden: the caller is not the requester, their verified relative, or staff on their behalf.
        OrderNotInState: the work is not reported done.
        CoinsDoNotCover, RuleViolation: the ledger refused the chain (nothing is closed then).
    """
    if not 1 <= rating <= 5:
        raise InvalidInput("a rating is 1 to 5", field="rating")
    order = await lock_order(connection, order_id)
    need = await _need(connection, order.need_id)
    acting.require(
        await acting.speaks_for_requester(connection, actor, order.community_id, need["requester_id"]),
        "only the requester, their proxy or staff rate the work",
    )
    if order.status == OrderStatus.closed:
        if (order.rating, order.rating_comment) != (rating, comment):
            raise Conflict("the order is rated already, differently", field="rating", rating=order.rating)
        return order
    if order.status != OrderStatus.done or order.claim is None or order.done_minutes is None:
        raise OrderNotInState(f"the order is {order.status}; only done work is rated", status=order.status)
    claim = order.claim
    policy = await policy_version(connection, order.community_id, order.policy_version)
    # The participants are credited, the claimer first (for time-bank help, the only one).
    helpers = sorted(claim.participants, key=lambda person: person != claim.claimed_by)
    settlement = Settlement(need["settlement"])
    credits = plan_credits(
        settlement=settlement,
        minutes=credited_minutes(order.done_minutes, need["est_minutes"]),
        coins_per_minute=policy.coins_per_minute,
        points_per_hour=policy.points_per_hour,
        participants=helpers,
    )
    bonuses = score_bonuses(
        settlement=settlement,
        rating=rating,
        score_bonus=policy.score_bonus,
        bonus_min_rating=policy.bonus_min_rating,
        party_members=await party_score.party_members(connection, order.community_id, helpers),
    )
    # One savepoint: the chain, the budget, the party score and the close commit together or not at all.
    async with connection.transaction():
        payer_unit = await _spend_project_budget(
            connection, order, sum(c.amount for c in credits if c.purpose == "points")
        )
        chain = crediting.close_chain(
            community_id=order.community_id,
            order_id=order_id,
            credits=credits,
            policy_version=order.policy_version,
            hold_id=claim.hold_transfer_id,
            points_payer_unit=payer_unit,
        )
        await crediting.write(connection, chain, what="the credits of the closed order")
        # Scored in the period of the day the work was done (the communities' calendar day).
        scored = await party_score.credit_bonuses(
            connection,
            community_id=order.community_id,
            order_id=order_id,
            bonuses=bonuses,
            occurred_on=local_day(order.done_at or datetime.now(UTC)),
        )
        closed = await move(
            connection,
            actor,
            order_id,
            from_states=(OrderStatus.done,),
            to=OrderStatus.closed,
            action="rate",
            sets={
                "rating": rating,
                "rating_comment": comment,
                "rated_by": actor.person_id,
                "credit_transfer_ids": [t.id for t in chain],
                "score_credits": encode_score_credits(scored),
            },
            stamp=("closed_at",),
            detail={
                "rating": rating,
                "comment": comment,
                "credits": [
                    {"person_id": str(c.person_id), "asset": c.asset.name, "amount": c.amount, "purpose": c.purpose}
                    for c in credits
                ],
                "party_score": [
                    {"person_id": str(c.person_id), "units": c.units, "outcome": c.outcome, "amount": c.amount}
                    for c in scored
                ],
            },
        )
        await connection.execute(
            "UPDATE order_claim SET status = 'completed', ended_at = now() WHERE id = $1 AND status = 'live'", claim.id
        )
        await connection.execute("UPDATE need SET status = 'fulfilled' WHERE id = $1", order.need_id)
    return await get_order(connection, closed.id)


async def _spend_project_budget(connection: asyncpg.Connection, order: Order, points: int) -> uuid.UUID | None:
    """When the order serves a project with a points budget, its points come from the unit: count them against it."""
    if order.project_id is None:
        return None
    project = await connection.fetchrow(
        "SELECT unit_id, points_budget FROM project WHERE id = $1 FOR UPDATE", order.project_id
    )
    if project is None or project["points_budget"] is None:
        return None
    try:
        async with connection.transaction():
            await connection.execute(
                "UPDATE project SET points_spent = points_spent + $2 WHERE id = $1", order.project_id, points
            )
    except asyncpg.CheckViolationError:
        raise RuleViolation(
            "the project's points budget does not cover this order", field="project_id", points=points
        ) from None
    unit_id: uuid.UUID = project["unit_id"]
    return unit_id
