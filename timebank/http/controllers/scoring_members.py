"""HTTP face of one member's assessment in a period: items scored and reported, appraisal and veto, 三亮三比
displays, pledges and reviews, and the member's standing with the breakdown of their total.
"""

from __future__ import annotations

import uuid

from litestar import Controller, Response, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from timebank.access.principal import Principal
from timebank.db import Database
from timebank.errors import Forbidden
from timebank.http.controllers.scoring import scoring_bound
from timebank.http.responses import created
from timebank.scoring import boards, campaign, recording
from timebank.scoring import contracts as wire
from timebank.scoring.entries import entries_of
from timebank.scoring.records import card_of

__all__ = ["ScoringMembersController"]


def _as_member(principal: Principal, person_id: uuid.UUID) -> None:
    """Members act for themselves only; the path names who (the access rule checks it too)."""
    if principal.person_id != person_id:
        raise Forbidden("members report, pledge and show for themselves only", field="person_id")


class ScoringMembersController(Controller):
    path = "/scoring/periods/{period_id:uuid}/members/{person_id:uuid}"
    tags = ["party assessment"]  # noqa: RUF012

    @post(
        "/entries",
        operation_id="RecordScoreItem",
        summary="The branch scores an item of the member's, within its caps (idempotent by id)",
        opt={"action": "scoring.member.score"},
    )
    async def record_item(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        period_id: FromPath[uuid.UUID],
        person_id: FromPath[uuid.UUID],
        data: JSONBody[wire.EntryRecordRequest],
    ) -> Response[wire.EntryResponse]:
        async with scoring_bound(database, principal) as connection:
            entry, is_new = await recording.record_item(
                connection,
                principal,
                period_id,
                id=data.id,
                person_id=person_id,
                item_code=data.item_code,
                occurred_on=data.occurred_on,
                quantity=data.quantity,
                evidence=tuple(data.evidence),
                note=data.note,
            )
        return created(wire.EntryResponse.of(entry), is_new)

    @post(
        "/reports",
        operation_id="ReportScoreItem",
        summary="The member reports an item of their own, with evidence, for the branch to decide",
        opt={"action": "scoring.member.self"},
    )
    async def report_item(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        period_id: FromPath[uuid.UUID],
        person_id: FromPath[uuid.UUID],
        data: JSONBody[wire.EntryReportRequest],
    ) -> Response[wire.EntryResponse]:
        _as_member(principal, person_id)
        async with scoring_bound(database, principal) as connection:
            entry, is_new = await recording.submit_item(
                connection,
                principal,
                period_id,
                id=data.id,
                item_code=data.item_code,
                occurred_on=data.occurred_on,
                quantity=data.quantity,
                evidence=tuple(data.evidence),
                note=data.note,
            )
        return created(wire.EntryResponse.of(entry), is_new)

    @get(
        "/entries",
        operation_id="ListScoreEntries",
        summary="Every entry of the member's in the period: posted, capped, reported, rejected, reversed",
        opt={"action": "scoring.member.read"},
    )
    async def list_entries(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        period_id: FromPath[uuid.UUID],
        person_id: FromPath[uuid.UUID],
    ) -> list[wire.EntryResponse]:
        async with scoring_bound(database, principal) as connection:
            await card_of(connection, period_id, person_id)
            found = await entries_of(connection, period_id, person_id)
        return [wire.EntryResponse.of(e) for e in found]

    @get(
        "/standing",
        operation_id="GetScoreStanding",
        summary="The member's total, ranks in community, branch and building group, and the total item by item",
        opt={"action": "scoring.member.read"},
    )
    async def standing(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        period_id: FromPath[uuid.UUID],
        person_id: FromPath[uuid.UUID],
    ) -> wire.StandingResponse:
        async with scoring_bound(database, principal) as connection:
            return wire.StandingResponse.of(await boards.standing(connection, period_id, person_id))

    @post(
        "/appraisal",
        operation_id="RecordAppraisal",
        summary="The branch records the democratic appraisal (民主评议); the same points again is a replay",
        status_code=200,
        opt={"action": "scoring.member.score"},
    )
    async def appraisal(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        period_id: FromPath[uuid.UUID],
        person_id: FromPath[uuid.UUID],
        data: JSONBody[wire.AppraisalRequest],
    ) -> wire.EntryResponse:
        async with scoring_bound(database, principal) as connection:
            entry = await recording.record_appraisal(
                connection, principal, period_id, person_id=person_id, points=data.points
            )
        return wire.EntryResponse.of(entry)

    @post(
        "/veto",
        operation_id="VetoRating",
        summary="The branch vetoes the member's rating (一票否决): one star whatever the score",
        status_code=200,
        opt={"action": "scoring.member.score"},
    )
    async def veto(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        period_id: FromPath[uuid.UUID],
        person_id: FromPath[uuid.UUID],
        data: JSONBody[wire.ReasonRequest],
    ) -> wire.CardResponse:
        async with scoring_bound(database, principal) as connection:
            card = await recording.veto(connection, principal, period_id, person_id=person_id, reason=data.reason)
        return wire.view(card, wire.CardResponse)

    @put(
        "/displays/{kind:str}",
        operation_id="PublishDisplay",
        summary="The member shows their identity, image or another display kind of the community (亮身份 / 亮形象)",
        opt={"action": "scoring.member.self"},
    )
    async def publish_display(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        period_id: FromPath[uuid.UUID],
        person_id: FromPath[uuid.UUID],
        kind: FromPath[str],
        data: JSONBody[wire.DisplayRequest],
    ) -> wire.DisplayResponse:
        _as_member(principal, person_id)
        async with scoring_bound(database, principal) as connection:
            display = await campaign.publish_display(connection, principal, period_id, kind=kind, content=data.content)
        return wire.DisplayResponse.of(display)

    @post(
        "/pledges",
        operation_id="PublishPledge",
        summary="The member publishes a pledge due within the period (亮承诺; idempotent by id)",
        opt={"action": "scoring.member.self"},
    )
    async def publish_pledge(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        period_id: FromPath[uuid.UUID],
        person_id: FromPath[uuid.UUID],
        data: JSONBody[wire.PledgeRequest],
    ) -> Response[wire.PledgeResponse]:
        _as_member(principal, person_id)
        async with scoring_bound(database, principal) as connection:
            pledge, is_new = await campaign.publish_pledge(
                connection, principal, period_id, id=data.id, content=data.content, due_on=data.due_on
            )
        return created(wire.PledgeResponse.of(pledge), is_new)

    @post(
        "/reviews",
        operation_id="ReviewMember",
        summary="Review the member's pledge or one comparison (三评); one review per reviewer, never of oneself",
        opt={"action": "scoring.member.review"},
    )
    async def review(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        period_id: FromPath[uuid.UUID],
        person_id: FromPath[uuid.UUID],
        data: JSONBody[wire.ReviewRequest],
    ) -> Response[wire.ReviewResponse]:
        async with scoring_bound(database, principal) as connection:
            found, is_new = await campaign.review(
                connection,
                principal,
                id=data.id,
                period_id=period_id,
                person_id=person_id,
                score=data.score,
                pledge_id=data.pledge_id,
                compare_code=data.compare_code,
                comment=data.comment,
            )
        return created(wire.ReviewResponse.of(found), is_new)

    @get(
        "/reviews",
        operation_id="ListMemberReviews",
        summary="Every review of the member's pledges and comparisons in the period",
        opt={"action": "scoring.member.read"},
    )
    async def reviews(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        period_id: FromPath[uuid.UUID],
        person_id: FromPath[uuid.UUID],
    ) -> list[wire.ReviewResponse]:
        async with scoring_bound(database, principal) as connection:
            await card_of(connection, period_id, person_id)
            found = await campaign.reviews_of(connection, period_id, person_id)
        return [wire.ReviewResponse.of(r) for r in found]
