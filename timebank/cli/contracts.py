"""``timebank contracts``: regenerate contracts/ from the app, or check that the committed files are current."""

from __future__ import annotations

from pathlib import Path

import click

from timebank.contract import render_contracts

__all__ = ["contracts"]


@click.command()
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(),
    show_default=True,
    help="Repository root that holds contracts/.",
)
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if a committed file differs from the app.")
def contracts(root: Path, check: bool) -> None:
    """Generate contracts/openapi.json and contracts/problems.json from the app."""
    stale = []
    for relative, content in render_contracts().items():
        path = root / relative
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != content:
                stale.append(str(relative))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        click.echo(f"wrote {relative}")
    if stale:
        raise click.ClickException(f"out of date: {', '.join(stale)}; run `timebank contracts` and commit")
    if check:
        click.echo("contracts are current")
