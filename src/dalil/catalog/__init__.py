"""The SQLite catalogue: what the vault holds and where each item came from."""

from __future__ import annotations

from dalil.catalog.db import atomic, connect
from dalil.catalog.migrations import MIGRATIONS, migrate

__all__ = ["MIGRATIONS", "atomic", "connect", "migrate"]
