"""Access at the edge: the Bearer-token guard that runs the access policy, the ``principal`` dependency, and the
problem documents of the access errors whose status the shared error tree has no class for (401, 429, 503).

The guard sits on the ``/v1`` router, so every API route passes through it; the probes and ``/schema`` are outside.
"""

from __future__ import annotations

import re
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

import asyncpg
import msgspec
import structlog
from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.exceptions import ClientException, SerializationException, ValidationException
from litestar.handlers import BaseRouteHandler
from litestar.types import ExceptionHandlersMap

from timebank.access.errors import InvalidToken, ProviderUnavailable, TooManyAttempts, Unauthenticated
from timebank.access.principal import Principal
from timebank.access.scoped import bound_for
from timebank.access.service import AccessService
from timebank.errors import Forbidden, TimebankError
from timebank.http.problems import exception_handlers

__all__ = ["AccessGuard", "access_exception_handlers", "action_of", "principal_of", "provide_principal"]

T = TypeVar("T")
_log = structlog.get_logger("timebank.http")
_BEARER = re.compile(r"^Bearer[ ]+([A-Za-z0-9._~+/-]+=*)$", re.IGNORECASE)
#: Where msgspec names the failing value: "... - at `$.transfers[0].amount`".
_AT = re.compile(r"`\$\.(.+)`$")


def principal_of(access: AccessService, authorization: str | None) -> Principal:
    """The principal an ``Authorization`` header value carries.

    Raises:
        Unauthenticated: there is no header.
        InvalidToken: the header is not ``Bearer <token>``, or the token does not verify.
    """
    if authorization is None:
        raise Unauthenticated("this endpoint needs an access token: Authorization: Bearer <token>")
    match = _BEARER.match(authorization.strip())
    if match is None:
        raise InvalidToken("the Authorization header must be: Bearer <token>", reason="malformed")
    return access.tokens.verify(match.group(1))


def action_of(handler: BaseRouteHandler) -> str | None:
    """The action a route performs: ``opt["action"]`` when the handler names one, else its operation id."""
    action = handler.opt.get("action")
    if isinstance(action, str):
        return action
    operation_id = getattr(handler, "operation_id", None)
    return operation_id if isinstance(operation_id, str) else None


class _RequestLookup:
    """The request as the policy's resolvers read it; bad values fail as Litestar fails them in the handler."""

    def __init__(self, connection: ASGIConnection[Any, Any, Any, Any]) -> None:
        self._connection = connection

    def path(self, name: str) -> Any:
        return self._connection.path_params[name]

    def query(self, name: str, type_: type[T]) -> T | None:
        raw = self._connection.query_params.get(name)
        if raw is None:
            return None
        try:
            return msgspec.convert(raw, type_, strict=False)
        except msgspec.ValidationError as exc:
            raise self._invalid(name, "query", str(exc)) from None

    def required_query(self, name: str, type_: type[T]) -> T:
        value = self.query(name, type_)
        if value is None:
            raise self._invalid(name, "query", "Missing required query parameter")
        return value

    async def body(self, type_: type[T]) -> T:
        if not isinstance(self._connection, Request):
            raise self._invalid("body", "body", "Expected a request body")
        try:
            # Request.json() caches the parsed body, so the handler does not parse it again.
            raw = await self._connection.json()
        except SerializationException as exc:
            raise ClientException(str(exc)) from exc
        try:
            return msgspec.convert(raw, type_, strict=False)
        except msgspec.ValidationError as exc:
            match = _AT.search(str(exc))
            raise self._invalid(match.group(1) if match else "body", "body", str(exc)) from None

    def _invalid(self, key: str, source: str, message: str) -> ValidationException:
        request = f"{self._connection.scope['method']} {self._connection.url.path}"  # type: ignore[typeddict-item]
        return ValidationException(
            detail=f"Validation failed for {request}",
            extra=[{"message": message.split(" - ", 1)[0], "key": key, "source": source}],
        )


class AccessGuard:
    """Authenticates the Bearer token and lets the policy decide; the principal lands in ``request.state``."""

    def __init__(self, access: AccessService) -> None:
        self.access = access

    def authenticate(self, connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
        return principal_of(self.access, connection.headers.get("authorization"))

    def _connect(self, principal: Principal) -> AbstractAsyncContextManager[asyncpg.Connection]:
        return bound_for(self.access.pool, principal)

    async def __call__(self, connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
        action = action_of(handler)
        rule = self.access.policy.rule_for(action)
        if rule is None:
            # Fail closed. tests/http/test_authorization.py fails for any route without a rule.
            _log.error("access_rule_missing", action=action, handler=handler.handler_name)
            raise Forbidden("this endpoint has no access rule", action=action)
        if rule.public:
            return
        principal = self.authenticate(connection)
        connection.state.principal = principal
        structlog.contextvars.bind_contextvars(subject=principal.subject)
        await self.access.policy.authorize(rule, principal, _RequestLookup(connection), self._connect)


def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    """The authenticated caller (the guard put it there); a handler of a public route has none."""
    principal = request.state.get("principal")
    if not isinstance(principal, Principal):
        raise Unauthenticated("this endpoint needs an access token: Authorization: Bearer <token>")
    return principal


#: RFC 6750: the challenge a 401 answer carries; an invalid token adds ``error="invalid_token"``.
_REALM = 'Bearer realm="timebank"'


def _with_status(
    request: Request[Any, Any, Any], exc: TimebankError, status: int, headers: dict[str, str]
) -> Response[Any]:
    # The shared handler writes the document (type, title, detail, fields, request id); only the status differs.
    document = exception_handlers()[TimebankError](request, exc)
    return Response(
        {**document.content, "status": status},
        status_code=status,
        media_type=document.media_type,
        headers=headers,
    )


def _on_unauthenticated(request: Request[Any, Any, Any], exc: Unauthenticated) -> Response[Any]:
    challenge = _REALM
    if isinstance(exc, InvalidToken):
        challenge += ', error="invalid_token", error_description="' + exc.detail.replace('"', "'") + '"'
    return _with_status(request, exc, 401, {"WWW-Authenticate": challenge})


def _on_too_many(request: Request[Any, Any, Any], exc: TooManyAttempts) -> Response[Any]:
    return _with_status(request, exc, 429, {"Retry-After": str(exc.retry_after)})


def _on_provider_unavailable(request: Request[Any, Any, Any], exc: ProviderUnavailable) -> Response[Any]:
    return _with_status(request, exc, 503, {"Retry-After": "5"})


def access_exception_handlers() -> ExceptionHandlersMap:
    """Handlers for the access errors that are not 4xx by the shared tree; the app adds them to its own."""
    return {
        Unauthenticated: _on_unauthenticated,
        TooManyAttempts: _on_too_many,
        ProviderUnavailable: _on_provider_unavailable,
    }
