"""Every error leaves as an RFC 9457 ``application/problem+json`` document.

Domain errors map by class (the lookup walks the MRO, so the root class covers every capability's subclasses);
framework errors map by status; anything else is a 500 that names the request id and hides the traceback.
"""

from __future__ import annotations

import re
from typing import Any

import asyncpg
import msgspec
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap
from litestar.utils.scope.state import ScopeState

from timebank.errors import Conflict, Forbidden, InvalidInput, NotFound, RuleViolation, TimebankError

__all__ = ["PROBLEM_MEDIA_TYPE", "PROBLEM_TYPES", "exception_handlers", "problem_type"]

PROBLEM_MEDIA_TYPE = "application/problem+json"
_TYPE_BASE = "https://timebank.dev/problems/"

_STATUS_BY_ERROR: dict[type[TimebankError], int] = {
    NotFound: 404,
    Conflict: 409,
    RuleViolation: 422,
    InvalidInput: 422,
    Forbidden: 403,
}

_CODE_BY_STATUS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "body-too-large",
    415: "unsupported-media-type",
    429: "too-many-requests",
    500: "internal-error",
    503: "unavailable",
}

#: Problem codes the edge itself emits; capabilities add theirs through their error classes.
PROBLEM_TYPES: dict[str, str] = {
    "validation-error": "A request field is missing, malformed or out of range; `errors` lists each one.",
    **{code: f"HTTP {status}" for status, code in _CODE_BY_STATUS.items()},
}


def problem_type(code: str) -> str:
    """The stable ``type`` URI of a problem code."""
    return _TYPE_BASE + code


def _request_id() -> str | None:
    value = structlog.contextvars.get_contextvars().get("request_id")
    return str(value) if value is not None else None


def _problem(
    request: Request[Any, Any, Any],
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {
        "type": problem_type(code),
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    if extra:
        body.update(extra)
    if (request_id := _request_id()) is not None:
        body["request_id"] = request_id
    return Response(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _status_of(error: TimebankError) -> int:
    for cls in type(error).__mro__:
        if cls in _STATUS_BY_ERROR:
            return _STATUS_BY_ERROR[cls]
    return 400


def _on_domain_error(request: Request[Any, Any, Any], exc: TimebankError) -> Response[dict[str, Any]]:
    return _problem(
        request, status=_status_of(exc), code=exc.code, title=exc.title, detail=exc.detail, extra=exc.fields
    )


_NAMED_FIELD = re.compile(r"field `([^`]+)`")
_AT_PATH = re.compile(r"at `\$\.?([^`]*)`")


def _field_of(failure: dict[str, Any]) -> str:
    """The field at fault. For a body, msgspec names it in the message (``Object missing required field `id` - at
    `$.lines[0]```), while Litestar's key is the handler's parameter (``data``)."""
    message = str(failure.get("message", ""))
    named = _NAMED_FIELD.search(message)
    at = _AT_PATH.search(message)
    parts = [at.group(1) if at else "", named.group(1) if named else ""]
    if any(parts):
        return ".".join(part for part in parts if part)
    key = failure.get("key")
    return key if key and key != "data" else "body"


def _on_validation_error(request: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, Any]]:
    # Litestar lists each failure as {"message", "key", "source"}; a body that is not JSON at all has no key.
    failures = exc.extra if isinstance(exc.extra, list) else []
    errors = [
        {"field": _field_of(item), "source": item.get("source", "body"), "message": item.get("message", "")}
        for item in failures
        if isinstance(item, dict)
    ] or [{"field": "body", "source": "body", "message": exc.detail}]
    first = errors[0]
    return _problem(
        request,
        status=400,
        code="validation-error",
        title="Invalid request",
        detail=f"{first['field']}: {first['message']}",
        extra={"field": first["field"], "errors": errors},
    )


def _on_http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    if isinstance(exc, ValidationException):
        return _on_validation_error(request, exc)
    status = exc.status_code
    code = _CODE_BY_STATUS.get(status, f"http-{status}")
    title = code.replace("-", " ").capitalize()
    return _problem(request, status=status, code=code, title=title, detail=exc.detail, headers=exc.headers)


def _on_unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    structlog.get_logger("timebank.http").error("unhandled_error", exc_info=exc)
    return _problem(
        request,
        status=500,
        code="internal-error",
        title="Internal error",
        detail="The service failed to handle this request; quote the request id when reporting it.",
    )


def _path_to_nul(value: Any, path: str = "") -> str | None:
    """Where in a decoded JSON document a string holds a NUL character."""
    if isinstance(value, str):
        return (path or "body") if "\x00" in value else None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found = _path_to_nul(item, f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}".lstrip("."))
        if found:
            return found
    return None


def _on_text_postgres_cannot_hold(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    # PostgreSQL text cannot hold NUL (U+0000). The statement failed, so its transaction rolled back; find the field
    # in the body Litestar kept, else in the query.
    body = ScopeState.from_scope(request.scope).body
    field = None
    if isinstance(body, bytes) and body:
        try:
            field = _path_to_nul(msgspec.json.decode(body))
        except msgspec.DecodeError:
            field = None
    if field is None:
        field = next((key for key, value in request.query_params.items() if "\x00" in value), "body")
    message = "text must not contain NUL (U+0000) characters"
    return _problem(
        request,
        status=400,
        code="validation-error",
        title="Invalid request",
        detail=f"{field}: {message}",
        extra={"field": field, "errors": [{"field": field, "source": "body", "message": message}]},
    )


def exception_handlers() -> ExceptionHandlersMap:
    """Handlers for the app: domain errors, framework errors, then everything else."""
    return {
        TimebankError: _on_domain_error,
        HTTPException: _on_http_error,
        asyncpg.CharacterNotInRepertoireError: _on_text_postgres_cannot_hold,
        Exception: _on_unexpected_error,
    }
