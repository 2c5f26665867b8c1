"""Server-rendered pages (Jinja2 + htmx). Every route names the permission it needs."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

from dalil import i18n, users
from dalil.cases import model, review
from dalil.cases import search as finder
from dalil.cases import vocabulary as vocab
from dalil.catalog.db import Db
from dalil.catalog.queries import item_detail, list_acquisitions, resolve_item, rows_for
from dalil.errors import NotFound, UsageError
from dalil.ingest.flags import FLAGS
from dalil.ingest.flags import check as check_flag
from dalil.similar import clusters as grouping
from dalil.vault import Vault
from dalil.web import auth, disclosure, evidence
from dalil.web.auth import Audit, Browse, Edit, Search
from dalil.web.guard import GuardedRoute
from dalil.web.params import Before, PageNo
from dalil.web.redirects import back as _back
from dalil.web.render import language_of, page

router = APIRouter(route_class=GuardedRoute)

PAGE = 48


def _vault(request: Request) -> Vault:
    vault: Vault = request.app.state.vault
    return vault


# ---------------------------------------------------------------------------- dashboard


CHART_BAR = 240  # the longest bar, in the chart's units (its labels and values beside it)
CHART_MONTHS = 36  # more months than this: one bar per year


def _by_month(conn: Db) -> list[dict[str, Any]]:
    """One horizontal bar per capture month (per year when there are many), with its count:
    ``label``, ``count``, ``length`` (chart units) and ``y``."""
    rows = conn.execute(
        "SELECT substr(captured_at, 1, 7) AS month, COUNT(*) FROM metadata"
        " WHERE captured_at IS NOT NULL GROUP BY month ORDER BY month"
    ).fetchall()
    if len(rows) > CHART_MONTHS:
        years: dict[str, int] = {}
        for month, n in rows:
            years[str(month)[:4]] = years.get(str(month)[:4], 0) + int(n)
        rows = list(years.items())
    most = max((int(r[1]) for r in rows), default=1)
    return [
        {
            "label": str(r[0]),
            "count": int(r[1]),
            "length": max(1, round(CHART_BAR * int(r[1]) / most)),
            "y": 4 + 18 * k,
        }
        for k, r in enumerate(rows)
    ]


_DASHBOARD: dict[str, tuple[int, dict[str, Any]]] = {}


def _dashboard_figures(vault: Vault, conn: Db) -> dict[str, Any]:
    """Counts and the capture-date chart, recomputed only when the ledger has grown (every
    change to the vault is a ledger event)."""
    head = conn.execute("SELECT COALESCE(MAX(seq), -1) FROM ledger").fetchone()[0]
    cached = _DASHBOARD.get(str(vault.root))
    if cached is not None and cached[0] == head:
        return cached[1]
    figures = {
        "counts": {
            "items": conn.execute("SELECT COUNT(*) FROM items").fetchone()[0],
            "images": conn.execute(
                "SELECT COUNT(*) FROM items WHERE media_type LIKE 'image/%'"
            ).fetchone()[0],
            "flagged": conn.execute("SELECT COUNT(DISTINCT sha256) FROM item_flags").fetchone()[0],
            "clusters": conn.execute("SELECT COUNT(*) FROM clusters").fetchone()[0],
            "events": head + 1,
        },
        "cases": dict(
            conn.execute("SELECT status, COUNT(*) FROM cases GROUP BY status").fetchall()
        ),
        "acquisitions": list_acquisitions(conn)[-5:][::-1],
        "months": _by_month(conn),
    }
    _DASHBOARD[str(vault.root)] = (head, figures)
    return figures


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, user: Browse) -> Response:
    vault = _vault(request)
    with auth.connection(vault) as conn:
        figures = _dashboard_figures(vault, conn)
    last_verify = None
    record = vault.derived_dir / "last-verify.json"
    if record.is_file():
        try:
            last_verify = json.loads(record.read_text())
        except ValueError:
            last_verify = None
    figures = {**figures, "acquisitions": disclosure.acquisitions(user, figures["acquisitions"])}
    return page(request, "dashboard.html", last_verify=last_verify, **figures)


# ---------------------------------------------------------------------------- items


def _items(
    conn: Db, *, after: str, media: str, flag: str, camera: str, acquisition: str
) -> list[dict[str, Any]]:
    where, params = ["i.sha256 > ?"], [after]
    if media:
        where.append("i.media_type LIKE ?")
        params.append(media + "%")
    if flag == "any":
        where.append("EXISTS (SELECT 1 FROM item_flags f WHERE f.sha256 = i.sha256)")
    elif flag:
        where.append("EXISTS (SELECT 1 FROM item_flags f WHERE f.sha256 = i.sha256 AND f.flag = ?)")
        params.append(flag)
    if camera:
        where.append("m.camera_serial = ?")
        params.append(camera)
    if acquisition:
        where.append("i.acquisition_id = (SELECT id FROM acquisitions WHERE label = ?)")
        params.append(acquisition)
    rows = conn.execute(
        "SELECT i.sha256, i.media_type, m.captured_at, m.camera_model,"
        " (SELECT group_concat(flag) FROM item_flags f WHERE f.sha256 = i.sha256)"
        " FROM items i LEFT JOIN metadata m ON m.sha256 = i.sha256"
        f" WHERE {' AND '.join(where)} ORDER BY i.sha256 LIMIT ?",
        (*params, PAGE),
    ).fetchall()
    return [
        {"sha256": r[0], "media_type": r[1], "captured_at": r[2], "camera": r[3], "flags": r[4]}
        for r in rows
    ]


@router.get("/items", response_class=HTMLResponse)
def items_page(
    request: Request,
    user: Browse,
    media: str = "",
    flag: str = "",
    camera: str = "",
    acquisition: str = "",
    after: str = "",
) -> Response:
    if camera and not user.may("provenance"):
        raise HTTPException(403, "your role does not see camera serial numbers")
    if flag:
        check_flag(flag)  # an unknown flag is an error naming the flags, not an empty page
    with auth.connection(_vault(request)) as conn:
        rows = _items(
            conn, after=after, media=media, flag=flag, camera=camera, acquisition=acquisition
        )
        flags = [r[0] for r in conn.execute("SELECT DISTINCT flag FROM item_flags ORDER BY flag")]
        names = file_names(conn, [r["sha256"] for r in rows]) if user.may("provenance") else {}
    filters = {"media": media, "flag": flag, "camera": camera, "acquisition": acquisition}
    template = "_items_more.html" if after else "items.html"
    return page(
        request, template, rows=rows, filters=filters, flags=flags, page_size=PAGE, names=names
    )


def file_names(conn: Db, shas: list[str]) -> dict[str, str]:
    """The name each item was first found under (its first occurrence's file name): what
    people call a picture. Shown only to roles that see where files were found."""
    names: dict[str, str] = {}
    sql = "SELECT sha256, path_text FROM occurrences WHERE sha256 IN ({marks}) ORDER BY id"
    for sha, path in rows_for(conn, sql, shas):
        names.setdefault(sha, str(path).replace("\\", "/").rsplit("/", 1)[-1])
    return names


def _position(meta: dict[str, Any]) -> dict[str, str] | None:
    """The GPS position as people read it (``33.51230° N, 36.29170° E``, altitude) and as a
    ``geo:`` link (RFC 5870), which opens the reader's own map application: the workspace
    draws no map of its own (it has no map data, and fetches nothing from the Internet)."""
    lat, lon = meta.get("gps_lat"), meta.get("gps_lon")
    if not isinstance(lat, int | float) or not isinstance(lon, int | float):
        return None
    alt = meta.get("gps_alt")
    return {
        "lat": f"{abs(lat):.5f}° {'N' if lat >= 0 else 'S'}",
        "lon": f"{abs(lon):.5f}° {'E' if lon >= 0 else 'W'}",
        "alt": f"{alt:.0f}" if isinstance(alt, int | float) else "",
        "geo": f"geo:{lat:.6f},{lon:.6f}",
    }


def _evidence_with(sha: str, cluster: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The cluster's links that join ``sha`` to another picture, by that picture."""
    found: dict[str, dict[str, Any]] = {}
    for link in (cluster or {}).get("links", []):
        if sha in (link["a"], link["b"]):
            found[link["b"] if link["a"] == sha else link["a"]] = link
    return found


@router.get("/items/{ref}", response_class=HTMLResponse)
def item_page(request: Request, ref: str, user: Browse, revealed: bool = False) -> Response:
    vault = _vault(request)
    with auth.connection(vault) as conn:
        sha = resolve_item(conn, ref)
        detail = item_detail(conn, sha)
        events = vault.ledger(conn, signing=False).events_about(f"sha256:{sha}")
        label = conn.execute(
            "SELECT c.label FROM clusters c JOIN cluster_members m ON m.cluster_id = c.id"
            " WHERE m.sha256 = ?",
            (sha,),
        ).fetchone()
        cluster = (
            disclosure.cluster(user, grouping.cluster_detail(conn, label[0])) if label else None
        )
        cases = conn.execute(
            "SELECT c.case_id, c.title, ci.role FROM case_items ci"
            " JOIN cases c ON c.id = ci.case_pk WHERE ci.sha256 = ? ORDER BY c.id",
            (sha,),
        ).fetchall()
    detail = disclosure.item(user, detail, i18n.translations(language_of(request, user)).gettext)
    meta = detail.get("metadata") or {}
    from dalil.web.images import grant_until

    until = grant_until(request, sha) if revealed else None
    granted = until is not None
    minutes = max(1, round((until - time.time()) / 60)) if until is not None else 0
    return page(
        request,
        "item.html",
        item=detail,
        sha=sha,
        events=events,
        cluster=cluster,
        cases=[{"case_id": c[0], "title": c[1], "role": c[2]} for c in cases],
        evidence=_evidence_with(sha, cluster),
        match_words=evidence.sentence,
        gps=_position(meta),
        meta=meta,
        granted=granted,
        minutes_left=minutes,
        until=datetime.fromtimestamp(until, UTC).isoformat() if until is not None else "",
        may_reveal=user.may("reveal"),
        provenance=user.may("provenance"),
    )


# ---------------------------------------------------------------------------- clusters


@router.get("/clusters", response_class=HTMLResponse)
def clusters_page(
    request: Request, user: Browse, limit: int = Query(200, ge=1, le=2000)
) -> Response:
    with auth.connection(_vault(request)) as conn:
        rows = grouping.list_clusters(conn, limit)
        shown = _first_members(conn, [str(r["cluster"]) for r in rows])
    return page(request, "clusters.html", rows=rows, members=shown, per_cluster=CLUSTER_THUMBS)


CLUSTER_THUMBS = 4  # thumbnails shown for each cluster in the list


def _first_members(conn: Db, labels: list[str]) -> dict[str, list[str]]:
    """The first :data:`CLUSTER_THUMBS` items of each cluster, by hash."""
    out: dict[str, list[str]] = {}
    sql = (
        "SELECT c.label, m.sha256 FROM clusters c JOIN cluster_members m"
        " ON m.cluster_id = c.id WHERE c.label IN ({marks}) ORDER BY c.label, m.sha256"
    )
    for label, sha in rows_for(conn, sql, labels):
        if len(out.setdefault(str(label), [])) < CLUSTER_THUMBS:
            out[str(label)].append(str(sha))
    return out


@router.get("/clusters/{label}", response_class=HTMLResponse)
def cluster_page(request: Request, label: str, user: Browse) -> Response:
    with auth.connection(_vault(request)) as conn:
        detail = disclosure.cluster(user, grouping.cluster_detail(conn, label))
    return page(
        request,
        "cluster.html",
        cluster=detail,
        match_words=evidence.sentence,
        may_decide=user.may("cases.edit"),
    )


@router.post("/clusters/{label}/split")
def cluster_split(
    request: Request, label: str, user: Edit, item: Annotated[list[str], Form()]
) -> Response:
    """Move the chosen pictures out of the cluster (a decision in the ledger, kept when the
    clusters are recomputed)."""
    vault = _vault(request)
    with auth.connection(vault, readonly=False) as conn:
        kept, moved = grouping.split(conn, vault.ledger(conn), user.name, label, item)
    return _back(f"/clusters/{kept or moved}" if kept or moved else "/clusters")


@router.post("/clusters/{label}/merge")
def cluster_merge(
    request: Request, label: str, user: Edit, other: Annotated[str, Form()]
) -> Response:
    """Put another cluster (or a single item) together with this one (a ledger decision)."""
    vault = _vault(request)
    with auth.connection(vault, readonly=False) as conn:
        merged = grouping.merge(conn, vault.ledger(conn), user.name, [label, other.strip()])
    return _back(f"/clusters/{merged}" if merged else "/clusters")


# ---------------------------------------------------------------------------- cases


def _first_photos(conn: Db, case_ids: list[str]) -> dict[str, str]:
    """Each case's first photograph (by hash), for a thumbnail in the list."""
    sql = (
        "SELECT c.case_id, MIN(ci.sha256) FROM cases c JOIN case_items ci ON ci.case_pk = c.id"
        " JOIN items i ON i.sha256 = ci.sha256 AND i.media_type LIKE 'image/%'"
        " WHERE c.case_id IN ({marks}) GROUP BY c.case_id"
    )
    return {str(case_id): str(sha) for case_id, sha in rows_for(conn, sql, case_ids)}


@router.get("/cases", response_class=HTMLResponse)
def cases_page(request: Request, user: Browse, status: str = "", page_no: PageNo = 1) -> Response:
    with auth.connection(_vault(request)) as conn:
        rows = model.list_cases(conn, status=status or None, limit=50, offset=(page_no - 1) * 50)
        firsts = _first_photos(conn, [str(r["case_id"]) for r in rows])
    return page(
        request,
        "cases.html",
        rows=rows,
        firsts=firsts,
        status=status,
        statuses=vocab.STATUSES,
        page_no=page_no,
        may_edit=user.may("cases.edit"),
    )


@router.post("/cases")
def case_new(
    request: Request,
    user: Edit,
    title: Annotated[str, Form()],
    kind: Annotated[str, Form()] = "person",
) -> Response:
    vault = _vault(request)
    with auth.connection(vault, readonly=False) as conn:
        case_id = model.new_case(conn, vault.ledger(conn), model.Actor(user.name), kind, title)
    return _back(f"/cases/{case_id}")


@router.post("/cases/propose")
def case_propose(request: Request, user: Edit) -> Response:
    vault = _vault(request)
    with auth.connection(vault, readonly=False) as conn:
        model.propose(conn, vault.ledger(conn), model.Actor(user.name))
    return _back("/review?queue=proposed")


def with_progress(detail: dict[str, Any]) -> dict[str, Any]:
    """A case's detail with each claim's ``confirmations`` ("1 of 2 confirmations")."""
    claims = [{**a, "confirmations": review.confirmations(a)} for a in detail["annotations"]]
    return {**detail, "annotations": claims}


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(request: Request, case_id: str, user: Browse) -> Response:
    return _case_page(request, case_id, user)


def _case_page(
    request: Request, case_id: str, user: users.User, status_code: int = 200, **extra: Any
) -> Response:
    """The case's page; ``extra``: what a refused form gives back (its message and input)."""
    with auth.connection(_vault(request)) as conn:
        detail = with_progress(model.case_detail(conn, case_id))
        types = list(model.identifier_types(conn).values())
    return page(
        request,
        "case.html",
        status_code=status_code,
        claim=extra,
        case=detail,
        types=types,
        roles=vocab.ROLES,
        marks=vocab.MARKS,
        attributes=list(vocab.ATTRIBUTES),
        statuses=vocab.STATUSES[:-1],
        may_edit=user.may("cases.edit"),
        may_review=user.may("review"),
    )


@router.post("/cases/{case_id}/claims")
def case_claim(
    request: Request,
    case_id: str,
    user: Edit,
    kind: Annotated[str, Form()],
    field: Annotated[str, Form()],
    value: Annotated[str, Form()],
) -> Response:
    vault = _vault(request)
    if kind == "mark":
        field = "mark"
    if kind == "note":
        field = "note"
    try:
        with auth.connection(vault, readonly=False) as conn:
            model.add_annotation(
                conn, vault.ledger(conn), model.Actor(user.name), case_id, kind, field, value
            )
    except NotFound:
        raise
    except UsageError as refused:  # the page again, saying why, with what was typed
        return _case_page(
            request, case_id, user, 400, error=str(refused), kind=kind, field=field, value=value
        )
    return _back(f"/cases/{case_id.upper()}")


@router.post("/cases/{case_id}/status")
def case_status(
    request: Request, case_id: str, user: Edit, status: Annotated[str, Form()]
) -> Response:
    vault = _vault(request)
    with auth.connection(vault, readonly=False) as conn:
        model.set_status(conn, vault.ledger(conn), model.Actor(user.name), [case_id], status)
    return _back(f"/cases/{case_id.upper()}")


@router.post("/cases/{case_id}/link")
def case_link(
    request: Request,
    case_id: str,
    user: Edit,
    item: Annotated[str, Form()],
    role: Annotated[str, Form()] = "other",
    unlink: Annotated[str, Form()] = "",
) -> Response:
    vault = _vault(request)
    with auth.connection(vault, readonly=False) as conn:
        model.link(
            conn,
            vault.ledger(conn),
            model.Actor(user.name),
            case_id,
            [item],
            role,
            unlink=bool(unlink),
        )
    return _back(f"/cases/{case_id.upper()}")


# ---------------------------------------------------------------------------- search


def in_words_of(message: str, fields: dict[str, str]) -> str:
    """A library message about a filter, naming the filter as this interface calls it (the
    library speaks of the command line's ``--from``)."""
    for option, name in fields.items():
        message = message.replace(option, name)
    return message


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    user: Search,
    q: str = "",
    identifier: str = "",
    branch: str = "",
    status: str = "",
    kind: str = "",
    flag: str = "",
    date_from: str = "",
    date_to: str = "",
    page_no: PageNo = 1,
) -> Response:
    found = None
    firsts: dict[str, str] = {}
    error = ""
    params = {
        "q": q,
        "identifier": identifier,
        "branch": branch,
        "status": status,
        "kind": kind,
        "flag": flag,
        "date_from": date_from,
        "date_to": date_to,
    }
    if any(params.values()):
        with auth.connection(_vault(request)) as conn:
            try:  # a bad filter is explained on the page with its choices, never "0 cases"
                query = finder.SearchQuery.from_terms(
                    q,
                    identifiers=[identifier],
                    status=[status],
                    kind=kind,
                    flag=flag,
                    branch=branch,
                    date_from=date_from,
                    date_to=date_to,
                    page=page_no,
                )
                found = finder.search(conn, query)
                for r in found["results"]:  # each identifier with its confirmations
                    r["identifiers"] = review.live_claims(conn, r["case_id"], "identifier")
                firsts = _first_photos(conn, [str(r["case_id"]) for r in found["results"]])
            except UsageError as exc:
                error = in_words_of(str(exc), {"--from": "from", "--to": "to"})
    return page(
        request,
        "search.html",
        found=found,
        firsts=firsts,
        params=params,
        error=error,
        statuses=vocab.STATUSES,
        kinds=list(vocab.KINDS),
        flags=["any", *FLAGS],
        page_no=page_no,
    )


# ---------------------------------------------------------------------------- acquisitions, ledger


@router.get("/acquisitions", response_class=HTMLResponse)
def acquisitions_page(request: Request, user: Browse) -> Response:
    with auth.connection(_vault(request)) as conn:
        rows = disclosure.acquisitions(user, list_acquisitions(conn))
    return page(request, "acquisitions.html", rows=rows, provenance=user.may("provenance"))


def ledger_events(
    conn: Db, *, actor: str, action: str, item: str, before: int | None, limit: int
) -> list[dict[str, Any]]:
    where: list[str] = []
    params: list[Any] = []
    if actor:
        where.append("json_extract(event, '$.actor') = ?")
        params.append(actor)
    if action:
        where.append("json_extract(event, '$.action') LIKE ?")
        params.append(action.replace("*", "%"))
    if item:
        where.append("event LIKE ?")
        params.append(f"%{item.lower().removeprefix('sha256:')}%")
    if before is not None:
        where.append("seq < ?")
        params.append(before)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    rows = conn.execute(
        f"SELECT event FROM ledger {clause} ORDER BY seq DESC LIMIT ?", (*params, limit)
    ).fetchall()
    return [json.loads(r[0]) for r in rows]


@router.get("/ledger", response_class=HTMLResponse)
def ledger_page(
    request: Request,
    user: Audit,
    actor: str = "",
    action: str = "",
    item: str = "",
    before: Before = None,
) -> Response:
    with auth.connection(_vault(request)) as conn:
        events = ledger_events(
            conn, actor=actor, action=action, item=item, before=before, limit=100
        )
        actors = [r[0] for r in conn.execute("SELECT name FROM users ORDER BY name")]
    return page(
        request,
        "ledger.html",
        events=events,
        filters={"actor": actor, "action": action, "item": item},
        actors=actors,
    )
