"""Reading the spreadsheets people send: CSV in the encodings actually used, and XLSX.

A CSV file is decoded as UTF-8 (with or without a byte-order mark), UTF-16 (with one), or —
when it is not valid UTF-8 — Windows-1256, the Arabic Windows code page most Arabic
spreadsheets were saved in; the separator (comma, semicolon, tab) is taken from the first
lines. An XLSX workbook is read sheet by sheet (``--sheet``; the first by default), values as
text. Every row keeps the line (or sheet row) it came from, so problems are reported by line.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path

from dalil.errors import UsageError


@dataclass(slots=True)
class Table:
    headings: list[str]
    rows: list[tuple[int, list[str]]]  # (line number, cells)
    encoding: str
    sheet: str | None = None
    notes: list[str] = field(default_factory=list)


def decode(data: bytes) -> tuple[str, str]:
    """The text of a CSV file and the encoding it was read in."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1256", errors="replace"), "cp1256"


def read_csv(data: bytes) -> Table:
    text, encoding = decode(data)
    sample = "\n".join(text.splitlines()[:20])
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    rows: list[tuple[int, list[str]]] = []
    headings: list[str] | None = None
    for cells in reader:
        line = reader.line_num
        if headings is None:
            if any(c.strip() for c in cells):
                headings = [c.strip() for c in cells]
            continue
        rows.append((line, cells))
    if headings is None:
        raise UsageError("the file has no heading row (the first line names the columns)")
    return Table(headings, rows, encoding)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_xlsx(data: bytes, sheet: str | None) -> Table:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise UsageError(f"not a readable XLSX workbook ({exc})") from exc
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise UsageError(f"no sheet {sheet!r}; sheets: {', '.join(book.sheetnames)}")
        ws = book[sheet] if sheet is not None else book.worksheets[0]
        rows: list[tuple[int, list[str]]] = []
        headings: list[str] | None = None
        for number, values in enumerate(ws.iter_rows(values_only=True), 1):
            cells = [_cell(v) for v in values]
            if headings is None:
                if any(c.strip() for c in cells):
                    headings = [c.strip() for c in cells]
                continue
            rows.append((number, cells))
        if headings is None:
            raise UsageError(f"sheet {ws.title!r} has no heading row")
        notes = [f"read sheet {ws.title!r} of {', '.join(book.sheetnames)}"]
        return Table(headings, rows, "xlsx", ws.title, notes)
    finally:
        book.close()


def read_table(path: Path, sheet: str | None = None) -> tuple[Table, bytes]:
    """The table in ``path`` (by content, not by name: an XLSX is a zip) and its bytes."""
    data = path.read_bytes()
    if data.startswith(b"PK\x03\x04"):
        return read_xlsx(data, sheet), data
    if sheet is not None:
        raise UsageError("--sheet is for XLSX workbooks; this is a CSV file")
    return read_csv(data), data
