"""From a table's rows to list records: canonical fields, the other columns kept, and every
row that cannot be used reported with its line and the reason — never dropped silently."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from dalil.errors import UsageError
from dalil.lists.fields import FIELDS, field_for
from dalil.lists.reading import Table

_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_SEX = {
    "m": "m", "male": "m", "man": "m", "ذكر": "m", "رجل": "m", "h": "m", "homme": "m",
    "f": "f", "female": "f", "woman": "f", "أنثى": "f", "انثى": "f", "امرأة": "f",
    "femme": "f",
}  # fmt: skip
_NAME_FIELDS = ("full_name", "given_name", "family_name")
_DATE_FIELDS = ("birth_date", "arrest_date", "death_date")


@dataclass(slots=True)
class Records:
    mapping: dict[str, str | None]  # heading -> canonical field (None: kept as it is)
    id_column: str | None
    records: list[dict[str, Any]] = field(default_factory=list)
    bad: list[dict[str, Any]] = field(default_factory=list)
    empty_rows: int = 0


def column_mapping(headings: list[str], given: dict[str, str]) -> dict[str, str | None]:
    """Each heading's canonical field: the user's ``--map COL=FIELD`` first, then the headings
    people use (``field_for``). Two columns for one field is an error, not a guess."""
    for column, wanted in given.items():
        if column not in headings:
            raise UsageError(f"--map {column}={wanted}: no column {column!r}; columns: "
                             + ", ".join(headings))  # fmt: skip
        if wanted not in (*FIELDS, "-"):
            raise UsageError(f"--map {column}={wanted}: fields are {', '.join(FIELDS)} (or -)")
    mapping: dict[str, str | None] = {}
    for heading in headings:
        chosen = given.get(heading, field_for(heading))
        mapping[heading] = None if chosen in (None, "-") else chosen
    taken: dict[str, str] = {}
    for heading, target in mapping.items():
        if target is None:
            continue
        if target in taken:
            raise UsageError(
                f"columns {taken[target]!r} and {heading!r} both map to {target}: say which with"
                f" --map, e.g. --map '{heading}=-'"
            )
        taken[target] = heading
    return mapping


def clean_date(value: str) -> str | None:
    """An ISO date (or year, or year-month) from the ways dates are written, else None."""
    text = value.strip().translate(_DIGITS)
    if re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", text):
        parts = [int(p) for p in text.split("-")]
        return text if _real(*parts) else None
    compact = re.fullmatch(r"(\d{4})(\d{2})(\d{2})", text)  # 19560412
    if compact:
        year, month, day = (int(g) for g in compact.groups())
        return f"{year:04d}-{month:02d}-{day:02d}" if _real(year, month, day) else None
    found = re.fullmatch(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})", text)
    if found:
        day, month, year = (int(g) for g in found.groups())
        return f"{year:04d}-{month:02d}-{day:02d}" if _real(year, month, day) else None
    return None


def _real(year: int, month: int = 1, day: int = 1) -> bool:
    try:
        dt.date(year, month, day)
    except ValueError:
        return False
    return 1850 <= year <= 2100


def _clean(name: str, value: str, warnings: list[str]) -> str:
    value = value.strip()
    if not value:
        return ""
    if name in ("birth_year", "detainee_number", "national_id", "postcode", "branch"):
        value = value.translate(_DIGITS)
    if name == "sex":
        sex = _SEX.get(value.casefold())
        if sex is None:
            warnings.append(f"sex {value!r} is neither male nor female: kept as written")
            return value
        return sex
    if name in _DATE_FIELDS:
        iso = clean_date(value)
        if iso is None:
            warnings.append(f"{name} {value!r} is not a date: kept as written")
            return value
        return iso
    if name == "birth_year" and not (value.isdigit() and _real(int(value))):
        warnings.append(f"birth_year {value!r} is not a year: kept as written")
    return value


def records_of(table: Table, mapping: dict[str, str | None], id_column: str | None) -> Records:
    if id_column is not None and id_column not in table.headings:
        raise UsageError(f"--id-column {id_column!r}: no such column; columns: "
                         + ", ".join(table.headings))  # fmt: skip
    out = Records(mapping, id_column)
    seen: dict[str, int] = {}
    width = len(table.headings)
    for line, cells in table.rows:
        if not any(c.strip() for c in cells):
            out.empty_rows += 1
            continue
        if len(cells) > width and any(c.strip() for c in cells[width:]):
            out.bad.append({"line": line, "reason": f"{len(cells)} cells for {width} columns",
                            "raw": cells})  # fmt: skip
            continue
        cells = cells + [""] * (width - len(cells))
        warnings: list[str] = []
        fields: dict[str, str] = {}
        extra: dict[str, str] = {}
        for heading, value in zip(table.headings, cells, strict=False):
            target = mapping.get(heading)
            if target is None:
                if value.strip():
                    extra[heading] = value.strip()
                continue
            cleaned = _clean(target, value, warnings)
            if cleaned:
                fields[target] = cleaned
        if "birth_year" not in fields and fields.get("birth_date", "")[:4].isdigit():
            fields["birth_year"] = fields["birth_date"][:4]
        if not any(fields.get(f) for f in _NAME_FIELDS):
            out.bad.append({"line": line, "reason": "no name in this row", "raw": cells})
            continue
        record_id = str(line) if id_column is None else cells[table.headings.index(id_column)]
        record_id = record_id.strip().translate(_DIGITS)
        if not record_id:
            out.bad.append({"line": line, "reason": f"no {id_column!r}", "raw": cells})
            continue
        if record_id in seen:
            out.bad.append({"line": line, "reason": f"{id_column} {record_id!r} is also on"
                            f" line {seen[record_id]}", "raw": cells})  # fmt: skip
            continue
        seen[record_id] = line
        out.records.append(
            {"id": record_id, "line": line, "fields": fields, "extra": extra,
             "warnings": warnings}
        )  # fmt: skip
    return out
