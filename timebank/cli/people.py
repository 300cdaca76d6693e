"""``timebank people``: bring a community's residents in from its spreadsheets."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from timebank.cli._common import command_database, load_settings
from timebank.community.import_files import ImportFileError
from timebank.community.importing import ImportReport, apply_import, prepare_import
from timebank.errors import TimebankError
from timebank.keys import load_keys

__all__ = ["people"]


@click.group()
def people() -> None:
    """People of a community."""


@people.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--community", "community_code", required=True, help="Code of the community the people join.")
@click.option("--dry-run", is_flag=True, help="Check every row against the data and report; write nothing.")
def import_(file: Path, community_code: str, dry_run: bool) -> None:
    """Import households, people and party members from FILE (CSV or XLSX, one row per person).

    Every refused row is listed with its row number, column and problem; the other rows are written (or, with
    --dry-run, only checked). Importing the same file again changes nothing. Exits 1 when any row was refused.
    The columns are described in the README, section "Importing residents".
    """
    settings = load_settings()
    key = load_keys(settings).personal_data
    try:
        prepared = prepare_import(file)
    except ImportFileError as exc:
        raise click.ClickException(exc.detail) from None

    async def run() -> ImportReport:
        async with command_database(settings) as database:
            await database.migrate_forwards()
            await database.open()
            try:
                label = "checking" if dry_run else "importing"
                with click.progressbar(length=prepared.rows, label=label, file=sys.stderr) as bar:
                    return await apply_import(
                        database.pool,
                        prepared,
                        community_code=community_code,
                        key=key,
                        dry_run=dry_run,
                        progress=bar.update,
                    )
            finally:
                await database.close()

    try:
        report = asyncio.run(run())
    except TimebankError as exc:
        raise click.ClickException(exc.detail) from None
    _print(report)
    if report.errors:
        raise SystemExit(1)


def _print(report: ImportReport) -> None:
    for error in report.errors:
        click.echo(f"row {error.row}, {report.column_of(error)}: {error.problem}")
    refused_rows = len({error.row for error in report.errors})
    outcome = "would be imported (dry run: nothing written)" if report.dry_run else "imported"
    click.echo(f"{report.rows} rows: {report.imported} {outcome}, {refused_rows} refused")
    changes = ", ".join(f"{name.replace('_', ' ')} {count}" for name, count in report.changes.items())
    click.echo(f"changes: {changes or 'none'}")
