"""Access at the edge: the Bearer-token guard that runs the access policy, the ``principal`` dependency, and the
problem documents of the access errors whose status the shared error tree has no class for (401, 429, 503).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.types import ExceptionHandlersMap

from timebank.access.errors import InvalidToken, ProviderUnavailable, TooManyAttempts, Unauthenticated
from timebank.errors import TimebankError
from timebank.http.problems import exception_handlers

__all__ = ["access_exception_handlers"]

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
