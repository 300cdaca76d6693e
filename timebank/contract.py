"""The published contract, rendered from the app itself: the OpenAPI document and the problem types."""

from __future__ import annotations

import importlib
import json
import pkgutil
from pathlib import Path
from typing import Any

import msgspec

import timebank
from timebank.app import create_app
from timebank.errors import TimebankError
from timebank.http.problems import PROBLEM_TYPES, problem_type
from timebank.settings import Settings

__all__ = ["CONTRACT_FILES", "render_contracts"]

#: Contract files, relative to the repository root.
CONTRACT_FILES = (Path("contracts") / "openapi.json", Path("contracts") / "problems.json")


def _dump(document: Any) -> str:
    # msgspec first, as the served /schema/openapi.json does: defaults such as durations become ISO 8601 strings.
    return json.dumps(msgspec.to_builtins(document), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _domain_errors(root: type[TimebankError] = TimebankError) -> list[type[TimebankError]]:
    found = []
    for cls in root.__subclasses__():
        found.append(cls)
        found.extend(_domain_errors(cls))
    return found


def _import_every_module() -> None:
    """Import all of timebank, so every error class is defined whichever modules the caller happened to import."""
    for module in pkgutil.walk_packages(timebank.__path__, f"{timebank.__name__}."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)


def _problems() -> dict[str, dict[str, str]]:
    _import_every_module()
    problems = {code: {"type": problem_type(code), "meaning": meaning} for code, meaning in PROBLEM_TYPES.items()}
    for cls in _domain_errors():
        doc = (cls.__doc__ or cls.title).strip().splitlines()[0]
        problems[cls.code] = {"type": problem_type(cls.code), "title": cls.title, "meaning": doc}
    return problems


def render_contracts() -> dict[Path, str]:
    """Each contract file's expected content: OpenAPI 3.1 from the app, and the registry of problem types."""
    app = create_app(Settings())
    return {
        CONTRACT_FILES[0]: _dump(app.openapi_schema.to_schema()),
        CONTRACT_FILES[1]: _dump(_problems()),
    }
