"""Request id and one canonical log line per request; the JSON-only body rule."""

from __future__ import annotations

import time
import uuid
from typing import Any

import structlog
from litestar import Request
from litestar.enums import ScopeType
from litestar.exceptions import HTTPException
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send

__all__ = ["RequestContextMiddleware", "require_json_body"]

_log = structlog.get_logger("timebank.http")
_REQUEST_ID_HEADER = b"x-request-id"
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_MAX_REQUEST_ID = 128


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def _accepted_request_id(raw: bytes | None) -> str:
    """Keep a client's id when it is printable and short; otherwise mint one, so logs stay clean."""
    if raw and len(raw) <= _MAX_REQUEST_ID and raw.isascii() and raw.decode().isprintable():
        return raw.decode()
    return uuid.uuid4().hex


def _is_json(content_type: bytes | None) -> bool:
    if content_type is None:
        return False
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or media.endswith(b"+json")


def _has_body(scope: Scope) -> bool:
    length = _header(scope, b"content-length")
    if length is not None:
        return length.strip() not in (b"", b"0")
    return _header(scope, b"transfer-encoding") is not None


async def require_json_body(request: Request[Any, Any, Any]) -> None:
    """Refuse a request body that is not JSON with 415, before any handler decodes it."""
    scope = request.scope
    if scope["method"] in _BODY_METHODS and _has_body(scope) and not _is_json(_header(scope, b"content-type")):
        raise HTTPException(status_code=415, detail="Request bodies must be JSON (Content-Type: application/json)")


class RequestContextMiddleware:
    """Binds the request id to the log context, echoes it, and writes the request's one log line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        http_scope: HTTPScope = scope
        started = time.perf_counter()
        request_id = _accepted_request_id(_header(scope, _REQUEST_ID_HEADER))
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        status: dict[str, Any] = {"code": 500}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message["headers"] = [*message.get("headers", []), (_REQUEST_ID_HEADER, request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _log.info(
                "request",
                method=http_scope["method"],
                route=scope.get("path_template") or scope["path"],
                status=status["code"],
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )
