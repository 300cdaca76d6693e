"""HTTP face of the assessment's records: deciding reported items, pledges, the star-rating list with its notice
period (公示), objections and their resolution.
"""

from __future__ import annotations

import uuid
from typing import Literal

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from timebank.access.principal import Principal
from timebank.db import Database
from timebank.http.controllers.scoring import scoring_bound
from timebank.http.responses import created
from timebank.scoring import campaign, ratings, recording
from timebank.scoring import contracts as wire
from timebank.scoring.entries import entries_of
from timebank.scoring.records import get_period

__all__ = ["ScoringRecordsController"]


class ScoringRecordsController(Controller):
    path = "/scoring"
    tags = ["party assessment"]  # noqa: RUF012

    # -- entries ---------------------------------------------------------------------------------------------------
    @get(
        "/periods/{period_id:uuid}/entries",
        operation_id="ListPeriodEntries",
        summary="Entries of the period by status, e.g. the reports waiting for a decision",
        opt={"action": "scoring.entries.read"},
    )
    async def period_entries(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        period_id: FromPath[uuid.UUID],
        status: FromQuery[Literal["submitted", "rejected", "posted", "reversed"]] = "submitted",
    ) -> list[wire.EntryResponse]:
        async with scoring_bound(database, principal) as connection:
            await get_period(connection, period_id)
            found = await entries_of(connection, period_id, status=status)
        return [wire.EntryResponse.of(e) for e in found]

    @post(
        "/entries/{entry_id:uuid}/approve",
        operation_id="ApproveScoreEntry",
        summary="Approve a member's report: it posts within the caps as they stand (again: a replay)",
        status_code=200,
        opt={"action": "scoring.entry.decide"},
    )
    async def approve(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        entry_id: FromPath[uuid.UUID],
        data: JSONBody[wire.DecisionRequest],
    ) -> wire.EntryResponse:
        async with scoring_bound(database, principal) as connection:
            entry = await recording.approve_entry(connection, principal, entry_id, note=data.note)
        return wire.EntryResponse.of(entry)

    @post(
        "/entries/{entry_id:uuid}/reject",
        operation_id="RejectScoreEntry",
        summary="Reject a member's report, saying why",
        status_code=200,
        opt={"action": "scoring.entry.decide"},
    )
    async def reject(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        entry_id: FromPath[uuid.UUID],
        data: JSONBody[wire.ReasonRequest],
    ) -> wire.EntryResponse:
        async with scoring_bound(database, principal) as connection:
            entry = await recording.reject_entry(connection, principal, entry_id, reason=data.reason)
        return wire.EntryResponse.of(entry)

    @post(
        "/entries/{entry_id:uuid}/reverse",
        operation_id="ReverseScoreEntry",
        summary="Correct a posted entry by reversing its transfer (community staff)",
        status_code=200,
        opt={"action": "scoring.entry.reverse"},
    )
    async def reverse(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        entry_id: FromPath[uuid.UUID],
        data: JSONBody[wire.ReasonRequest],
    ) -> wire.EntryResponse:
        async with scoring_bound(database, principal) as connection:
            entry = await recording.reverse_entry(connection, principal, entry_id, reason=data.reason)
        return wire.EntryResponse.of(entry)

    # -- 三亮三比 ---------------------------------------------------------------------------------------------------
    @get(
        "/periods/{period_id:uuid}/displays",
        operation_id="ListDisplays",
        summary="What the members show (亮身份 / 亮形象)",
        opt={"action": "scoring.period.read"},
    )
    async def displays(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        period_id: FromPath[uuid.UUID],
        person_id: FromQuery[uuid.UUID | None] = None,
    ) -> list[wire.DisplayResponse]:
        async with scoring_bound(database, principal) as connection:
            await get_period(connection, period_id)
            found = await campaign.displays_of(connection, period_id, person_id)
        return [wire.DisplayResponse.of(d) for d in found]

    @get(
        "/periods/{period_id:uuid}/pledges",
        operation_id="ListPledges",
        summary="The members' published pledges (亮承诺) and how they were kept",
        opt={"action": "scoring.period.read"},
    )
    async def pledges(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        period_id: FromPath[uuid.UUID],
        person_id: FromQuery[uuid.UUID | None] = None,
    ) -> list[wire.PledgeResponse]:
        async with scoring_bound(database, principal) as connection:
            await get_period(connection, period_id)
            found = await campaign.pledges_of(connection, period_id, person_id)
        return [wire.PledgeResponse.of(p) for p in found]

    @post(
        "/pledges/{pledge_id:uuid}/fulfilment",
        operation_id="ReportPledgeKept",
        summary="The member reports the pledge kept, with evidence",
        status_code=200,
        opt={"action": "scoring.pledge.report"},
    )
    async def report_pledge(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        pledge_id: FromPath[uuid.UUID],
        data: JSONBody[wire.FulfilmentRequest],
    ) -> wire.PledgeResponse:
        async with scoring_bound(database, principal) as connection:
            pledge = await campaign.report_fulfilment(connection, principal, pledge_id, evidence=tuple(data.evidence))
        return wire.PledgeResponse.of(pledge)

    @post(
        "/pledges/{pledge_id:uuid}/assessment",
        operation_id="AssessPledge",
        summary="The branch assesses the pledge from its 三评 reviews: kept scores, otherwise missed",
        status_code=200,
        opt={"action": "scoring.pledge.assess"},
    )
    async def assess_pledge(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        pledge_id: FromPath[uuid.UUID],
    ) -> wire.PledgeResponse:
        async with scoring_bound(database, principal) as connection:
            pledge = await campaign.assess_pledge(connection, principal, pledge_id)
        return wire.PledgeResponse.of(pledge)

    # -- ratings ---------------------------------------------------------------------------------------------------
    @post(
        "/periods/{period_id:uuid}/rating-list",
        operation_id="DraftRatingList",
        summary="Draft the closed period's star-rating list (one per period; again: a replay)",
        opt={"action": "scoring.ratings.draft"},
    )
    async def draft_list(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        period_id: FromPath[uuid.UUID],
        data: JSONBody[wire.RatingListDraftRequest],
    ) -> Response[wire.RatingListResponse]:
        async with scoring_bound(database, principal) as connection:
            drafted, is_new = await ratings.draft_list(connection, principal, period_id, id=data.id)
            found = await ratings.ratings_of(connection, drafted.id)
        return created(wire.RatingListResponse.of(drafted, found, []), is_new)

    @get(
        "/rating-lists/{list_id:uuid}",
        operation_id="GetRatingList",
        summary="A rating list with every member's stars and the objections filed",
        opt={"action": "scoring.ratings.read"},
    )
    async def get_list(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        list_id: FromPath[uuid.UUID],
    ) -> wire.RatingListResponse:
        async with scoring_bound(database, principal) as connection:
            found = await ratings.get_list(connection, list_id)
            rated = await ratings.ratings_of(connection, list_id)
            objections = await ratings.objections_of(connection, list_id)
        return wire.RatingListResponse.of(found, rated, objections)

    @post(
        "/rating-lists/{list_id:uuid}/publish",
        operation_id="PublishRatingList",
        summary="Publish the draft for its notice period (公示)",
        status_code=200,
        opt={"action": "scoring.ratings.write"},
    )
    async def publish_list(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        list_id: FromPath[uuid.UUID],
    ) -> wire.RatingListResponse:
        async with scoring_bound(database, principal) as connection:
            return wire.RatingListResponse.of(await ratings.publish_list(connection, principal, list_id))

    @post(
        "/rating-lists/{list_id:uuid}/finalise",
        operation_id="FinaliseRatingList",
        summary="Make the list final once the notice period is over and every objection resolved",
        status_code=200,
        opt={"action": "scoring.ratings.write"},
    )
    async def finalise_list(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        list_id: FromPath[uuid.UUID],
    ) -> wire.RatingListResponse:
        async with scoring_bound(database, principal) as connection:
            return wire.RatingListResponse.of(await ratings.finalise_list(connection, principal, list_id))

    @post(
        "/rating-lists/{list_id:uuid}/objections",
        operation_id="FileObjection",
        summary="Object to a member's rating during the notice period (idempotent by id)",
        opt={"action": "scoring.objection.file"},
    )
    async def file_objection(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        list_id: FromPath[uuid.UUID],
        data: JSONBody[wire.ObjectionRequest],
    ) -> Response[wire.ObjectionResponse]:
        async with scoring_bound(database, principal) as connection:
            objection, is_new = await ratings.file_objection(
                connection, principal, list_id, id=data.id, person_id=data.person_id, reason=data.reason
            )
        return created(wire.ObjectionResponse.of(objection), is_new)

    @post(
        "/objections/{objection_id:uuid}/resolution",
        operation_id="ResolveObjection",
        summary="The member's branch upholds (setting the stars) or dismisses an objection",
        status_code=200,
        opt={"action": "scoring.objection.resolve"},
    )
    async def resolve_objection(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        objection_id: FromPath[uuid.UUID],
        data: JSONBody[wire.ResolutionRequest],
    ) -> wire.ObjectionResponse:
        async with scoring_bound(database, principal) as connection:
            objection = await ratings.resolve_objection(
                connection,
                principal,
                objection_id,
                upheld=data.upheld,
                resolution=data.resolution,
                new_stars=data.new_stars,
            )
        return wire.ObjectionResponse.of(objection)
