"""A lean lane in front of Litestar for the busiest write, ``POST /v1/ledger/transfer``.

Why: the work of that endpoint (decode one transfer, check the caller, hand the transfer to the batcher) costs a few
tens of microseconds, while Litestar's generic machinery around it (routing, a copy of the handler per guard call,
dependency injection, the signature model, ``Response`` objects) cost about three times that, measured in-process.
On a 2-core machine that decided whether the endpoint reached 40 % of a trivial endpoint's requests/s.

What the lane does: it answers the request only when it can answer exactly as the Litestar route
(``LedgerController.create_transfer``) would: a JSON body that decodes as a ``TransferRequest`` and is not linked, a
valid Bearer token, the access policy's consent for the route's action, and a result of ``ok`` (201) or ``exists``
(200). Everything else (a body that does not decode, no or a bad token, a refusal by the policy or by the ledger, an
exception) is handed to the Litestar route with the body replayed, and the route answers it with its usual problem
document. Handing on after the batcher answered is safe: the ledger is idempotent, so the route's second submission
of the id returns the first one's outcome (or, for a refusal the ledger does not remember, decides it afresh as a
client's retry would). The route stays the documented contract (OpenAPI) and the one the authorization walk checks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
import structlog
from litestar.enums import ScopeType
from litestar.types import (
    ASGIApp,
    HTTPRequestEvent,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Receive,
    ReceiveMessage,
    Scope,
    Send,
)

from timebank.access.principal import Principal
from timebank.access.scoped import bound_for
from timebank.access.service import AccessService
from timebank.http.auth import action_of, principal_of
from timebank.http.controllers.ledger import LedgerController
from timebank.ledger import Result
from timebank.ledger.batcher import TransferBatcher
from timebank.ledger.contracts import TransferRequest, TransferResponse

__all__ = ["TransferLane"]

#: The route the lane stands in for, and its action in the access policy.
PATH = "/v1/ledger/transfer"
ACTION = action_of(LedgerController.create_transfer)

_ENCODER = msgspec.json.Encoder()
_ANSWERED = {Result.ok: 201, Result.exists: 200}
_JSON = b"application/json"

#: The request headers the lane reads (the first of each, as Litestar's ``Headers.get`` reads them).
_READ_HEADERS = (b"authorization", b"content-length", b"content-type")


class _Handover(Exception):
    """The lane cannot answer this request as the route would: the route answers it."""


class _BodyLookup:
    """The request as the policy's resolvers read it: only the body (the route has no path or query parameters)."""

    def __init__(self, raw: object) -> None:
        self._raw = raw

    def path(self, name: str) -> Any:
        raise _Handover

    def query(self, name: str, type_: type[Any]) -> Any:
        raise _Handover

    def required_query(self, name: str, type_: type[Any]) -> Any:
        raise _Handover

    async def body(self, type_: type[Any]) -> Any:
        return msgspec.convert(self._raw, type_, strict=False)


class TransferLane:
    """ASGI middleware: serves ``POST /v1/ledger/transfer`` when it can, and passes everything else to ``app``.

    Args:
        app: the Litestar application's handler.
        access: the access service (token verification and the policy).
        batcher: returns the running transfer batcher (the composition root's provider).
        max_body_bytes: larger bodies go to the route, which refuses them.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        access: AccessService,
        batcher: Callable[[], Awaitable[TransferBatcher]],
        max_body_bytes: int,
    ) -> None:
        self.app = app
        self.access = access
        self.batcher = batcher
        self.max_body_bytes = max_body_bytes
        rule = access.policy.rule_for(ACTION)
        # Without a rule the route's guard refuses; a public rule would answer without a principal. Either way the
        # lane has nothing to add, and hands every request on.
        self._rule = rule if rule is not None and not rule.public else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope["method"] != "POST" or scope["path"] != PATH:
            await self.app(scope, receive, send)
            return
        headers: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            if name in _READ_HEADERS:
                headers.setdefault(bytes(name), bytes(value))
        body = await self._read_body(headers, receive)
        if body is None:
            await self.app(scope, receive, send)
            return
        try:
            status, answer = await self._serve(headers, body)
        except Exception:  # whatever the lane cannot answer, the route answers (and logs)
            await self.app(scope, _replaying(body, receive), send)
            return
        start: HTTPResponseStartEvent = {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", _JSON), (b"content-length", str(len(answer)).encode())],
        }
        whole: HTTPResponseBodyEvent = {"type": "http.response.body", "body": answer, "more_body": False}
        await send(start)
        await send(whole)

    async def _read_body(self, headers: dict[bytes, bytes], receive: Receive) -> bytes | None:
        """The whole body of a JSON request of declared, acceptable length; None leaves the request to the route."""
        content_type = headers.get(b"content-type", b"").split(b";", 1)[0].strip().lower()
        length = headers.get(b"content-length", b"")
        if content_type != _JSON or not length.isdigit() or not 0 < int(length) <= self.max_body_bytes:
            return None
        chunks = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None  # the client went away; nothing to answer
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _serve(self, headers: dict[bytes, bytes], body: bytes) -> tuple[int, bytes]:
        rule = self._rule
        if rule is None:
            raise _Handover
        authorization = headers.get(b"authorization")
        principal = principal_of(self.access, authorization.decode("latin-1") if authorization is not None else None)
        raw = msgspec.json.decode(body)
        request = msgspec.convert(raw, TransferRequest, strict=False)
        if "linked" in request.flags:
            raise _Handover  # the route refuses a linked single transfer
        structlog.contextvars.bind_contextvars(subject=principal.subject)
        await self.access.policy.authorize(rule, principal, _BodyLookup(raw), self._connect)
        result = await (await self.batcher()).submit(request.to_domain())
        status = _ANSWERED.get(result)
        if status is None:
            raise _Handover
        return status, _ENCODER.encode(TransferResponse(id=request.id, result=result.name))

    def _connect(self, principal: Principal) -> Any:
        return bound_for(self.access.pool, principal)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """``receive`` for the route: first the body the lane already read, then whatever the client sends next."""
    replayed = False

    async def replay() -> ReceiveMessage:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        whole: HTTPRequestEvent = {"type": "http.request", "body": body, "more_body": False}
        return whole

    return replay
