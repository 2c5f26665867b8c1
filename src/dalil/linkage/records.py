"""What linkage compares: every list record, family report and case as one row of the same
columns, names in their script-neutral comparison form (:mod:`dalil.names`)."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from dalil.catalog.db import Db
from dalil.errors import UsageError

COLUMNS = (
    "unique_id",
    "source_dataset",
    "given",
    "father",
    "grandfather",
    "family",
    "mother",
    "full",
    "given_key",
    "family_key",
    "father_key",
    "birth_year",
    "birth_date",
    "sex",
    "branch",
    "detainee_number",
    "national_id",
    "address",
    "postcode",
    "place",
)
"""The columns of a linkage row (Splink's input)."""


@dataclass(frozen=True, slots=True)
class Source:
    """Where rows come from: a list (``list:NAME``), the family reports, or the cases."""

    kind: str  # "list", "reports", "cases"
    name: str

    @property
    def label(self) -> str:
        return self.name if self.kind == "list" else self.kind


def _year(value: Any) -> int | None:
    found = re.search(r"\d{4}", str(value or ""))
    return int(found.group(0)) if found else None


def _digits(value: Any) -> str | None:
    text = re.sub(r"\D", "", str(value or ""))
    return text or None


def _date(value: Any) -> str | None:
    """A full date as ``YYYYMMDD`` (so a slip is one character); None for a year alone."""
    found = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", str(value or "").strip())
    return "".join(found.groups()) if found else None


def _plain(value: Any) -> str | None:
    """Free text (an address) folded for comparison: case, punctuation and spacing."""
    from dalil.cases.vocabulary import search_text

    text = " ".join(re.sub(r"[^\w]+", " ", search_text(str(value or ""))).split())
    return text or None


@functools.lru_cache(maxsize=1 << 16)
def _form(value: str) -> str | None:
    from dalil import names

    return names.comparison_form(value) or None


@functools.lru_cache(maxsize=1 << 16)
def _key(value: str) -> str | None:
    from dalil import names

    return names.phonetic_key(value) or None


@functools.lru_cache(maxsize=1 << 16)
def _parsed(full: str) -> Any:
    from dalil import names

    return names.parse_name(full)


def row(uid: str, source: str, fields: dict[str, Any]) -> dict[str, Any]:
    """One linkage row from canonical fields (a full name is split into its parts when the
    parts are not given)."""
    given, father = fields.get("given_name"), fields.get("father_name")
    grandfather, family = fields.get("grandfather_name"), fields.get("family_name")
    full = fields.get("full_name") or fields.get("full_name_latin")
    if full and "," in str(full):  # "FAMILY, Given Father": the family name first, then a comma
        family_first, _, rest = str(full).partition(",")
        full = f"{rest.strip()} {family_first.strip()}".strip()
        family = family or family_first.strip()
    if full and not (given and family):
        parsed = _parsed(str(full))
        given = given or parsed.given
        father = father or parsed.father
        grandfather = grandfather or parsed.grandfather
        family = family or parsed.family
    if not full:
        full = " ".join(str(p) for p in (given, father, grandfather, family) if p)

    def form(value: Any) -> str | None:  # names repeat: each spelling is worked out once
        return _form(str(value)) if value else None

    def key(value: Any) -> str | None:
        return _key(str(value)) if value else None

    sex = str(fields.get("sex") or "").lower()[:1] or None
    return {
        "unique_id": uid,
        "source_dataset": source,
        "given": form(given),
        "father": form(father),
        "grandfather": form(grandfather),
        "family": form(family),
        "mother": form(fields.get("mother_name")),
        "full": form(full),
        "given_key": key(given),
        "family_key": key(family),
        "father_key": key(father),
        "birth_year": _year(fields.get("birth_year") or fields.get("birth_date")),
        "birth_date": _date(fields.get("birth_date")),
        "sex": sex if sex in ("m", "f") else None,
        "branch": _digits(fields.get("branch")),
        "detainee_number": _digits(fields.get("detainee_number")),
        "national_id": _digits(fields.get("national_id")),
        "address": _plain(fields.get("address")),
        "postcode": _digits(fields.get("postcode")),
        "place": form(fields.get("birth_place")),
    }


def list_rows(conn: Db, name: str) -> list[dict[str, Any]]:
    if not conn.execute("SELECT 1 FROM lists WHERE name = ?", (name,)).fetchone():
        raise UsageError(f"no list {name!r} (see 'dalil lists')")
    return [
        row(f"{name}:{rid}", name, json.loads(fields))
        for rid, fields in conn.execute(
            "SELECT record_id, fields FROM list_records WHERE list = ? ORDER BY line", (name,)
        )
    ]


def report_rows(conn: Db) -> list[dict[str, Any]]:
    return [
        row(f"reports:{rid}", "reports", json.loads(fields))
        for rid, fields in conn.execute("SELECT report_id, fields FROM reports ORDER BY report_id")
    ]


def case_fields(conn: Db, pk: int) -> dict[str, Any]:
    """A case's canonical fields from what people claimed about it (verified claims last, so
    they win): detainee and branch numbers, sex, a name, a birth year."""
    fields: dict[str, Any] = {}
    for kind, field, value in conn.execute(
        "SELECT kind, field, value FROM annotations WHERE case_pk = ? AND state IN"
        " ('unverified', 'verified') ORDER BY state = 'verified', id",
        (pk,),
    ):
        if kind == "identifier" and field in ("detainee", "branch"):
            fields["detainee_number" if field == "detainee" else "branch"] = value
        elif kind == "attribute" and field in ("sex", "name", "birth_year"):
            fields["full_name" if field == "name" else field] = value
    return fields


def case_rows(conn: Db) -> list[dict[str, Any]]:
    """Person cases, with what people claimed about them (verified or not): identifiers, sex,
    a name when someone gave one (the title is a label, not a name, and is not used)."""
    out = []
    for pk, case_id in conn.execute(
        "SELECT id, case_id FROM cases WHERE kind = 'person' AND status NOT IN ('merged',"
        " 'rejected') ORDER BY id"
    ).fetchall():
        fields = case_fields(conn, pk)
        if fields:
            out.append(row(f"cases:{case_id}", "cases", fields))
    return out


def rows_of(conn: Db, sources: Iterable[Source]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for source in sources:
        if source.kind == "list":
            out += list_rows(conn, source.name)
        elif source.kind == "reports":
            out += report_rows(conn)
        else:
            out += case_rows(conn)
    return out
