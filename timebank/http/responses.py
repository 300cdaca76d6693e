"""Responses shared by every controller."""

from __future__ import annotations

from typing import Any

from litestar import Response

__all__ = ["created"]


def created(body: Any, is_new: bool) -> Response[Any]:
    """201 when the request made something, 200 when it was a replay of one that did (idempotent writes)."""
    return Response(body, status_code=201 if is_new else 200)
