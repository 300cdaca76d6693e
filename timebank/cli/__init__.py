"""The ``timebank`` command line, built on click (which Litestar already brings)."""

from __future__ import annotations

import click

import timebank
from timebank.cli.contracts import contracts
from timebank.cli.demo import demo
from timebank.cli.ledger import ledger
from timebank.cli.migrate import migrate
from timebank.cli.orders import orders
from timebank.cli.people import people
from timebank.cli.rewards import rewards
from timebank.cli.serve import serve
from timebank.cli.token import password, token
from timebank.cli.volunteering import volunteering

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(timebank.__version__, prog_name="timebank")
def main() -> None:
    """timebank: volunteer time bank and points ledger for urban communities.

    Configuration comes from TIMEBANK_* environment variables; see the README.
    """


main.add_command(serve)
main.add_command(migrate)
main.add_command(contracts)
main.add_command(ledger)
main.add_command(people)
main.add_command(demo)
main.add_command(rewards)
main.add_command(orders)
main.add_command(volunteering)
main.add_command(token)
main.add_command(password)
