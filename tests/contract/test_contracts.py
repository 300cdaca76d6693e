"""contracts/ is generated from the app; this fails when the committed files drift from it."""

import json
from pathlib import Path

import pytest

from timebank.contract import render_contracts

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("relative", "expected"), list(render_contracts().items()), ids=str)
def test_committed_contract_matches_app(relative: Path, expected: str) -> None:
    committed = (ROOT / relative).read_text(encoding="utf-8")
    assert committed == expected, f"{relative} is stale: run `timebank contracts` and commit the result"


def test_openapi_is_3_1_and_lists_the_probes() -> None:
    document = json.loads(render_contracts()[Path("contracts/openapi.json")])
    assert document["openapi"].startswith("3.1")
    assert "/health/ready" in document["paths"]
