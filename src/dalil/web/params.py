"""Numbers that routes take from the URL, each with the range the catalogue can hold.

SQLite integers are 64-bit: a page number or an offset beyond that is not an empty page but an
``OverflowError`` deep in a query. Every integer a route takes (page numbers, offsets, ledger
positions, row ids) is declared here with its bounds; a value outside them is refused with 400
and a sentence naming the parameter (:func:`explain`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query

MAX_ROW = 2**62
"""Above any row id, ledger position or offset a vault will reach, and far from SQLite's
limit (2**63 - 1) even after arithmetic (a page number times a page size)."""

MAX_PAGE = 1_000_000
"""Pages of results: a million pages of up to 500 rows is beyond any vault."""

PageNo = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page number, from 1.")]
Offset = Annotated[int, Query(ge=0, le=MAX_ROW, description="Rows to skip.")]
Before = Annotated[
    int | None, Query(ge=0, le=MAX_ROW, description="Only events before this ledger position.")
]
AnnotationId = Annotated[int, Path(ge=1, le=MAX_ROW, description="A claim's number.")]


def explain(errors: list[Any]) -> str:
    """One sentence for what FastAPI found wrong with a request's parameters or body."""
    parts = []
    for error in errors[:5]:
        where = [str(p) for p in error.get("loc", ()) if p not in ("query", "path", "body")]
        name = ".".join(where) or "request"
        context = error.get("ctx") or {}
        if error.get("type") == "less_than_equal":
            parts.append(f"{name} must be at most {context.get('le')}")
        elif error.get("type") == "greater_than_equal":
            parts.append(f"{name} must be at least {context.get('ge')}")
        elif error.get("type") == "int_parsing":
            parts.append(f"{name} must be a whole number")
        elif error.get("type") == "missing":
            parts.append(f"{name} is missing")
        else:
            parts.append(f"{name}: {error.get('msg', 'not valid')}")
    return "; ".join(parts)
