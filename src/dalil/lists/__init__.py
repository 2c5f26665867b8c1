"""External lists of detainees, victims and the missing, imported for linkage and estimation.

``import_list`` reads a CSV or XLSX file (:mod:`.reading`), maps its columns to the canonical
fields (:mod:`.fields`) and turns its rows into records, reporting every row it cannot use
(:mod:`.rows`). The original file is ingested into the vault as an item — its SHA-256 is the
list's provenance — and the import is one ``list.imported`` ledger event whose payload holds
every record, so the list, like every fact in the catalogue, is a projection of the ledger.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dalil.catalog import atomic
from dalil.catalog.db import Db
from dalil.errors import UsageError
from dalil.lists.reading import read_table
from dalil.lists.rows import column_mapping, records_of
from dalil.vault import Vault

_NAME = re.compile(r"[\w][\w.\-]{0,39}")


@dataclass(slots=True)
class ImportReport:
    name: str
    sha256: str
    acquisition: str
    encoding: str
    sheet: str | None
    records: int
    bad_rows: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    empty_rows: int = 0
    mapping: dict[str, str | None] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "list": self.name,
            "sha256": self.sha256,
            "acquisition": self.acquisition,
            "encoding": self.encoding,
            "sheet": self.sheet,
            "records": self.records,
            "bad_rows": self.bad_rows,
            "warnings": self.warnings,
            "empty_rows": self.empty_rows,
            "mapping": self.mapping,
        }


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise UsageError(
            f"a list name is 1-40 letters, digits, '.', '-' or '_' (no spaces or ':'): {name!r}"
        )
    return name


def import_list(
    vault: Vault,
    path: Path,
    name: str,
    source: str,
    actor: str,
    *,
    id_column: str | None = None,
    mapping: dict[str, str] | None = None,
    sheet: str | None = None,
) -> ImportReport:
    """Import one list; refuses a name already taken (lists are never overwritten)."""
    from dalil.ingest.session import IngestOptions, IngestSession

    check_name(name)
    if not source.strip():
        raise UsageError("--from must say where the list came from")
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    conn = vault.connect()
    try:
        if conn.execute("SELECT 1 FROM lists WHERE name = ?", (name,)).fetchone():
            raise UsageError(f"there is a list {name!r} already: choose another name")
    finally:
        conn.close()
    table, data = read_table(path, sheet)
    columns = column_mapping(table.headings, mapping or {})
    parsed = records_of(table, columns, id_column)
    ingest = IngestSession(
        vault, IngestOptions([path], f"list {name}: {source}", actor, group=False)
    ).run()
    import hashlib

    sha = hashlib.sha256(data).hexdigest()
    payload = {
        "list": name,
        "from": source,
        "sha256": sha,
        "file": path.name,
        "encoding": table.encoding,
        "sheet": table.sheet,
        "id_column": id_column,
        "columns": table.headings,
        "mapping": columns,
        "records": parsed.records,
        "bad_rows": parsed.bad,
    }
    conn = vault.connect()
    try:
        with vault.writer_lock(), atomic(conn):
            vault.ledger(conn).append(
                actor,
                "list.imported",
                f"list:{name}",
                {
                    "list": name,
                    "sha256": sha,
                    "records": len(parsed.records),
                    "bad_rows": len(parsed.bad),
                },
                payload,
            )
            vault.ledger(conn).sign_tail()
    finally:
        conn.close()
    return ImportReport(
        name,
        sha,
        ingest.acquisition,
        table.encoding,
        table.sheet,
        len(parsed.records),
        parsed.bad,
        [
            {"line": r["line"], "id": r["id"], "warnings": r["warnings"]}
            for r in parsed.records
            if r["warnings"]
        ],
        parsed.empty_rows,
        columns,
    )


def list_lists(conn: Db) -> list[dict[str, Any]]:
    keys = ("list", "from", "sha256", "file", "records", "bad_rows", "imported_by", "imported_at")
    return [
        dict(zip(keys, r, strict=True))
        for r in conn.execute(
            "SELECT name, source, sha256, file_name, records, bad_rows, imported_by, imported_at"
            " FROM lists ORDER BY imported_at, name"
        )
    ]


def records(conn: Db, name: str) -> list[dict[str, Any]]:
    """A list's records: id, line, canonical fields and the other columns."""
    import json

    if not conn.execute("SELECT 1 FROM lists WHERE name = ?", (name,)).fetchone():
        raise UsageError(f"no list {name!r} (see 'dalil lists')")
    return [
        {"id": r[0], "line": r[1], "fields": json.loads(r[2]), "extra": json.loads(r[3])}
        for r in conn.execute(
            "SELECT record_id, line, fields, extra FROM list_records WHERE list = ? ORDER BY line",
            (name,),
        )
    ]
