"""Every controller served under ``/v1``, in one list: the app mounts it and the access policy test walks it."""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

from timebank.http.controllers.ledger import LedgerController

__all__ = ["API_CONTROLLERS"]

API_CONTROLLERS: list[ControllerRouterHandler] = [
    LedgerController,
]
