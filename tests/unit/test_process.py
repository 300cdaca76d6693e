"""settle_heap: start-up objects frozen, young collections rare."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from timebank.process import settle_heap


@pytest.fixture(name="restored_collector")
def fx_restored_collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored_collector")
def test_settle_heap_freezes_start_up_objects_and_raises_the_young_threshold() -> None:
    gc.unfreeze()
    _, middle, old = gc.get_threshold()
    settle_heap()
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (20_000, middle, old)
