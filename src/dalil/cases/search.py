"""Case search: full text plus structured filters, sorted and paged.

A :class:`SearchQuery` is plain data; :func:`search` turns it into one SQL statement. Only
:class:`CatalogueText` touches the full-text index, through :mod:`dalil.catalog.db` (FTS5 on
SQLite, ``tsvector`` on PostgreSQL, the same words either way).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from dalil.cases import vocabulary as vocab
from dalil.cases.model import identifier_types, query_keys
from dalil.catalog.db import Db, match_text
from dalil.errors import UsageError

SORTS = {
    "id": "c.id",
    "updated": "c.updated_at DESC, c.id",
    "photographed": "c.photographed_on IS NULL, c.photographed_on, c.id",
    "relevance": None,  # full-text rank when there is text, else id
}


@dataclass(frozen=True, slots=True)
class IdentifierFilter:
    """``TYPE:VALUE`` exact, ``TYPE:VALUE*`` prefix, ``TYPE:~VALUE`` one digit off (any type
    when ``TYPE:`` is left out)."""

    type: str | None
    value: str
    mode: str  # "exact" | "prefix" | "fuzzy"

    @classmethod
    def parse(cls, text: str) -> IdentifierFilter:
        kind, _, value = text.rpartition(":")
        value = vocab.normalise_identifier(value)
        mode = "exact"
        if value.startswith("~"):
            mode, value = "fuzzy", value[1:]
        elif value.endswith("*"):
            mode, value = "prefix", value[:-1]
        if not value:
            raise UsageError(f"{text!r}: give an identifier value, e.g. detainee:4721")
        return cls(kind or None, value, mode)


@dataclass(frozen=True, slots=True)
class SearchQuery:
    text: str = ""
    identifiers: tuple[IdentifierFilter, ...] = ()
    status: tuple[str, ...] = ()
    kind: str | None = None
    branch: str | None = None
    camera: str | None = None
    flag: str | None = None
    date_from: str | None = None
    date_to: str | None = None
    sort: str = "relevance"
    page: int = 1
    per_page: int = 20

    @classmethod
    def from_terms(
        cls,
        text: str = "",
        *,
        identifiers: Iterable[str] = (),
        status: Iterable[str] = (),
        sort: str = "relevance",
        page: int = 1,
        per_page: int = 20,
        **filters: str | None,
    ) -> SearchQuery:
        """A query from what people type (command line, form, API): identifier filters as
        text (``detainee:~4721``), empty filters meaning none."""
        return cls(
            text=text,
            identifiers=tuple(IdentifierFilter.parse(i) for i in identifiers if i.strip()),
            status=tuple(s for s in status if s),
            sort=sort,
            page=page,
            per_page=per_page,
            **{k: v or None for k, v in filters.items()},
        )


class TextIndex(Protocol):
    def hits(self, text: str, *, scored: bool = True) -> tuple[str, list[Any]]:
        """A subquery with columns ``id`` (cases.id) and, when ``scored``, ``score`` (lower is
        better) for the cases whose text matches, and its parameters."""
        ...


_WORD = re.compile(r"\w+", re.UNICODE)


class CatalogueText:
    """Full text through the catalogue's own index ``case_text`` (FTS5 on SQLite, a
    ``tsvector`` on PostgreSQL; its rowid is the case's id): every word must occur, the last
    one as a prefix, so people can type as they search."""

    def __init__(self, conn: Db) -> None:
        self.conn = conn

    def hits(self, text: str, *, scored: bool = True) -> tuple[str, list[Any]]:
        words = _WORD.findall(vocab.search_text(text))
        if not words:
            raise UsageError(f"{text!r} has no words to search for")
        return match_text(self.conn, "case_text", words, scored=scored)


def _identifier_condition(f: IdentifierFilter) -> tuple[str, list[Any]]:
    typed = " AND a.field = ?" if f.type else ""
    params: list[Any] = [f.type] if f.type else []
    live = "a.kind = 'identifier' AND a.state IN ('unverified', 'verified')"
    if f.mode == "exact":
        return (
            f"c.id IN (SELECT a.case_pk FROM annotations a WHERE {live}{typed} AND a.value = ?)",
            [*params, f.value],
        )
    if f.mode == "prefix":
        return (
            f"c.id IN (SELECT a.case_pk FROM annotations a WHERE {live}{typed}"
            " AND a.value >= ? AND a.value < ?)",
            [*params, f.value, f.value + "\U0010ffff"],
        )
    keys = query_keys(f.value)
    return (
        f"c.id IN (SELECT a.case_pk FROM identifier_keys k JOIN annotations a"
        f" ON a.id = k.annotation_id WHERE k.key IN ({','.join('?' * len(keys))})"
        f" AND {live}{typed})",
        [*keys, *params],
    )


def search(conn: Db, q: SearchQuery, text_index: TextIndex | None = None) -> dict[str, Any]:
    """Matching cases (a page of them) and how many match in all."""
    text_index = text_index or CatalogueText(conn)
    where: list[str] = []
    params: list[Any] = []

    def add(cond: str, values: list[Any]) -> None:
        where.append(cond)
        params.extend(values)

    known_types = identifier_types(conn)
    for f in q.identifiers:
        if f.type is not None and f.type not in known_types:
            raise UsageError(
                f"unknown identifier type {f.type!r}; types are: {', '.join(known_types)}"
            )
        add(*_identifier_condition(f))
    if q.status:
        unknown = [s for s in q.status if s not in vocab.STATUSES]
        if unknown:
            raise UsageError(f"unknown status {unknown[0]!r}; known: {', '.join(vocab.STATUSES)}")
        add(f"c.status IN ({','.join('?' * len(q.status))})", list(q.status))
    else:
        add("c.status NOT IN ('merged', 'rejected')", [])
    if q.kind:
        if q.kind not in vocab.KINDS:
            raise UsageError(f"unknown kind {q.kind!r}; kinds are: {', '.join(vocab.KINDS)}")
        add("c.kind = ?", [q.kind])
    if q.branch:
        branch = vocab.normalise_identifier(q.branch)
        add(*_identifier_condition(IdentifierFilter("branch", branch, "exact")))
    if q.camera:
        add("c.cameras LIKE ?", [f"% {q.camera} %"])
    if q.flag:
        from dalil.ingest.flags import check

        if check(q.flag) == "any":
            add("c.flags != ''", [])
        else:
            add("c.flags LIKE ?", [f"% {q.flag} %"])
    if q.date_from:
        add("c.photographed_on >= ?", [vocab.parse_date(q.date_from, "--from")])
    if q.date_to:
        add("c.photographed_on <= ?", [vocab.parse_date(q.date_to, "--to") + "\U0010ffff"])
    clause = " AND ".join(where) if where else "1 = 1"
    if q.sort not in SORTS:
        raise UsageError(f"sort by one of: {', '.join(SORTS)}")
    source: str = "cases c"
    source_params: list[Any] = []
    counted, counted_params = source, source_params
    order = SORTS[q.sort]
    if q.text.strip():
        scored = order is None
        sub, source_params = text_index.hits(q.text, scored=scored)
        source = f"({sub}) h JOIN cases c ON c.id = h.id"
        order = order or "h.score, c.id"
        sub, counted_params = text_index.hits(q.text, scored=False)
        counted = f"({sub}) h JOIN cases c ON c.id = h.id"
    order = order or "c.id"
    per_page = max(1, min(q.per_page, 500))
    page = max(1, q.page)
    total = conn.execute(
        f"SELECT COUNT(*) FROM {counted} WHERE {clause}", (*counted_params, *params)
    ).fetchone()[0]
    rows = conn.execute(
        f"SELECT c.case_id, c.kind, c.title, c.status, c.items, c.branch, c.photographed_on,"
        f" c.updated_at FROM {source} WHERE {clause} ORDER BY {order} LIMIT ? OFFSET ?",
        (*source_params, *params, per_page, (page - 1) * per_page),
    ).fetchall()
    keys = ("case_id", "kind", "title", "status", "items", "branch", "photographed_on", "updated")
    results = [dict(zip(keys, r, strict=True)) for r in rows]
    shown: dict[str, list[dict[str, Any]]] = {str(r["case_id"]): [] for r in results}
    if shown:  # the page's identifiers in one query, not one a case
        for case_id, t, v, st in conn.execute(
            "SELECT c.case_id, a.field, a.value, a.state FROM annotations a JOIN cases c"
            f" ON c.id = a.case_pk WHERE c.case_id IN ({','.join('?' * len(shown))})"
            " AND a.kind = 'identifier' AND a.state IN ('unverified', 'verified')"
            " ORDER BY c.case_id, a.field, a.id",
            list(shown),
        ):
            shown[str(case_id)].append({"type": t, "value": v, "state": st})
    for r in results:
        r["identifiers"] = shown[str(r["case_id"])]
    return {"total": total, "page": page, "per_page": per_page, "results": results}
