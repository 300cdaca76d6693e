"""Per-capability cases for tests/http/test_authorization.py (the endpoint × role test).

Each module here may define, for its capability's actions:

- ``EXPECTED: dict[str, dict[str, str]]``: action → role → what the role gets on (mine, theirs, foreign), e.g.
  ``"ok 403 404"`` ("ok" is any 2xx); every role of ``ROLES`` in the test, plus ``anonymous``;
- ``BUILDERS: dict[str, Builder]``: action → ``async (world, owner) -> (method, path, json, query)``, a request
  acting on a row of ``owner`` (build any rows needed through ``world.database`` / ``world.org``);
- ``AWAITING_RULES``: actions served without a rule yet (the guard refuses them to everyone; the test proves it);
- ``AWAITING_MATRIX``: actions with a rule whose rows of the table are not written yet.

The two AWAITING sets are explicit on purpose: a new route fails the test until someone names it somewhere, and
an action listed as awaiting fails the test once its rule or table exists, so the lists cannot go stale.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

__all__ = ["case_modules"]


def case_modules() -> list[ModuleType]:
    return [
        importlib.import_module(f"{__name__}.{info.name}")
        for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name)
    ]
