"""Volunteering's use cases, each in transactions bound to the caller's communities.

Approval is two short transactions around one ledger call: plan the credits (and mark the record approved), post
them as a linked chain, then settle the record. A crash between the steps leaves an approved record whose plan
the next approval (or :meth:`Volunteering.settle_pending`) posts again, finding what the ledger already holds.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import asyncpg

from timebank.access.principal import Principal
from timebank.access.scoped import bound_for
from timebank.errors import NotFound, TimebankError
from timebank.ledger import Asset, LedgerService
from timebank.volunteering import (
    activities,
    attendance,
    certificate,
    corrections,
    crediting,
    exports,
    records,
    signups,
    statements,
    time_bank,
)
from timebank.volunteering.checkin_codes import CheckInCode, issue_code
from timebank.volunteering.policy import EarningPolicy, PolicyRules, policy_versions, write_policy
from timebank.volunteering.posting import post_chain
from timebank.volunteering.records import ConfirmOutcome, ServiceRecord

__all__ = ["ApprovalOutcome", "Volunteering"]

#: Who approves when the policy approves automatically.
SYSTEM = Principal.system("auto-approval")


@dataclass(frozen=True, slots=True, kw_only=True)
class ApprovalOutcome:
    """One record of a bulk approval: its status afterwards, or the problem code that refused it."""

    record_id: uuid.UUID
    status: str | None
    problem: str | None = None
    detail: str | None = None


def _now() -> datetime:
    return datetime.now(UTC)


class Volunteering:
    """Activities, attendance, records and their crediting. Give it the application pool and the ledger."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        ledger: LedgerService,
        *,
        check_in_key: bytes,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.pool = pool
        self.ledger = ledger
        self.check_in_key = check_in_key
        self.clock = clock

    def bound(self, actor: Principal) -> contextlib.AbstractAsyncContextManager[asyncpg.Connection]:
        return bound_for(self.pool, actor)

    # -- activities and sign-ups -------------------------------------------------------------------------------
    async def publish(
        self, actor: Principal, community_id: uuid.UUID, new: activities.NewActivity
    ) -> tuple[activities.Activity, bool]:
        async with self.bound(actor) as connection:
            return await activities.publish_activity(connection, actor, community_id, new)

    async def cancel_activity(self, actor: Principal, activity_id: uuid.UUID) -> activities.Activity:
        async with self.bound(actor) as connection:
            return await activities.cancel_activity(connection, actor, activity_id)

    async def sign_up(
        self, actor: Principal, activity_id: uuid.UUID, person_id: uuid.UUID
    ) -> tuple[signups.Signup, bool]:
        async with self.bound(actor) as connection:
            return await signups.sign_up(connection, actor, activity_id, person_id, self.clock())

    async def cancel_signup(self, actor: Principal, activity_id: uuid.UUID, person_id: uuid.UUID) -> signups.Signup:
        async with self.bound(actor) as connection:
            return await signups.cancel_signup(connection, actor, activity_id, person_id)

    # -- attendance --------------------------------------------------------------------------------------------
    async def check_in_code(self, actor: Principal, activity_id: uuid.UUID) -> CheckInCode:
        async with self.bound(actor) as connection:
            await activities.get_activity(connection, activity_id)
        return issue_code(self.check_in_key, activity_id, self.clock())

    async def check_in(self, actor: Principal, person_id: uuid.UUID, payload: str) -> signups.Signup:
        async with self.bound(actor) as connection:
            return await attendance.check_in_by_code(connection, self.check_in_key, person_id, payload, self.clock())

    async def check_out(self, actor: Principal, person_id: uuid.UUID, payload: str) -> signups.Signup:
        async with self.bound(actor) as connection:
            return await attendance.check_out_by_code(connection, self.check_in_key, person_id, payload, self.clock())

    async def record_times(
        self,
        actor: Principal,
        activity_id: uuid.UUID,
        person_id: uuid.UUID,
        checked_in_at: datetime,
        checked_out_at: datetime | None,
    ) -> signups.Signup:
        async with self.bound(actor) as connection:
            return await attendance.record_times(
                connection,
                actor,
                activity_id,
                person_id,
                checked_in_at=checked_in_at,
                checked_out_at=checked_out_at,
                now=self.clock(),
            )

    # -- records -----------------------------------------------------------------------------------------------
    async def confirm_roster(
        self, actor: Principal, activity_id: uuid.UUID, person_ids: Sequence[uuid.UUID] | None = None
    ) -> list[ConfirmOutcome]:
        """Confirm attendance; when the policy approves automatically, the clean records are credited at once."""
        async with self.bound(actor) as connection:
            outcomes = await records.confirm_roster(connection, actor, activity_id, person_ids)
            automatic = await connection.fetch(
                """
                SELECT r.id FROM service_record r JOIN earning_policy p
                    ON p.community_id = r.community_id AND p.version = (
                        SELECT max(version) FROM earning_policy q
                        WHERE q.community_id = r.community_id AND q.valid_from <= r.started_at)
                WHERE r.id = ANY($1::uuid[]) AND r.status = 'confirmed' AND p.auto_approve
                """,
                [o.record_id for o in outcomes if o.outcome == "confirmed"],
            )
        for row in automatic:
            await self._approve_one(SYSTEM, row["id"], acknowledge_anomalies=False)
        return outcomes

    async def approve(
        self,
        actor: Principal,
        record_ids: Sequence[uuid.UUID],
        *,
        acknowledge_anomalies: bool = False,
        community_id: uuid.UUID | None = None,
    ) -> list[ApprovalOutcome]:
        """Approve records one by one; each answers for itself, so one held record does not stop the rest."""
        outcomes = []
        for record_id in dict.fromkeys(record_ids):
            try:
                record = await self._approve_one(
                    actor, record_id, acknowledge_anomalies=acknowledge_anomalies, community_id=community_id
                )
            except TimebankError as exc:
                outcomes.append(ApprovalOutcome(record_id=record_id, status=None, problem=exc.code, detail=exc.detail))
            else:
                outcomes.append(ApprovalOutcome(record_id=record_id, status=record.status))
        return outcomes

    async def approve_one(
        self, actor: Principal, record_id: uuid.UUID, *, acknowledge_anomalies: bool = False
    ) -> ServiceRecord:
        return await self._approve_one(actor, record_id, acknowledge_anomalies=acknowledge_anomalies)

    async def _approve_one(
        self,
        actor: Principal,
        record_id: uuid.UUID,
        *,
        acknowledge_anomalies: bool,
        community_id: uuid.UUID | None = None,
    ) -> ServiceRecord:
        async with self.bound(actor) as connection:
            planned = await crediting.plan_approval(
                connection, actor, record_id, acknowledge_anomalies=acknowledge_anomalies, community_id=community_id
            )
            if not planned:
                return await records.get_record(connection, record_id)
        failure = await post_chain(self.ledger, planned)
        async with self.bound(actor) as connection:
            return await crediting.settle(connection, record_id, failure)

    async def settle_pending(self, actor: Principal, *, limit: int = 100) -> int:
        """Post what a crash left planned but unposted (approved records, time bank movements); returns how many."""
        async with self.bound(actor) as connection:
            rows = await connection.fetch(
                "SELECT id FROM service_record WHERE status = 'approved' ORDER BY approved_at LIMIT $1", limit
            )
        for row in rows:
            await self._approve_one(actor, row["id"], acknowledge_anomalies=False)
        async with self.bound(actor) as connection:
            movements = await connection.fetch(
                "SELECT id FROM time_bank_movement WHERE status = 'planned' ORDER BY created_at LIMIT $1", limit
            )
        for row in movements:
            async with self.bound(actor) as connection:
                movement = await time_bank.get_movement(connection, row["id"])
            failure = await post_chain(self.ledger, [movement.planned()])
            async with self.bound(actor) as connection:
                await time_bank.settle_movement(connection, movement.id, failure)
        return len(rows) + len(movements)

    async def amend(
        self, actor: Principal, record_id: uuid.UUID, started_at: datetime, ended_at: datetime, note: str = ""
    ) -> ServiceRecord:
        async with self.bound(actor) as connection:
            return await records.amend_record(
                connection, actor, record_id, started_at=started_at, ended_at=ended_at, note=note
            )

    async def reject(self, actor: Principal, record_id: uuid.UUID, note: str) -> ServiceRecord:
        async with self.bound(actor) as connection:
            return await records.reject_record(connection, actor, record_id, note=note)

    # -- corrections -------------------------------------------------------------------------------------------
    async def request_correction(
        self,
        actor: Principal,
        *,
        id: uuid.UUID,
        record_id: uuid.UUID,
        started_at: datetime,
        ended_at: datetime,
        reason: str,
    ) -> tuple[corrections.Correction, bool]:
        async with self.bound(actor) as connection:
            return await corrections.request_correction(
                connection,
                actor,
                id=id,
                record_id=record_id,
                started_at=started_at,
                ended_at=ended_at,
                reason=reason,
                now=self.clock(),
            )

    async def approve_correction(self, actor: Principal, correction_id: uuid.UUID) -> corrections.Correction:
        """Reverse the original credits and post the corrected ones, as one chain; approving twice posts once."""
        async with self.bound(actor) as connection:
            correction, planned = await corrections.plan_correction(connection, actor, correction_id)
        if not planned:
            return correction
        failure = await post_chain(self.ledger, planned)
        async with self.bound(actor) as connection:
            return await corrections.settle_correction(connection, correction_id, failure)

    async def reject_correction(
        self, actor: Principal, correction_id: uuid.UUID, reason: str
    ) -> corrections.Correction:
        async with self.bound(actor) as connection:
            return await corrections.reject_correction(connection, actor, correction_id, reason=reason)

    # -- the time bank -----------------------------------------------------------------------------------------
    async def move_coins(
        self,
        actor: Principal,
        community_id: uuid.UUID,
        *,
        id: uuid.UUID,
        kind: str,
        amount: int,
        from_person_id: uuid.UUID | None = None,
        to_person_id: uuid.UUID | None = None,
        memo: str = "",
    ) -> tuple[time_bank.Movement, bool]:
        """Gift, donate or grant coins, and whether this request made the movement; the id makes a retry return the
        first outcome.

        Raises:
            MovementRefused: the ledger refused it (e.g. the giver holds fewer coins).
        """
        async with self.bound(actor) as connection:
            movement, is_new = await time_bank.plan_movement(
                connection,
                actor,
                community_id,
                id=id,
                kind=kind,
                amount=amount,
                from_person_id=from_person_id,
                to_person_id=to_person_id,
                memo=memo,
                now=self.clock(),
            )
        if movement.status == "planned":
            failure = await post_chain(self.ledger, [movement.planned()])
            async with self.bound(actor) as connection:
                movement = await time_bank.settle_movement(connection, movement.id, failure)
        if movement.status == "refused":
            raise time_bank.MovementRefused(
                f"the ledger refused the {movement.kind}: {movement.outcome}", field="amount", result=movement.outcome
            )
        return movement, is_new

    async def coin_account(
        self, actor: Principal, community_id: uuid.UUID, person_id: uuid.UUID
    ) -> time_bank.CoinAccount:
        async with self.bound(actor) as connection:
            return await time_bank.coin_account(connection, community_id, person_id, self.clock())

    async def grant_candidates(
        self, actor: Principal, community_id: uuid.UUID, *, limit: int = 50
    ) -> list[time_bank.GrantCandidate]:
        async with self.bound(actor) as connection:
            return await time_bank.grant_candidates(connection, community_id, limit=limit)

    # -- policy ------------------------------------------------------------------------------------------------
    async def write_policy(
        self,
        actor: Principal,
        community_id: uuid.UUID,
        *,
        version: int,
        valid_from: datetime,
        valid_until: datetime | None = None,
        rules: PolicyRules,
    ) -> tuple[EarningPolicy, bool]:
        async with self.bound(actor) as connection:
            return await write_policy(
                connection,
                actor,
                community_id,
                version=version,
                valid_from=valid_from,
                valid_until=valid_until,
                rules=rules,
            )

    async def policy_versions(self, actor: Principal, community_id: uuid.UUID) -> list[EarningPolicy]:
        async with self.bound(actor) as connection:
            return await policy_versions(connection, community_id)

    # -- statements, certificates, exports ---------------------------------------------------------------------
    async def month_earnings(
        self, actor: Principal, community_id: uuid.UUID, person_id: uuid.UUID, year: int, month: int
    ) -> list[statements.ActivityEarnings]:
        async with self.bound(actor) as connection:
            return await statements.month_earnings(connection, community_id, person_id, year, month)

    async def balance_history(
        self,
        actor: Principal,
        community_id: uuid.UUID,
        person_id: uuid.UUID,
        asset: Asset,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
    ) -> list[statements.BalanceEntry]:
        async with self.bound(actor) as connection:
            # The ledger has no row-level security of its own: the person must be visible to the caller first.
            if await connection.fetchval("SELECT 1 FROM person WHERE id = $1", person_id) is None:
                raise NotFound("no such person", field="person_id")
        return await statements.balance_history(
            self.ledger, community_id, person_id, asset, since=since, until=until, limit=limit
        )

    async def certificate(
        self, actor: Principal, community_id: uuid.UUID, person_id: uuid.UUID, period_from: date, period_to: date
    ) -> tuple[certificate.CertificateData, bytes]:
        async with self.bound(actor) as connection:
            data = await certificate.certificate_data(
                connection, community_id, person_id, period_from, period_to, self.clock()
            )
        return data, certificate.render_certificate(data)

    async def hours_export(
        self, actor: Principal, community_id: uuid.UUID, group_by: str, period_from: date, period_to: date
    ) -> list[exports.HoursRow]:
        async with self.bound(actor) as connection:
            return await exports.hours_by(connection, community_id, group_by, period_from, period_to)
