"""HTTP face of the ledger: accounts, transfers (batched and single), statements and balances."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from timebank.errors import NotFound
from timebank.ledger import LedgerService, Result
from timebank.ledger.batcher import TransferBatcher
from timebank.ledger.contracts import (
    AccountResponse,
    AccountsOpenRequest,
    BalanceResponse,
    ReverseRequest,
    StatementEntry,
    StatementResponse,
    TransferBatchRequest,
    TransferBatchResponse,
    TransferRequest,
    TransferResponse,
    TransferView,
)
from timebank.ledger.errors import TransferIdReused, TransferRefused

__all__ = ["LedgerController"]


def _single_outcome(transfer_id: FromPath[uuid.UUID], result: Result) -> Response[TransferResponse]:
    """ok answers 201, a replay 200; anything else is a problem document naming the result."""
    if result is Result.ok or result is Result.exists:
        status = 201 if result is Result.ok else 200
        return Response(TransferResponse(id=transfer_id, result=result.name), status_code=status)
    if result is Result.exists_with_different_fields:
        raise TransferIdReused("this transfer id was used for a different transfer", id=str(transfer_id))
    raise TransferRefused(f"the ledger refused the transfer: {result.name}", id=str(transfer_id), result=result.name)


class LedgerController(Controller):
    path = "/ledger"
    tags = ["ledger"]  # noqa: RUF012

    @post("/accounts", operation_id="OpenAccounts", summary="Open accounts (idempotent by account id)")
    async def open_accounts(
        self, ledger: NamedDependency[LedgerService], data: JSONBody[AccountsOpenRequest]
    ) -> list[AccountResponse]:
        accounts = await ledger.open_accounts([a.to_domain() for a in data.accounts])
        return [AccountResponse.of(a) for a in accounts]

    @get("/accounts/{account_id:uuid}", operation_id="GetAccount", summary="An account and its balances")
    async def get_account(
        self, ledger: NamedDependency[LedgerService], account_id: FromPath[uuid.UUID]
    ) -> AccountResponse:
        return AccountResponse.of(await ledger.get_account(account_id))

    @get("/accounts", operation_id="ListAccountsOfOwner", summary="Accounts of one owner in a community")
    async def accounts_of_owner(
        self,
        ledger: NamedDependency[LedgerService],
        community_id: FromQuery[uuid.UUID],
        owner_kind: Annotated[str, QueryParameter(min_length=1, max_length=64)],
        owner_id: FromQuery[uuid.UUID],
    ) -> list[AccountResponse]:
        return [AccountResponse.of(a) for a in await ledger.accounts_of_owner(community_id, owner_kind, owner_id)]

    @post("/accounts/{account_id:uuid}/close", operation_id="CloseAccount", summary="Close an account", status_code=200)
    async def close_account(
        self, ledger: NamedDependency[LedgerService], account_id: FromPath[uuid.UUID]
    ) -> AccountResponse:
        return AccountResponse.of(await ledger.close_account(account_id))

    @post("/transfers", operation_id="CreateTransfers", summary="Create up to 8,190 transfers, one result each")
    async def create_transfers(
        self, ledger: NamedDependency[LedgerService], data: JSONBody[TransferBatchRequest]
    ) -> TransferBatchResponse:
        results = await ledger.create_transfers([t.to_domain() for t in data.transfers])
        return TransferBatchResponse.of(data.transfers, results)

    @post("/transfer", operation_id="CreateTransfer", summary="Create one transfer (grouped with concurrent ones)")
    async def create_transfer(
        self, batcher: NamedDependency[TransferBatcher], data: JSONBody[TransferRequest]
    ) -> Response[TransferResponse]:
        transfer = data.to_domain()
        if data.flags and "linked" in data.flags:
            return _single_outcome(data.id, Result.linked_event_chain_open)
        return _single_outcome(data.id, await batcher.submit(transfer))

    @get("/transfers/{transfer_id:uuid}", operation_id="GetTransfer", summary="A transfer by id")
    async def get_transfer(
        self, ledger: NamedDependency[LedgerService], transfer_id: FromPath[uuid.UUID]
    ) -> TransferView:
        found = await ledger.lookup_transfers([transfer_id])
        if not found:
            raise NotFound("no such transfer", transfer_id=str(transfer_id))
        return TransferView.of(found[0])

    @post(
        "/transfers/{transfer_id:uuid}/reverse",
        operation_id="ReverseTransfer",
        summary="Reverse a posted transfer with a new transfer that names it",
    )
    async def reverse(
        self, ledger: NamedDependency[LedgerService], transfer_id: FromPath[uuid.UUID], data: JSONBody[ReverseRequest]
    ) -> Response[TransferResponse]:
        result = await ledger.reverse(transfer_id, reversal_id=data.reversal_id, memo=data.memo)
        return _single_outcome(data.reversal_id, result)

    @get("/accounts/{account_id:uuid}/statement", operation_id="GetStatement", summary="Entries with running balance")
    async def statement(
        self,
        ledger: NamedDependency[LedgerService],
        account_id: FromPath[uuid.UUID],
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
        after_version: Annotated[int, QueryParameter(ge=0)] = 0,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
    ) -> StatementResponse:
        rows = await ledger.statement(account_id, since=since, until=until, after_version=after_version, limit=limit)
        entries = [StatementEntry.of(row) for row in rows]
        following = entries[-1].version if len(entries) == limit else None
        return StatementResponse(account_id=account_id, entries=entries, next_after_version=following)

    @get("/accounts/{account_id:uuid}/balance", operation_id="GetBalanceAt", summary="Balances as of a time")
    async def balance_at(
        self, ledger: NamedDependency[LedgerService], account_id: FromPath[uuid.UUID], at: FromQuery[datetime]
    ) -> BalanceResponse:
        balance = await ledger.balance_at(account_id, at)
        return BalanceResponse(account_id=account_id, **balance)  # type: ignore[arg-type]
