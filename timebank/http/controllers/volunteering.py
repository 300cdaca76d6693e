"""HTTP face of volunteering: activities, sign-ups and the waitlist, check-in codes and attendance, the roster.

Who may call what is the access policy's (timebank/access/rules/volunteering.py); each handler names its action.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from timebank.access.principal import Principal
from timebank.db import Database
from timebank.http.responses import created
from timebank.keys import Keys
from timebank.ledger import LedgerService
from timebank.volunteering import contracts as wire
from timebank.volunteering.activities import NewActivity, get_activity, list_activities
from timebank.volunteering.service import Volunteering
from timebank.volunteering.signups import roster

__all__ = ["ActivitiesController", "provide_volunteering"]


def provide_volunteering(
    database: NamedDependency[Database], ledger: NamedDependency[LedgerService], keys: NamedDependency[Keys]
) -> Volunteering:
    return Volunteering(database.pool, ledger, check_in_key=keys.check_in)


#: Every volunteering controller gets the service this way.
DEPENDENCIES = {"volunteering": Provide(provide_volunteering, sync_to_thread=False)}


class ActivitiesController(Controller):
    path = "/volunteering"
    tags = ["volunteering"]  # noqa: RUF012
    dependencies = DEPENDENCIES

    @post(
        "/communities/{community_id:uuid}/activities",
        operation_id="PublishActivity",
        opt={"action": "volunteering.activity.publish"},
        summary="Publish an activity (idempotent by id)",
    )
    async def publish(
        self,
        volunteering: NamedDependency[Volunteering],
        principal: NamedDependency[Principal],
        community_id: FromPath[uuid.UUID],
        data: JSONBody[wire.ActivityPublishRequest],
    ) -> Response[wire.ActivityResponse]:
        fields = {**{f: getattr(data, f) for f in data.__struct_fields__}}
        fields["skills_wanted"], fields["tags"] = tuple(data.skills_wanted), tuple(data.tags)
        activity, is_new = await volunteering.publish(principal, community_id, NewActivity(**fields))
        return created(wire.ActivityResponse.of(activity), is_new)

    @get(
        "/communities/{community_id:uuid}/activities",
        operation_id="ListActivities",
        opt={"action": "volunteering.activities.read"},
        summary="Activities of a community in start order",
    )
    async def index(
        self,
        volunteering: NamedDependency[Volunteering],
        principal: NamedDependency[Principal],
        community_id: FromPath[uuid.UUID],
        starting_after: FromQuery[datetime | None] = None,
        starting_before: FromQuery[datetime | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> list[wire.ActivityResponse]:
        async with volunteering.bound(principal) as connection:
            found = await list_activities(
                connection, community_id, starting_after=starting_after, starting_before=starting_before, limit=limit
            )
        return [wire.ActivityResponse.of(a) for a in found]

    @get(
        "/activities/{activity_id:uuid}",
        operation_id="GetActivity",
        opt={"action": "volunteering.activity.read"},
        summary="An activity with its places taken and its waitlist",
    )
    async def read(
        self,
        volunteering: NamedDependency[Volunteering],
        principal: NamedDependency[Principal],
        activity_id: FromPath[uuid.UUID],
    ) -> wire.ActivityResponse:
        async with volunteering.bound(principal) as connection:
            return wire.ActivityResponse.of(await get_activity(connection, activity_id))

    @post(
        "/activities/{activity_id:uuid}/cancel",
        operation_id="CancelActivity",
        opt={"action": "volunteering.activity.cancel"},
        status_code=200,
        summary="Cancel an activity nobody has checked in to",
    )
    async def cancel(
        self,
        volunteering: NamedDependency[Volunteering],
        principal: NamedDependency[Principal],
        activity_id: FromPath[uuid.UUID],
    ) -> wire.ActivityResponse:
        return wire.ActivityResponse.of(await volunteering.cancel_activity(principal, activity_id))

    @post(
        "/activities/{activity_id:uuid}/signups",
        operation_id="SignUp",
        opt={"action": "volunteering.signup.create"},
        summary="Sign up: a place if one is free, else the waitlist (201 new, 200 unchanged)",
    )
    async def sign_up(
        self,
        volunteering: NamedDependency[Volunteering],
        principal: NamedDependency[Principal],
        activity_id: FromPath[uuid.UUID],
        data: JSONBody[wire.SignupRequest],
    ) -> Response[wire.SignupResponse]:
        signup, changed = await volunteering.sign_up(principal, activity_id, data.person_id)
        return created(wire.SignupResponse.of(signup), changed)

    @post(
        "/activities/{activity_id:uuid}/signups/{person_id:uuid}/cancel",
        operation_id="CancelSignup",
        opt={"action": "volunteering.signup.cancel"},
        status_code=200,
        summary="Give up a place; the first on the waitlist takes it",
    )
    async def cancel_signup(
        self,
        volunteering: NamedDependency[Volunteering],
        principal: NamedDependency[Principal],
        activity_id: FromPath[uuid.UUID],
        person_id: FromPath[uuid.UUID],
    ) -> wire.SignupResponse:
        return wire.SignupResponse.of(await volunteering.cancel_signup(principal, activity_id, person_id))

    @get(
        "/activities/{activity_id:uuid}/roster",
        operation_id="GetRoster",
        opt={"action": "volunteering.roster.read"},
        summary="Everyone signed up: enrolled, then the waitlist in order, then cancelled",
    )
    async def roster(
        self,
        volunteering: NamedDependency[Volunteering],
        principal: NamedDependency[Principal],
        activity_id: FromPath[uuid.UUID],
    ) -> list[wire.RosterEntryResponse]:
        async with volunteering.bound(principal) as connection:
            return [wire.RosterEntryResponse.of(entry) for entry in await roster(connection, activity_id)]

    @get(
        "/activities/{activity_id:uuid}/check-in-code",
        operation_id="GetCheckInCode",
        opt={"action": "volunteering.check_in_code"},
        summary="The rotating signed code the leader's phone shows as a QR code",
    )
    async def check_in_code(
        self,
        volunteering: NamedDependency[Volunteering],
        principal: NamedDependency[Principal],
        activity_id: FromPath[uuid.UUID],
    ) -> wire.CheckInCodeResponse:
        return wire.CheckInCodeResponse.of(await volunteering.check_in_code(principal, activity_id))

    @post(
        "/check-ins",
        operation_id="CheckIn",
        opt={"action": "volunteering.scan"},
        status_code=200,
        summary="A volunteer scans the leader's code to check in (scanning again keeps the first time)",
    )
    async def check_in(
        self,
        volunteering: NamedDependency[Volunteering],
        principal: NamedDependency[Principal],
        data: JSONBody[wire.ScanRequest],
    ) -> wire.SignupResponse:
        return wire.SignupResponse.of(await volunteering.check_in(principal, data.person_id, data.code))

    @post(
        "/check-outs",
        operation_id="CheckOut",
        opt={"action": "volunteering.scan"},
        status_code=200,
        summary="A volunteer scans the leader's code to check out",
    )
    async def check_out(
        self,
        volunteering: NamedDependency[Volunteering],
        principal: NamedDependency[Principal],
        data: JSONBody[wire.ScanRequest],
    ) -> wire.SignupResponse:
        return wire.SignupResponse.of(await volunteering.check_out(principal, data.person_id, data.code))

    @post(
        "/activities/{activity_id:uuid}/attendance/{person_id:uuid}",
        operation_id="RecordAttendance",
        opt={"action": "volunteering.attendance.record"},
        status_code=200,
        summary="The leader records when a volunteer without a phone came and went",
    )
    async def record_attendance(
        self,
        volunteering: NamedDependency[Volunteering],
        principal: NamedDependency[Principal],
        activity_id: FromPath[uuid.UUID],
        person_id: FromPath[uuid.UUID],
        data: JSONBody[wire.AttendanceRequest],
    ) -> wire.SignupResponse:
        signup = await volunteering.record_times(
            principal, activity_id, person_id, data.checked_in_at, data.checked_out_at
        )
        return wire.SignupResponse.of(signup)

    @post(
        "/activities/{activity_id:uuid}/roster/confirm",
        operation_id="ConfirmRoster",
        opt={"action": "volunteering.roster.confirm"},
        status_code=200,
        summary="Confirm attendance in bulk: one service record each, anomalies held for staff",
    )
    async def confirm(
        self,
        volunteering: NamedDependency[Volunteering],
        principal: NamedDependency[Principal],
        activity_id: FromPath[uuid.UUID],
        data: JSONBody[wire.RosterConfirmRequest],
    ) -> list[wire.ConfirmOutcomeResponse]:
        outcomes = await volunteering.confirm_roster(principal, activity_id, data.person_ids)
        return [wire.ConfirmOutcomeResponse.of(o) for o in outcomes]
