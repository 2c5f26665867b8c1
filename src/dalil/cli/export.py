"""``dalil export …``: court bundles and public releases."""

from __future__ import annotations

import typer

from dalil.cli.app import app

export_app = typer.Typer(
    help="Court bundles that verify themselves, and public releases.", no_args_is_help=True
)
app.add_typer(export_app, name="export")
