"""HTTP face of one need and one order: review a wish, place the order, suggestions, and the claim–done–rate cycle.

Who may call what is the access policy's (timebank/access/rules/marketplace.py); the services then check that the
caller is the requester, the claimer or the assignee where the step demands it.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from timebank.access.principal import Principal
from timebank.access.scoped import bound_for
from timebank.db import Database
from timebank.http.responses import created
from timebank.marketplace import claims, needs, order_store, orders, wishes
from timebank.marketplace import contracts as wire
from timebank.marketplace.matching import suggest_for_need
from timebank.marketplace.model import ClaimantKind, OrderMode

__all__ = ["NeedController", "OrderController"]


def _kind(value: str | None) -> ClaimantKind | None:
    return None if value is None else ClaimantKind(value)


class NeedController(Controller):
    path = "/marketplace/needs/{need_id:uuid}"
    tags = ["marketplace"]  # noqa: RUF012

    @get("", operation_id="GetNeed", opt={"action": "marketplace.need.read"})
    async def read(
        self, database: NamedDependency[Database], principal: NamedDependency[Principal], need_id: FromPath[uuid.UUID]
    ) -> wire.NeedResponse:
        async with bound_for(database.pool, principal) as connection:
            return wire.NeedResponse.of(await needs.get_need(connection, principal, need_id))

    @post("/withdraw", operation_id="WithdrawNeed", opt={"action": "marketplace.need.withdraw"}, status_code=200)
    async def withdraw(
        self, database: NamedDependency[Database], principal: NamedDependency[Principal], need_id: FromPath[uuid.UUID]
    ) -> wire.NeedResponse:
        """Take a need off the list before it became an order (the requester, their relative, or staff)."""
        async with bound_for(database.pool, principal) as connection:
            return wire.NeedResponse.of(await needs.withdraw_need(connection, principal, need_id))

    @post("/verify", operation_id="VerifyWish", opt={"action": "marketplace.wish.verify"}, status_code=200)
    async def verify(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        need_id: FromPath[uuid.UUID],
        data: JSONBody[wire.WishVerifyRequest],
    ) -> wire.WishReviewResponse:
        """Verify a micro-wish and publish it to the wish pool, opening its order for claiming."""
        async with bound_for(database.pool, principal) as connection:
            need, order = await wishes.verify_wish(
                connection, principal, need_id, note=data.note, accept_by=data.accept_by
            )
        return wire.WishReviewResponse(need=wire.NeedResponse.of(need), order=wire.OrderResponse.of(order))

    @post("/reject", operation_id="RejectWish", opt={"action": "marketplace.wish.reject"}, status_code=200)
    async def reject(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        need_id: FromPath[uuid.UUID],
        data: JSONBody[wire.WishRejectRequest],
    ) -> wire.WishReviewResponse:
        async with bound_for(database.pool, principal) as connection:
            need = await wishes.reject_wish(connection, principal, need_id, note=data.note)
        return wire.WishReviewResponse(need=wire.NeedResponse.of(need), order=None)

    @post("/orders", operation_id="PlaceOrder", opt={"action": "marketplace.order.place"})
    async def place(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        need_id: FromPath[uuid.UUID],
        data: JSONBody[wire.OrderPlaceRequest],
    ) -> Response[wire.OrderResponse]:
        """Dispatch the need to a person, team or unit (派单), or open it for claiming (idempotent by id)."""
        new = orders.NewOrder(
            id=data.id,
            need_id=need_id,
            mode=OrderMode(data.mode),
            assignee_kind=_kind(data.assignee_kind),
            assignee_id=data.assignee_id,
            project_id=data.project_id,
            accept_by=data.accept_by,
        )
        async with bound_for(database.pool, principal) as connection:
            order, is_new = await orders.place_order(connection, principal, new)
        return created(wire.OrderResponse.of(order), is_new)

    @get("/suggestions", operation_id="SuggestForNeed", opt={"action": "marketplace.need.suggestions"})
    async def suggestions(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        need_id: FromPath[uuid.UUID],
        limit: Annotated[int, QueryParameter(ge=1, le=50)] = 10,
    ) -> list[wire.SuggestionResponse]:
        """Who could take the need, best first, each with its reasons in plain words."""
        async with bound_for(database.pool, principal) as connection:
            found = await suggest_for_need(connection, need_id, limit=limit)
        return [wire.SuggestionResponse.of(s) for s in found]


class OrderController(Controller):
    path = "/marketplace/orders/{order_id:uuid}"
    tags = ["marketplace"]  # noqa: RUF012

    @get("", operation_id="GetOrder", opt={"action": "marketplace.order.read"})
    async def read(
        self, database: NamedDependency[Database], principal: NamedDependency[Principal], order_id: FromPath[uuid.UUID]
    ) -> wire.OrderResponse:
        async with bound_for(database.pool, principal) as connection:
            return wire.OrderResponse.of(await order_store.get_order(connection, order_id))

    @get("/events", operation_id="ListOrderEvents", opt={"action": "marketplace.order.events"})
    async def events(
        self, database: NamedDependency[Database], principal: NamedDependency[Principal], order_id: FromPath[uuid.UUID]
    ) -> list[wire.OrderEventResponse]:
        """Every transition of the order: who, when, from and to which status, at which tier."""
        async with bound_for(database.pool, principal) as connection:
            await order_store.get_order(connection, order_id)
            return [wire.OrderEventResponse.of(e) for e in await order_store.events_of(connection, order_id)]

    @post("/redirect", operation_id="RedirectOrder", opt={"action": "marketplace.order.redirect"}, status_code=200)
    async def redirect(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        order_id: FromPath[uuid.UUID],
        data: JSONBody[wire.OrderRedirectRequest],
    ) -> wire.OrderResponse:
        """Dispatch an unclaimed order to someone else, or open it for claiming."""
        async with bound_for(database.pool, principal) as connection:
            order = await orders.redirect_order(
                connection, principal, order_id, mode=OrderMode(data.mode), assignee_kind=_kind(data.assignee_kind),
                assignee_id=data.assignee_id, accept_by=data.accept_by,
            )  # fmt: skip
        return wire.OrderResponse.of(order)

    @post("/cancel", operation_id="CancelOrder", opt={"action": "marketplace.order.cancel"}, status_code=200)
    async def cancel(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        order_id: FromPath[uuid.UUID],
        data: JSONBody[wire.ReasonRequest],
    ) -> wire.OrderResponse:
        async with bound_for(database.pool, principal) as connection:
            return wire.OrderResponse.of(await orders.cancel_order(connection, principal, order_id, reason=data.reason))

    @post("/claims", operation_id="ClaimOrder", opt={"action": "marketplace.order.claim"})
    async def claim(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        order_id: FromPath[uuid.UUID],
        data: JSONBody[wire.ClaimRequest],
    ) -> Response[wire.OrderResponse]:
        """Accept the order (接单) for oneself, a team or a unit, alone or as a group; one live claim per order, so a
        second claimer gets 409 already-claimed. Idempotent by claim id."""
        new = claims.NewClaim(
            id=data.id,
            claimant_kind=ClaimantKind(data.claimant_kind),
            claimant_id=data.claimant_id,
            participants=tuple(data.participants),
        )
        async with bound_for(database.pool, principal) as connection:
            order, is_new = await claims.claim_order(connection, principal, order_id, new)
        return created(wire.OrderResponse.of(order), is_new)

    @post("/withdraw", operation_id="WithdrawClaim", opt={"action": "marketplace.order.withdraw"}, status_code=200)
    async def withdraw(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        order_id: FromPath[uuid.UUID],
        data: JSONBody[wire.ReasonRequest],
    ) -> wire.OrderResponse:
        """Give an accepted order back (the claimer), or revoke the claim (staff)."""
        async with bound_for(database.pool, principal) as connection:
            return wire.OrderResponse.of(
                await claims.withdraw_claim(connection, principal, order_id, reason=data.reason)
            )

    @post("/done", operation_id="MarkOrderDone", opt={"action": "marketplace.order.done"}, status_code=200)
    async def done(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        order_id: FromPath[uuid.UUID],
        data: JSONBody[wire.DoneRequest],
    ) -> wire.OrderResponse:
        """Report the work done, with proof (a description, photo URLs) and the minutes it took."""
        async with bound_for(database.pool, principal) as connection:
            order = await claims.mark_done(
                connection, principal, order_id, minutes=data.minutes, proof_text=data.proof_text,
                proof_urls=tuple(data.proof_urls),
            )  # fmt: skip
        return wire.OrderResponse.of(order)

    @post("/reopen", operation_id="ReopenOrder", opt={"action": "marketplace.order.reopen"}, status_code=200)
    async def reopen(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        order_id: FromPath[uuid.UUID],
        data: JSONBody[wire.ReasonRequest],
    ) -> wire.OrderResponse:
        """The requester disputes the work; it goes back to the claimer."""
        async with bound_for(database.pool, principal) as connection:
            return wire.OrderResponse.of(await claims.reopen_order(connection, principal, order_id, reason=data.reason))

    @post("/rating", operation_id="RateOrder", opt={"action": "marketplace.order.rate"}, status_code=200)
    async def rate(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        order_id: FromPath[uuid.UUID],
        data: JSONBody[wire.RatingRequest],
    ) -> wire.OrderResponse:
        """Confirm and rate the work 1–5 (评单): the order closes and pays, once."""
        async with bound_for(database.pool, principal) as connection:
            order = await claims.rate_order(connection, principal, order_id, rating=data.rating, comment=data.comment)
        return wire.OrderResponse.of(order)
