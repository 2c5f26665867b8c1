"""Spreadsheets of the case table and of the identifiers read or typed for cases, as CSV
(UTF-8 with a byte-order mark, so that Excel reads Arabic) and XLSX (openpyxl).

A cell that a spreadsheet would take for a formula (it starts with ``=``, ``+``, ``-``, ``@``
or a tab) gets a leading apostrophe: a title typed by someone can never run in the
spreadsheet of someone else (OWASP's "CSV injection")."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from dalil.errors import NotFound
from dalil.web import auth
from dalil.web.auth import Browse
from dalil.web.guard import GuardedRoute

router = APIRouter(route_class=GuardedRoute)

CASE_COLUMNS = ("case", "kind", "title", "status", "items", "branch", "photographed on", "updated")
IDENTIFIER_COLUMNS = ("case", "type", "value", "state", "source", "confidence", "item", "author",
                      "recorded at")  # fmt: skip
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """``value`` as a spreadsheet cell that cannot be a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value
    return value


def _vault(request: Request) -> Any:
    return request.app.state.vault


def _cases(request: Request) -> list[Sequence[object]]:
    with auth.connection(_vault(request)) as conn:
        rows = conn.execute(
            "SELECT case_id, kind, title, status, items, branch, photographed_on, updated_at"
            " FROM cases ORDER BY id"
        ).fetchall()
    return [tuple(r) for r in rows]


def _identifiers(request: Request) -> list[Sequence[object]]:
    with auth.connection(_vault(request)) as conn:
        rows = conn.execute(
            "SELECT c.case_id, a.field, a.value, a.state, a.source, a.confidence, a.item,"
            " a.author, a.created_at FROM annotations a JOIN cases c ON c.id = a.case_pk"
            " WHERE a.kind = 'identifier' ORDER BY c.id, a.id"
        ).fetchall()
    return [tuple(r) for r in rows]


def spreadsheet(
    name: str, columns: Sequence[str], rows: list[Sequence[object]], form: str
) -> Response:
    """``rows`` under ``columns`` as a CSV or XLSX download called ``name.form``."""
    if form == "csv":
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\r\n")
        writer.writerow(columns)
        writer.writerows([[safe_cell(v) for v in row] for row in rows])
        body = ("\ufeff" + text.getvalue()).encode("utf-8")
        media = "text/csv; charset=utf-8"
    elif form == "xlsx":
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet(name)
        sheet.append(list(columns))
        for row in rows:
            sheet.append([safe_cell(v) for v in row])
        out = io.BytesIO()
        book.save(out)
        body = out.getvalue()
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        raise NotFound(f"no export as {form!r} (csv or xlsx)")
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}.{form}"'},
    )


@router.get("/export/cases.{form}")
def cases_table(request: Request, user: Browse, form: str) -> Response:
    """Every case: identifier, kind, title, status, number of items, branch, dates."""
    return spreadsheet("cases", CASE_COLUMNS, _cases(request), form)


@router.get("/export/identifiers.{form}")
def identifiers_table(request: Request, user: Browse, form: str) -> Response:
    """Every identifier of every case, with its review state and where it came from."""
    return spreadsheet("identifiers", IDENTIFIER_COLUMNS, _identifiers(request), form)
