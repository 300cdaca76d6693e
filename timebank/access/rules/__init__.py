"""Every capability's access rules, collected into the one policy.

Each module here declares the rules of one capability as ``RULES: tuple[Rule, ...]`` (see
:mod:`timebank.access.policy`). Adding a capability's rules is adding a module: nothing else to register, so
capabilities never edit each other's files. Two rules for one action stop the service at start.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator

from timebank.access.policy import Policy, Rule

__all__ = ["POLICY", "collect_rules"]


def collect_rules() -> Iterator[Rule]:
    """The rules of every module in this package, in module-name order."""
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        yield from getattr(module, "RULES", ())


#: The policy every endpoint is decided by.
POLICY = Policy(collect_rules())
