"""HTTP face of the time bank and of what volunteering gives back to people: coin accounts, gifts, donations and
grants; a month's earnings, balance history and the certificate; staff exports of hours."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from timebank.access.principal import Principal
from timebank.http.controllers.volunteering import DEPENDENCIES
from timebank.http.responses import created
from timebank.ledger import Asset
from timebank.volunteering import contracts as wire
from timebank.volunteering.exports import to_csv, to_xlsx
from timebank.volunteering.service import Volunteering

__all__ = ["TimeBankController"]

Month = Annotated[str, QueryParameter(pattern=r"^[0-9]{4}-[0-9]{2}$", description="YYYY-MM")]
From = Annotated[date, QueryParameter(name="from", description="first service day (China time)")]
To = Annotated[date, QueryParameter(name="to", description="last service day (China time)")]
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class TimeBankController(Controller):
    path = "/volunteering/communities/{community_id:uuid}"
    tags = ["time bank"]  # noqa: RUF012
    dependencies = DEPENDENCIES

    @get(
        "/people/{person_id:uuid}/time-bank",
        operation_id="GetCoinAccount",
        opt={"action": "volunteering.person.read"},
        summary="Coins held, the storage cap, and whether the person may redeem yet (age gate)",
    )
    async def coin_account(
        self,
        volunteering: NamedDependency[Volunteering],
        principal: NamedDependency[Principal],
        community_id: FromPath[uuid.UUID],
        person_id: FromPath[uuid.UUID],
    ) -> wire.CoinAccountResponse:
        return wire.CoinAccountResponse.of(await volunteering.coin_account(principal, community_id, person_id))

    @post(
        "/time-bank/gifts",
        operation_id="GiftCoins",
        opt={"action": "volunteering.gift"},
        summary="Gift coins to a verified lineal relative (idempotent by id)",
    )
    async def gift(
        self,
        volunteering: NamedDependency[Volunteering],
        principal: NamedDependency[Principal],
        community_id: FromPath[uuid.UUID],
        data: JSONBody[wire.GiftRequest],
    ) -> Response[wire.MovementResponse]:
        movement, is_new = await volunteering.move_coins(
            principal,
            community_id,
            id=data.id,
            kind="gift",
            amount=data.amount,
            from_person_id=data.from_person_id,
            to_person_id=data.to_person_id,
            memo=data.memo,
        )
        return created(wire.MovementResponse.of(movement), is_new)

    @post(
        "/time-bank/donations",
        operation_id="DonateCoins",
        opt={"action": "volunteering.donation"},
        summary="Donate coins to the community's pool (idempotent by id)",
    )
    async def donate(
        self,
        volunteering: NamedDependency[Volunteering],
        principal: NamedDependency[Principal],
        community_id: FromPath[uuid.UUID],
        data: JSONBody[wire.DonationRequest],
    ) -> Response[wire.MovementResponse]:
        movement, is_new = await volunteering.move_coins(
            principal,
            community_id,
            id=data.id,
            kind="donation",
            amount=data.amount,
            from_person_id=data.person_id,
            memo=data.memo,
        )
        return created(wire.MovementResponse.of(movement), is_new)

    @post(
        "/time-bank/grants",
        operation_id="GrantCoins",
        opt={"action": "volunteering.grant"},
        summary="Staff grant coins from the pool to a person in need (idempotent by id)",
    )
    async def grant(
        self,
        volunteering: NamedDependency[Volunteering],
        principal: NamedDependency[Principal],
        community_id: FromPath[uuid.UUID],
        data: JSONBody[wire.GrantRequest],
    ) -> Response[wire.MovementResponse]:
        movement, is_new = await volunteering.move_coins(
            principal,
            community_id,
            id=data.id,
            kind="grant",
            amount=data.amount,
            to_person_id=data.person_id,
            memo=data.memo,
        )
        return created(wire.MovementResponse.of(movement), is_new)

    @get(
        "/time-bank/grant-candidates",
        operation_id="ListGrantCandidates",
        opt={"action": "volunteering.grants.read"},
        summary="People in need in the order the pool serves them: solitary and bereaved elders first",
    )
    async def grant_candidates(
        self,
        volunteering: NamedDependency[Volunteering],
        principal: NamedDependency[Principal],
        community_id: FromPath[uuid.UUID],
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
    ) -> list[wire.GrantCandidateResponse]:
        found = await volunteering.grant_candidates(principal, community_id, limit=limit)
        return [wire.GrantCandidateResponse.of(c) for c in found]

    @get(
        "/people/{person_id:uuid}/earnings",
        operation_id="GetMonthEarnings",
        opt={"action": "volunteering.person.read"},
        summary="A month's earnings, activity by activity",
    )
    async def month_earnings(
        self,
        volunteering: NamedDependency[Volunteering],
        principal: NamedDependency[Principal],
        community_id: FromPath[uuid.UUID],
        person_id: FromPath[uuid.UUID],
        month: Month,
    ) -> wire.MonthEarningsResponse:
        year, number = (int(part) for part in month.split("-"))
        found = await volunteering.month_earnings(principal, community_id, person_id, year, number)
        return wire.MonthEarningsResponse(
            person_id=person_id, month=month, activities=[wire.ActivityEarningsResponse.of(a) for a in found]
        )

    @get(
        "/people/{person_id:uuid}/balance-history",
        operation_id="GetBalanceHistory",
        opt={"action": "volunteering.person.read"},
        summary="Entries of one of the person's accounts, each with the balance after it",
    )
    async def balance_history(
        self,
        volunteering: NamedDependency[Volunteering],
        principal: NamedDependency[Principal],
        community_id: FromPath[uuid.UUID],
        person_id: FromPath[uuid.UUID],
        asset: FromQuery[wire.AssetName] = "time_coins",
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
    ) -> list[wire.BalanceEntryResponse]:
        entries = await volunteering.balance_history(
            principal, community_id, person_id, Asset[asset], since=since, until=until, limit=limit
        )
        return [wire.BalanceEntryResponse.of(e) for e in entries]

    @get(
        "/people/{person_id:uuid}/certificate",
        operation_id="GetServiceCertificate",
        opt={"action": "volunteering.person.read"},
        media_type="application/pdf",
        summary="The volunteer service record certificate (志愿服务记录证明) as PDF",
    )
    async def certificate(
        self,
        volunteering: NamedDependency[Volunteering],
        principal: NamedDependency[Principal],
        community_id: FromPath[uuid.UUID],
        person_id: FromPath[uuid.UUID],
        period_from: From,
        period_to: To,
    ) -> Response[bytes]:
        data, pdf = await volunteering.certificate(principal, community_id, person_id, period_from, period_to)
        return Response(
            pdf,
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{data.serial}.pdf"'},
        )

    @get(
        "/hours-export",
        operation_id="ExportHours",
        opt={"action": "volunteering.hours.export"},
        media_type="text/csv",
        summary="Credited hours by person or by team over a period, as CSV or XLSX",
    )
    async def export(
        self,
        volunteering: NamedDependency[Volunteering],
        principal: NamedDependency[Principal],
        community_id: FromPath[uuid.UUID],
        period_from: From,
        period_to: To,
        group_by: FromQuery[Literal["person", "team"]] = "person",
        format: FromQuery[Literal["csv", "xlsx"]] = "csv",
    ) -> Response[bytes]:
        rows = await volunteering.hours_export(principal, community_id, group_by, period_from, period_to)
        name = f"hours-{group_by}-{period_from.isoformat()}-{period_to.isoformat()}"
        if format == "xlsx":
            body, media_type = to_xlsx(rows, group_by, title=f"{period_from}~{period_to}"), _XLSX
        else:
            body, media_type = to_csv(rows, group_by), "text/csv; charset=utf-8"
        return Response(
            body,
            media_type=media_type,
            headers={"Content-Disposition": f'attachment; filename="{name}.{format}"'},
        )
