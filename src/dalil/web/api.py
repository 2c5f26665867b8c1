"""The JSON API (``/api/…``, schema at ``/api/openapi.json``): the same library calls as the
pages, the same sessions, permissions and CSRF rule (send ``X-CSRF-Token`` on POST)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Query, Request

from dalil import users
from dalil.cases import model, review
from dalil.cases import search as finder
from dalil.catalog.queries import item_detail, list_items, resolve_item
from dalil.errors import UsageError
from dalil.similar import clusters as grouping
from dalil.vault import Vault
from dalil.web import auth, disclosure
from dalil.web.auth import Audit, Browse, Edit, Own, Review, Search
from dalil.web.guard import GuardedRoute
from dalil.web.pages import in_words_of, ledger_events, with_progress
from dalil.web.params import AnnotationId, Before, Offset, PageNo

router = APIRouter(prefix="/api", route_class=GuardedRoute)


def _vault(request: Request) -> Vault:
    vault: Vault = request.app.state.vault
    return vault


@router.get("/me")
def me(request: Request, user: Own) -> dict[str, Any]:
    session = auth.session_of(request)
    return {
        "name": user.name,
        "role": user.role,
        "permissions": sorted(p for p in users.PERMISSIONS if user.may(p)),
        "csrf": session.csrf if session else None,
    }


@router.get("/items")
def api_items(
    request: Request,
    user: Browse,
    media_type: str | None = None,
    flag: str | None = None,
    limit: int = Query(100, ge=1, le=1000),
    offset: Offset = 0,
    after: Annotated[
        str | None, Query(description="Page in hash order after this hash (fast at any depth).")
    ] = None,
) -> list[dict[str, Any]]:
    with auth.connection(_vault(request)) as conn:
        return list_items(
            conn, media_type=media_type, flag=flag, limit=limit, offset=offset, after=after
        )


@router.get("/items/{ref}")
def api_item(request: Request, ref: str, user: Browse) -> dict[str, Any]:
    with auth.connection(_vault(request)) as conn:
        return disclosure.item(user, item_detail(conn, resolve_item(conn, ref)))


@router.get("/clusters")
def api_clusters(
    request: Request, user: Browse, limit: int = Query(100, ge=1, le=5000)
) -> list[dict[str, Any]]:
    with auth.connection(_vault(request)) as conn:
        return grouping.list_clusters(conn, limit)


@router.get("/cases")
def api_cases(
    request: Request,
    user: Browse,
    status: str | None = None,
    limit: int = Query(50, ge=1, le=500),
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    with auth.connection(_vault(request)) as conn:
        return model.list_cases(conn, status=status, limit=limit, offset=offset)


@router.get("/cases/{case_id}")
def api_case(request: Request, case_id: str, user: Browse) -> dict[str, Any]:
    with auth.connection(_vault(request)) as conn:
        return with_progress(model.case_detail(conn, case_id))


@router.post("/cases/{case_id}/claims")
def api_claim(
    request: Request,
    case_id: str,
    user: Edit,
    kind: Annotated[str, Body()],
    field: Annotated[str, Body()],
    value: Annotated[str, Body()],
) -> dict[str, Any]:
    vault = _vault(request)
    with auth.connection(vault, readonly=False) as conn:
        annotation, new = model.add_annotation(
            conn, vault.ledger(conn), model.Actor(user.name), case_id, kind, field, value
        )
        return {**model.annotation_row(conn, annotation), "new": new}


@router.get("/search")
def api_search(
    request: Request,
    user: Search,
    q: str = "",
    identifier: Annotated[list[str] | None, Query()] = None,
    status: Annotated[list[str] | None, Query()] = None,
    branch: str | None = None,
    camera: str | None = None,
    kind: str | None = None,
    flag: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    sort: str = "relevance",
    page: PageNo = 1,
    per_page: int = Query(20, ge=1, le=500),
) -> dict[str, Any]:
    """Cases matching text and filters. A filter that cannot match anything as written (an
    unknown identifier type, status, kind or flag, an impossible date) is a 400 naming the
    choices, never an empty result."""
    if camera and not user.may("provenance"):
        raise HTTPException(403, "your role does not see camera serial numbers")
    try:
        query = finder.SearchQuery.from_terms(
            q,
            identifiers=identifier or [],
            status=status or [],
            branch=branch,
            camera=camera,
            kind=kind,
            flag=flag,
            date_from=date_from,
            date_to=date_to,
            sort=sort,
            page=page,
            per_page=per_page,
        )
        with auth.connection(_vault(request)) as conn:
            return finder.search(conn, query)
    except UsageError as exc:
        message = in_words_of(str(exc), {"--from": "date_from", "--to": "date_to"})
        raise HTTPException(400, message) from exc


@router.get("/review/{queue}")
def api_queue(
    request: Request,
    queue: str,
    user: Browse,
    limit: int = Query(50, ge=1, le=500),
    offset: Offset = 0,
    case: str | None = None,
    kind: str | None = None,
    max_confidence: float | None = Query(None, ge=0, le=1),
    mine: bool = False,
) -> list[dict[str, Any]]:
    """A review queue (``proposed``, ``unverified`` — lowest reading confidence first, each
    claim with its ``confirmations`` — or ``conflicts``); ``mine``: only the claims this user
    may still review."""
    with auth.connection(_vault(request)) as conn:
        rows, _ = review.queue_page(
            conn,
            queue,
            limit=limit,
            offset=offset,
            for_user=user.name if mine else None,
            case=case,
            kind=kind,
            max_confidence=max_confidence,
        )
        return rows


@router.post("/annotations/{annotation}/confirm")
def api_confirm(request: Request, annotation: AnnotationId, user: Review) -> dict[str, Any]:
    vault = _vault(request)
    with auth.connection(vault, readonly=False) as conn:
        return review.confirm(conn, vault.ledger(conn), model.Actor(user.name), annotation)


@router.post("/annotations/{annotation}/reject")
def api_reject(
    request: Request,
    annotation: AnnotationId,
    user: Review,
    comment: Annotated[str, Body(embed=True)] = "",
    correct: Annotated[str | None, Body(embed=True)] = None,
) -> dict[str, Any]:
    """Reject a claim; with ``correct``, the reviewer's own reading is recorded as a new claim
    (in ``correction``), which another person then reviews."""
    vault = _vault(request)
    with auth.connection(vault, readonly=False) as conn:
        return review.reject(
            conn,
            vault.ledger(conn),
            model.Actor(user.name),
            annotation,
            comment,
            correct=correct.strip() if correct and correct.strip() else None,
        )


@router.get("/ledger")
def api_ledger(
    request: Request,
    user: Audit,
    actor: str = "",
    action: str = "",
    item: str = "",
    before: Before = None,
    limit: int = Query(100, ge=1, le=1000),
) -> list[dict[str, Any]]:
    with auth.connection(_vault(request)) as conn:
        return ledger_events(
            conn, actor=actor, action=action, item=item, before=before, limit=limit
        )
