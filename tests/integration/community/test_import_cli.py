"""``timebank demo sheet`` and ``timebank people import`` as staff run them: the report, exit codes, idempotence."""

from __future__ import annotations

import asyncio
import importlib
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from timebank.cli import main
from timebank.db import EVERY_COMMUNITY, Database, bound
from timebank.settings import Settings


async def _community(database: Database) -> str:
    street_id, community_id = uuid.uuid4(), uuid.uuid4()
    code = f"cli-{community_id.hex[:10]}"
    async with bound(database.pool, EVERY_COMMUNITY) as connection:
        await connection.execute("INSERT INTO street (id, code, name) VALUES ($1, $2, '望城街道')", street_id, code)
        await connection.execute(
            "INSERT INTO community (id, street_id, code, name) VALUES ($1, $2, $3, '烟台路社区')",
            community_id,
            street_id,
            code,
        )
    return code


@pytest.fixture(autouse=True)
def fx_quiet_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    # The commands configure logging for a process of their own; in the test process that would cache loggers
    # that later tests capture.
    # (``timebank.cli.people`` the attribute is the command group; the module is looked up by name.)
    for module in ("timebank.cli.people", "timebank.cli.demo"):
        monkeypatch.setattr(importlib.import_module(module), "load_settings", Settings.from_env)


async def test_import_command_reports_refused_rows_then_changes_nothing_the_second_time(
    database: Database, database_url: str, tmp_path: Path
) -> None:
    code = await _community(database)
    sheet = tmp_path / "residents.csv"
    env = {"TIMEBANK_DATABASE_URL": database_url, "TIMEBANK_DATA_DIR": str(tmp_path / "data")}
    runner = CliRunner()

    def invoke(*args: str) -> tuple[int, str, str]:
        # The report goes to stdout; the progress bar and a refusal of the whole command go to stderr.
        result = runner.invoke(main, list(args), env=env)
        return result.exit_code, result.stdout, result.stderr

    async def run(*args: str) -> tuple[int, str, str]:
        # A command runs an event loop of its own, so it runs in a thread beside the test's loop.
        return await asyncio.to_thread(invoke, *args)

    exit_code, output, errors = await run("demo", "sheet", str(sheet), "--rows", "60", "--errors", "2", "--seed", "5")
    assert exit_code == 0
    assert output.splitlines() == [
        f"wrote 60 rows to {sheet}",
        "planted: row 17, 身份证号: a digit mistyped",
        "planted: row 47, 手机号: a digit left out",
    ]

    exit_code, output, errors = await run("people", "import", str(sheet), "--community", code, "--dry-run")
    assert exit_code == 1
    lines = output.splitlines()
    assert lines[0].startswith("row 17, B 身份证号: check character is")
    assert lines[1] == "row 47, C 手机号: must have 11 digits, has 10"
    assert lines[2] == "60 rows: 58 would be imported (dry run: nothing written), 2 refused"
    assert "checking" in errors  # the progress bar's label

    exit_code, output, errors = await run("people", "import", str(sheet), "--community", code)
    assert exit_code == 1
    assert "60 rows: 58 imported, 2 refused" in output
    assert "people created 58" in output
    exit_code, output, errors = await run("people", "import", str(sheet), "--community", code)
    assert output.endswith("changes: none\n")

    exit_code, output, errors = await run("people", "import", str(sheet), "--community", "nowhere")
    assert exit_code == 1
    assert "no community has the code 'nowhere'" in errors
