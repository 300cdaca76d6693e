"""HTTP face of service records: listing, approval in bulk, amending and rejecting, corrections, and the
earning policy's versions."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from timebank.access.principal import Principal
from timebank.http.controllers.volunteering import DEPENDENCIES
from timebank.http.responses import created
from timebank.volunteering import contracts as wire
from timebank.volunteering.records import get_record, list_records
from timebank.volunteering.service import Volunteering

__all__ = ["ServiceRecordsController"]

RecordStatus = Literal["confirmed", "held", "approved", "credited", "rejected", "corrected"]


class ServiceRecordsController(Controller):
    path = "/volunteering"
    tags = ["volunteering"]  # noqa: RUF012
    dependencies = DEPENDENCIES

    @get(
        "/communities/{community_id:uuid}/service-records",
        operation_id="ListServiceRecords",
        opt={"action": "volunteering.records.read"},
        summary="Service records of a community, e.g. those held for staff",
    )
    async def index(
        self,
        volunteering: NamedDependency[Volunteering],
        principal: NamedDependency[Principal],
        community_id: FromPath[uuid.UUID],
        status: FromQuery[RecordStatus | None] = None,
        person_id: FromQuery[uuid.UUID | None] = None,
        activity_id: FromQuery[uuid.UUID | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
    ) -> list[wire.ServiceRecordResponse]:
        async with volunteering.bound(principal) as connection:
            found = await list_records(
                connection, community_id, person_id=person_id, activity_id=activity_id, status=status, limit=limit
            )
        return [wire.ServiceRecordResponse.of(r) for r in found]

    @post(
        "/communities/{community_id:uuid}/service-records/approve",
        operation_id="ApproveServiceRecords",
        opt={"action": "volunteering.records.approve"},
        status_code=200,
        summary="Approve records: each is credited as one linked chain; approving twice credits once",
    )
    async def approve(
        self,
        volunteering: NamedDependency[Volunteering],
        principal: NamedDependency[Principal],
        community_id: FromPath[uuid.UUID],
        data: JSONBody[wire.ApproveRequest],
    ) -> list[wire.ApprovalOutcomeResponse]:
        outcomes = await volunteering.approve(
            principal, data.record_ids, acknowledge_anomalies=data.acknowledge_anomalies, community_id=community_id
        )
        return [wire.ApprovalOutcomeResponse.of(o) for o in outcomes]

    @get(
        "/service-records/{record_id:uuid}",
        operation_id="GetServiceRecord",
        opt={"action": "volunteering.record.read"},
        summary="A service record",
    )
    async def read(
        self,
        volunteering: NamedDependency[Volunteering],
        principal: NamedDependency[Principal],
        record_id: FromPath[uuid.UUID],
    ) -> wire.ServiceRecordResponse:
        async with volunteering.bound(principal) as connection:
            return wire.ServiceRecordResponse.of(await get_record(connection, record_id))

    @post(
        "/service-records/{record_id:uuid}/amend",
        operation_id="AmendServiceRecord",
        opt={"action": "volunteering.record.amend"},
        status_code=200,
        summary="Staff set the times of a record not yet credited; anomalies are judged again",
    )
    async def amend(
        self,
        volunteering: NamedDependency[Volunteering],
        principal: NamedDependency[Principal],
        record_id: FromPath[uuid.UUID],
        data: JSONBody[wire.AmendRequest],
    ) -> wire.ServiceRecordResponse:
        record = await volunteering.amend(principal, record_id, data.started_at, data.ended_at, data.note)
        return wire.ServiceRecordResponse.of(record)

    @post(
        "/service-records/{record_id:uuid}/reject",
        operation_id="RejectServiceRecord",
        opt={"action": "volunteering.record.reject"},
        status_code=200,
        summary="Staff reject a record that is not volunteer service",
    )
    async def reject(
        self,
        volunteering: NamedDependency[Volunteering],
        principal: NamedDependency[Principal],
        record_id: FromPath[uuid.UUID],
        data: JSONBody[wire.RejectRequest],
    ) -> wire.ServiceRecordResponse:
        return wire.ServiceRecordResponse.of(await volunteering.reject(principal, record_id, data.note))

    @post(
        "/service-records/{record_id:uuid}/corrections",
        operation_id="RequestCorrection",
        opt={"action": "volunteering.correction.request"},
        summary="The volunteer asks to correct a credited record (201 new, 200 replay)",
    )
    async def request_correction(
        self,
        volunteering: NamedDependency[Volunteering],
        principal: NamedDependency[Principal],
        record_id: FromPath[uuid.UUID],
        data: JSONBody[wire.CorrectionRequest],
    ) -> Response[wire.CorrectionResponse]:
        correction, is_new = await volunteering.request_correction(
            principal,
            id=data.id,
            record_id=record_id,
            started_at=data.started_at,
            ended_at=data.ended_at,
            reason=data.reason,
        )
        return created(wire.CorrectionResponse.of(correction), is_new)

    @post(
        "/corrections/{correction_id:uuid}/approve",
        operation_id="ApproveCorrection",
        opt={"action": "volunteering.correction.decide"},
        status_code=200,
        summary="Reverse the original credits and post the corrected record's, both records kept",
    )
    async def approve_correction(
        self,
        volunteering: NamedDependency[Volunteering],
        principal: NamedDependency[Principal],
        correction_id: FromPath[uuid.UUID],
    ) -> wire.CorrectionResponse:
        return wire.CorrectionResponse.of(await volunteering.approve_correction(principal, correction_id))

    @post(
        "/corrections/{correction_id:uuid}/reject",
        operation_id="RejectCorrection",
        opt={"action": "volunteering.correction.decide"},
        status_code=200,
        summary="Refuse a correction request",
    )
    async def reject_correction(
        self,
        volunteering: NamedDependency[Volunteering],
        principal: NamedDependency[Principal],
        correction_id: FromPath[uuid.UUID],
        data: JSONBody[wire.RejectRequest],
    ) -> wire.CorrectionResponse:
        correction = await volunteering.reject_correction(principal, correction_id, data.note)
        return wire.CorrectionResponse.of(correction)

    @get(
        "/communities/{community_id:uuid}/earning-policy",
        operation_id="ListEarningPolicyVersions",
        opt={"action": "volunteering.policy.read"},
        summary="Every version of the community's earning policy, oldest first",
    )
    async def policy_versions(
        self,
        volunteering: NamedDependency[Volunteering],
        principal: NamedDependency[Principal],
        community_id: FromPath[uuid.UUID],
    ) -> list[wire.PolicyResponse]:
        return [wire.PolicyResponse.of(p) for p in await volunteering.policy_versions(principal, community_id)]

    @post(
        "/communities/{community_id:uuid}/earning-policy",
        operation_id="WriteEarningPolicyVersion",
        opt={"action": "volunteering.policy.write"},
        summary="Append the next version (201 new, 200 replay); it may not reach back over credited service",
    )
    async def write_policy(
        self,
        volunteering: NamedDependency[Volunteering],
        principal: NamedDependency[Principal],
        community_id: FromPath[uuid.UUID],
        data: JSONBody[wire.PolicyWriteRequest],
    ) -> Response[wire.PolicyResponse]:
        policy, is_new = await volunteering.write_policy(
            principal,
            community_id,
            version=data.version,
            valid_from=data.valid_from,
            valid_until=data.valid_until,
            rules=data.rules(),
        )
        return created(wire.PolicyResponse.of(policy), is_new)
