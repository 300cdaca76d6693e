"""Process-wide settings of a serving process, shared by the app's start-up and the benchmarks that play it."""

from __future__ import annotations

import gc

__all__ = ["settle_heap"]

#: Net allocations between young-generation collections (CPython's default is 700). A batch of a few hundred
#: transfers allocates thousands of short-lived objects that reference counting frees on its own; at 700 the
#: collector ran about 20 times a second under load, a middle-generation pass pausing every request for 4-6 ms
#: (bench.ledger's grouped phase). At 10,000 it did not run at all in that phase; this value leaves room above that.
_YOUNG_THRESHOLD = 20_000


def settle_heap() -> None:
    """Freeze what start-up built and collect young objects less often.

    Everything built so far (the app, its routes and schema, the imported modules) lives as long as the process.
    Frozen, the collector stops re-scanning it, so a full collection under load no longer pauses requests for tens of
    milliseconds (measured by bench.ledger's grouped and HTTP phases).
    """
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(_YOUNG_THRESHOLD, middle, old)
