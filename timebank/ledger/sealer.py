"""Links queued transfers into their communities' hash chains, off the write path, about once a second.

The write trigger only queues each statement's transfers (``ledger_unsealed``); ``ledger_seal_pending()`` seals
everything queued and committed as one block per community. A write therefore never waits on a community-wide lock,
and a block covers whatever landed since the last one. Stopping seals once more, so a clean shutdown leaves nothing
queued. A failed round is logged and retried at the next tick: the queue keeps its entries until they are sealed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import asyncpg
import structlog

__all__ = ["ChainSealer"]

_log = structlog.get_logger("timebank.ledger.sealer")

#: Seals what is queued; returns how many blocks it sealed (``LedgerService.seal_pending``).
SealPending = Callable[[], Awaitable[int]]


class ChainSealer:
    """Runs ``seal`` every ``interval`` seconds between ``start()`` and ``stop()``."""

    def __init__(self, seal: SealPending, *, interval: float = 1.0) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self._seal = seal
        self._interval = interval
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        if self._task is not None:
            raise RuntimeError("the sealer is already started")
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name="ledger-chain-sealer")

    async def stop(self) -> None:
        """Stop the ticks, then seal what is still queued."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        await task
        await self._seal_once()

    async def _run(self) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._interval)
            if not self._stopping.is_set():
                await self._seal_once()

    async def _seal_once(self) -> None:
        try:
            await self._seal()
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            _log.warning("ledger_seal_failed", error=str(exc))
