"""``python -m timebank`` runs the command line."""

from timebank.cli import main

main()
