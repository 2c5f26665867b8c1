"""The ``dalil`` command line: a thin layer over the library (Typer + Rich).

One module per subcommand. Errors meant for the user are translated here, in one place, into a
one-line message and the exit codes of DESIGN.md: 0 ok, 1 integrity failure, 2 usage or input
error, 3 finished but some inputs could not be read.
"""

from __future__ import annotations

from dalil.cli import (  # noqa: F401  (each module registers its commands on ``app``)
    acquisitions,
    cases,
    catalog,
    clusters,
    demo,
    estimate,
    export,
    export_release,
    ingest,
    init,
    items,
    ledger,
    link,
    lists,
    reports,
    serve,
    show,
    similar,
    unlock,
    users,
    verify,
)
from dalil.cli.app import app


def main() -> None:
    """Entry point of the ``dalil`` console script."""
    app()
