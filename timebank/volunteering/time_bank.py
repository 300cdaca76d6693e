"""The time bank (时间银行): members keep their coins, gift them to a verified lineal relative, donate them to the
community pool, and staff grant from the pool to people in need, solitary and bereaved elders first.

Coins never turn into money: there is no way out of the books but spending on help (the order cycle) or giving.
Each movement is a row whose id is the client's idempotency key and derives the ledger transfer's id; it is
planned under the people's locks (so storage caps hold), then posted, then settled.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from timebank.access.principal import Principal
from timebank.community import audit
from timebank.community.accounts import SystemRole, account_id, community_accounts, open_accounts, system_account_id
from timebank.errors import Conflict, InvalidInput, NotFound, RuleViolation
from timebank.ledger import Asset, Code, Result
from timebank.volunteering.crediting import coin_balance, person_lock
from timebank.volunteering.policy import EarningPolicy, policy_at
from timebank.volunteering.posting import Planned
from timebank.volunteering.records import CHINA_TIME

__all__ = [
    "NEED_PRIORITY",
    "CoinAccount",
    "GrantCandidate",
    "Movement",
    "MovementRefused",
    "NotInNeed",
    "NotLinealRelatives",
    "OverStorageCap",
    "coin_account",
    "get_movement",
    "grant_candidates",
    "may_redeem",
    "plan_movement",
    "settle_movement",
]

#: Who the pool serves first (南京: donated time goes first to 重点空巢独居老人).
NEED_PRIORITY = ("solitary_elder", "bereaved_elder", "hardship", "disabled")
#: 直系亲属: the relations a gift may cross. A spouse is family but not a lineal relative.
LINEAL = ("parent", "child", "grandparent", "grandchild")
REF_TYPE = "time_bank_movement"
_CODES = {"gift": Code.gift, "donation": Code.donation, "grant": Code.grant}


class NotLinealRelatives(RuleViolation):
    """Coins are gifted only to a lineal relative whose link staff have verified."""

    code = "not-lineal-relatives"
    title = "Not verified lineal relatives"


class NotInNeed(RuleViolation):
    """Pool grants go to people in need: solitary or bereaved elders, hardship or disabled households."""

    code = "not-in-need"
    title = "Recipient not in need"


class OverStorageCap(RuleViolation):
    """The recipient would hold more coins than the policy's storage cap."""

    code = "over-storage-cap"
    title = "Over the storage cap"


class MovementRefused(RuleViolation):
    """The ledger refused the movement, e.g. more coins than the giver (or the pool) holds."""

    code = "movement-refused"
    title = "Time bank movement refused"


@dataclass(frozen=True, slots=True, kw_only=True)
class Movement:
    id: uuid.UUID
    community_id: uuid.UUID
    kind: str
    from_person_id: uuid.UUID | None
    to_person_id: uuid.UUID | None
    amount: int
    transfer_id: uuid.UUID
    debit_account_id: uuid.UUID
    credit_account_id: uuid.UUID
    memo: str
    status: str
    outcome: str
    created_at: datetime

    def planned(self) -> Planned:
        return Planned(
            transfer_id=self.transfer_id,
            asset=Asset.time_coins,
            debit_account_id=self.debit_account_id,
            credit_account_id=self.credit_account_id,
            amount=self.amount,
            code=_CODES[self.kind],
            policy_version=None,
            ref_type=REF_TYPE,
            ref_id=self.id,
            memo=self.memo,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class CoinAccount:
    """A person's time bank: coins held (minutes of coin), the storage cap, and whether they may redeem yet."""

    person_id: uuid.UUID
    balance: int
    storage_cap: int | None
    may_redeem: bool
    redeem_age: int
    policy_version: int


@dataclass(frozen=True, slots=True, kw_only=True)
class GrantCandidate:
    person_id: uuid.UUID
    name: str
    household_kind: str
    birth_date: date | None
    balance: int


_COLUMNS = (
    "id, community_id, kind, from_person_id, to_person_id, amount, transfer_id, debit_account_id, "
    "credit_account_id, memo, status, outcome, created_at"
)


def may_redeem(birth_date: date | None, household_kind: str | None, policy: EarningPolicy, on: date) -> bool:
    """The age gate for spending coins on help: 65, or 60 for hardship households (上海 2026)."""
    if birth_date is None:
        return False
    age = on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))
    gate = policy.redeem_age_hardship if household_kind in NEED_PRIORITY else policy.redeem_age
    return age >= gate


async def coin_account(
    connection: asyncpg.Connection, community_id: uuid.UUID, person_id: uuid.UUID, now: datetime
) -> CoinAccount:
    person = await connection.fetchrow(
        """
        SELECT p.birth_date, h.kind FROM person p LEFT JOIN household h ON h.id = p.household_id WHERE p.id = $1
        """,
        person_id,
    )
    if person is None:
        raise NotFound("no such person", field="person_id")
    policy = await policy_at(connection, community_id, now)
    today = now.astimezone(CHINA_TIME).date()
    return CoinAccount(
        person_id=person_id,
        balance=await coin_balance(connection, person_id, _coins(community_id, person_id)),
        storage_cap=policy.coin_storage_cap,
        may_redeem=may_redeem(person["birth_date"], person["kind"], policy, today),
        redeem_age=policy.redeem_age_hardship if person["kind"] in NEED_PRIORITY else policy.redeem_age,
        policy_version=policy.version,
    )


async def plan_movement(
    connection: asyncpg.Connection,
    actor: Principal,
    community_id: uuid.UUID,
    *,
    id: uuid.UUID,
    kind: str,
    amount: int,
    from_person_id: uuid.UUID | None = None,
    to_person_id: uuid.UUID | None = None,
    memo: str = "",
    now: datetime,
) -> tuple[Movement, bool]:
    """Check and record a gift, donation or grant, and whether it is new; the same id again returns the movement as
    it stands.

    Raises:
        InvalidInput: no positive amount, or a giver who is also the recipient.
        NotLinealRelatives, NotInNeed, OverStorageCap: the rule of the kind refuses it.
        Conflict: the id was used for a different movement.
    """
    if amount <= 0:
        raise InvalidInput("the amount must be positive", field="amount")
    # A donation has no recipient and a grant no giver, whatever the request says.
    from_person_id = None if kind == "grant" else from_person_id
    to_person_id = None if kind == "donation" else to_person_id
    if from_person_id is not None and from_person_id == to_person_id:
        raise InvalidInput("a person cannot give coins to themselves", field="to_person_id")
    existing = await connection.fetchrow(f"SELECT {_COLUMNS} FROM time_bank_movement WHERE id = $1", id)
    if existing is not None:
        movement = Movement(**dict(existing))
        if (movement.kind, movement.from_person_id, movement.to_person_id, movement.amount) != (
            kind,
            from_person_id,
            to_person_id,
            amount,
        ):
            raise Conflict("this movement id was used for a different movement", field="id")
        return movement, False
    for field, person in (("from_person_id", from_person_id), ("to_person_id", to_person_id)):
        if person is not None and await connection.fetchval("SELECT 1 FROM person WHERE id = $1", person) is None:
            raise NotFound("no such person", field=field)
    for person in sorted(p for p in (from_person_id, to_person_id) if p is not None):
        await person_lock(connection, person)
    pool = system_account_id(community_id, SystemRole.donation_pool, Asset.time_coins)
    await open_accounts(connection, community_accounts(community_id))
    if kind == "gift":
        giver, recipient = _required(from_person_id, "from_person_id"), _required(to_person_id, "to_person_id")
        await _check_lineal(connection, giver, recipient)
        debit, credit = _coins(community_id, giver), _coins(community_id, recipient)
    elif kind == "donation":
        debit, credit = _coins(community_id, _required(from_person_id, "from_person_id")), pool
    elif kind == "grant":
        recipient = _required(to_person_id, "to_person_id")
        await _check_in_need(connection, recipient)
        debit, credit = pool, _coins(community_id, recipient)
    else:
        raise InvalidInput("a movement is a gift, a donation or a grant", field="kind")
    if to_person_id is not None:
        await _check_storage(connection, community_id, to_person_id, amount, now)
    row = await connection.fetchrow(
        f"""
        INSERT INTO time_bank_movement (id, community_id, kind, from_person_id, to_person_id, amount, transfer_id,
            debit_account_id, credit_account_id, memo, created_by)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING {_COLUMNS}
        """,
        id,
        community_id,
        kind,
        from_person_id,
        to_person_id,
        amount,
        uuid.uuid5(id, "transfer"),
        debit,
        credit,
        memo,
        actor.person_id,
    )
    movement = Movement(**dict(row))
    await audit.record(
        connection,
        actor,
        community_id=community_id,
        action=kind,
        entity="time_bank_movement",
        entity_id=id,
        after={
            "from": None if from_person_id is None else str(from_person_id),
            "to": None if to_person_id is None else str(to_person_id),
            "amount": amount,
        },
    )
    return movement, True


async def get_movement(connection: asyncpg.Connection, movement_id: uuid.UUID) -> Movement:
    row = await connection.fetchrow(f"SELECT {_COLUMNS} FROM time_bank_movement WHERE id = $1", movement_id)
    if row is None:
        raise NotFound("no such movement", field="id")
    return Movement(**dict(row))


async def settle_movement(connection: asyncpg.Connection, movement_id: uuid.UUID, failure: Result | None) -> Movement:
    row = await connection.fetchrow(
        f"""
        UPDATE time_bank_movement SET status = CASE WHEN $2::text IS NULL THEN 'posted' ELSE 'refused' END,
            outcome = coalesce($2, '')
        WHERE id = $1 AND status = 'planned' RETURNING {_COLUMNS}
        """,
        movement_id,
        None if failure is None else failure.name,
    )
    if row is None:
        row = await connection.fetchrow(f"SELECT {_COLUMNS} FROM time_bank_movement WHERE id = $1", movement_id)
    return Movement(**dict(row))


async def grant_candidates(
    connection: asyncpg.Connection, community_id: uuid.UUID, *, limit: int = 50
) -> list[GrantCandidate]:
    """People in need in the order the pool serves them: solitary, then bereaved elders, then hardship and
    disabled households; the oldest first within each, and those holding fewest coins before the rest."""
    rows = await connection.fetch(
        """
        SELECT p.id AS person_id, p.name, h.kind AS household_kind, p.birth_date,
               coalesce(a.credits_posted - a.debits_posted, 0) AS balance
        FROM person p JOIN household h ON h.id = p.household_id
        LEFT JOIN ledger_account a ON a.community_id = $1 AND a.owner_kind = 'person' AND a.owner_id = p.id
            AND a.asset = $2 AND a.label = ''
        WHERE p.community_id = $1 AND h.kind = ANY($3::text[])
        ORDER BY array_position($3::text[], h.kind), p.birth_date NULLS LAST, balance, p.id
        LIMIT $4
        """,
        community_id,
        int(Asset.time_coins),
        list(NEED_PRIORITY),
        limit,
    )
    return [GrantCandidate(**dict(row)) for row in rows]


def _required(person_id: uuid.UUID | None, field: str) -> uuid.UUID:
    if person_id is None:
        raise InvalidInput(f"{field} is required for this movement", field=field)
    return person_id


def _coins(community_id: uuid.UUID, person_id: uuid.UUID) -> uuid.UUID:
    return account_id(community_id, "person", person_id, Asset.time_coins)


async def _check_lineal(connection: asyncpg.Connection, giver: uuid.UUID, recipient: uuid.UUID) -> None:
    linked = await connection.fetchval(
        """
        SELECT EXISTS (SELECT 1 FROM family_link
                       WHERE ((person_id = $1 AND relative_id = $2) OR (person_id = $2 AND relative_id = $1))
                         AND relation = ANY($3::text[]) AND verified_at IS NOT NULL AND revoked_at IS NULL)
        """,
        giver,
        recipient,
        list(LINEAL),
    )
    if not linked:
        raise NotLinealRelatives("coins are gifted only to a verified lineal relative", field="to_person_id")


async def _check_in_need(connection: asyncpg.Connection, person_id: uuid.UUID) -> None:
    kind = await connection.fetchval(
        "SELECT h.kind FROM person p LEFT JOIN household h ON h.id = p.household_id WHERE p.id = $1", person_id
    )
    if kind not in NEED_PRIORITY:
        raise NotInNeed("grants from the pool go to people in need", field="to_person_id", household_kind=kind)


async def _check_storage(
    connection: asyncpg.Connection, community_id: uuid.UUID, person_id: uuid.UUID, amount: int, now: datetime
) -> None:
    policy = await policy_at(connection, community_id, now)
    if policy.coin_storage_cap is None:
        return
    held = await coin_balance(connection, person_id, _coins(community_id, person_id))
    if held + amount > policy.coin_storage_cap:
        raise OverStorageCap(
            "the recipient would hold more coins than the storage cap",
            field="amount",
            held=held,
            cap=policy.coin_storage_cap,
        )
