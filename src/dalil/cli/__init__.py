"""The ``dalil`` command line: a thin layer over the library (Typer + Rich).

One module per subcommand, imported only when that command is used (``app.COMMANDS``). Errors
meant for the user are translated here, in one place, into a one-line message and the exit codes
of DESIGN.md: 0 ok, 1 integrity failure, 2 usage or input error, 3 finished but some inputs could
not be read.
"""

from __future__ import annotations

from dalil.cli.app import app, load_commands

__all__ = ["app", "load_commands", "main"]


def main() -> None:
    """Entry point of the ``dalil`` console script."""
    app()
