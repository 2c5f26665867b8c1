"""The review queues in the browser: claims with their evidence in view, proposed cases with
their photographs, conflicts — and the verdicts (confirm, reject, accept, reject a proposal).

Each unverified claim is shown with its case, the photograph it was read from (blurred, the
region marked), the value with its source and confidence, how many confirmations it has of
how many it needs, and the region enlarged (:mod:`dalil.web.crops`: blurred until the reviewer
asks). The page works from the keyboard (``static/app.js``); a verdict sent by htmx answers
with the claim's card as it now stands.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from dalil import users
from dalil.cases import model, review
from dalil.errors import UsageError
from dalil.vault import Vault
from dalil.web import auth, crops, images
from dalil.web.auth import Browse, Edit, Review
from dalil.web.guard import GuardedRoute
from dalil.web.params import AnnotationId, Offset
from dalil.web.redirects import back, current_page
from dalil.web.render import page

router = APIRouter(route_class=GuardedRoute)

PER_PAGE = 25


def _confidence(text: str) -> float | None:
    """The form's "confidence at most" (empty: any)."""
    if not text.strip():
        return None
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:
        raise UsageError(f"confidence at most {text!r}: give a number from 0 to 1, e.g. 0.8")
    return value


def _vault(request: Request) -> Vault:
    vault: Vault = request.app.state.vault
    return vault


def card(
    request: Request, user: users.User, row: dict[str, Any], known: set[str] | None = None
) -> dict[str, Any]:
    """A claim as its card shows it to ``user``: its progress, what ``user`` may still do
    with it, the photograph's upright size (to mark the region) and whether the region is
    revealed to this session."""
    a = dict(row)
    a["confirmations"] = review.confirmations(a)
    reviewed = any(r["reviewer"] == user.name for r in a["reviews"])
    own = a["source"] == "person" and a["author"] == user.name
    live = a["state"] == "unverified"
    a["may_reject"] = live and not reviewed
    a["may_confirm"] = live and not reviewed and not own
    a["done"] = not a["may_reject"]
    a["why"] = (
        a["state"]
        if not live
        else "reviewed by you"
        if reviewed
        else "yours: a second person confirms it"
        if own
        else ""
    )
    a["frame"] = a["shown"] = None
    if a.get("item") and a.get("region"):
        a["frame"] = crops.upright_size(_vault(request).store().path(str(a["item"])))
        a["shown"] = crops.shown(request, str(a["item"]), list(a["region"]), known)
    return a


@router.get("/review", response_class=HTMLResponse)
def review_page(
    request: Request,
    user: Browse,
    queue: str = "unverified",
    case: str = "",
    kind: str = "",
    max_confidence: Annotated[
        str, Query(description="Only machine readings at or below this confidence (0 to 1).")
    ] = "",
    mine: bool = True,
    skip: Offset = 0,
) -> Response:
    if queue not in review.QUEUES:
        raise UsageError(f"queues: {', '.join(review.QUEUES)}")
    may_review = user.may("review")
    rows: list[dict[str, Any]] = []
    total, error = 0, ""
    with auth.connection(_vault(request)) as conn:
        try:  # a filter that names no case or no kind is explained, not "nothing to review"
            most = _confidence(max_confidence)
            rows, total = review.queue_page(
                conn,
                queue,
                limit=PER_PAGE,
                offset=skip,
                for_user=user.name if mine and may_review and queue == "unverified" else None,
                case=case.strip() or None,
                kind=kind or None,
                max_confidence=most,
            )
        except UsageError as exc:
            error = str(exc)
    known = images.grants(request)
    if queue == "unverified":
        rows = [card(request, user, r, known) for r in rows]
    elif queue == "conflicts":
        for c in rows:
            c["annotations"] = [card(request, user, a, known) for a in c["annotations"]]
    filters = {
        "case": case,
        "kind": kind,
        "max_confidence": max_confidence.strip(),
        "mine": "1" if mine else "0",
    }
    return page(
        request,
        "review.html",
        queue=queue,
        rows=rows,
        total=total,
        skip=skip,
        per_page=PER_PAGE,
        error=error,
        filters=filters,
        kinds=review.CLAIM_KINDS,
        queues=review.QUEUES,
        may_review=may_review,
        may_reveal=user.may("reveal"),
        may_edit=user.may("cases.edit"),
    )


def _answer(request: Request, user: users.User, row: dict[str, Any]) -> Response:
    """After a verdict on the claim ``row`` (as it now stands, with the reviewer's
    ``correction`` if any): htmx gets its card, a form the page it came from."""
    if not request.headers.get("hx-request"):
        return back(current_page(request, f"/cases/{row['case']}"))
    return page(
        request,
        "_review_card.html",
        a=card(request, user, row),
        may_review=True,
        may_reveal=user.may("reveal"),
    )


@router.post("/review/{annotation}/confirm")
def review_confirm(request: Request, annotation: AnnotationId, user: Review) -> Response:
    vault = _vault(request)
    with auth.connection(vault, readonly=False) as conn:
        row = review.confirm(conn, vault.ledger(conn), model.Actor(user.name), annotation)
    return _answer(request, user, row)


@router.post("/review/{annotation}/reject")
def review_reject(
    request: Request,
    annotation: AnnotationId,
    user: Review,
    comment: Annotated[str, Form()] = "",
    correct: Annotated[str, Form()] = "",
) -> Response:
    vault = _vault(request)
    with auth.connection(vault, readonly=False) as conn:
        row = review.reject(
            conn,
            vault.ledger(conn),
            model.Actor(user.name),
            annotation,
            comment,
            correct=correct.strip() or None,
        )
    return _answer(request, user, row)


@router.post("/cases/{case_id}/accept")
def case_accept(request: Request, case_id: str, user: Edit) -> Response:
    vault = _vault(request)
    with auth.connection(vault, readonly=False) as conn:
        model.accept(conn, vault.ledger(conn), model.Actor(user.name), [case_id])
    return back("/review?queue=proposed")


@router.post("/cases/{case_id}/reject")
def case_reject(request: Request, case_id: str, user: Edit) -> Response:
    """Not a case: kept, marked rejected, and not proposed again."""
    vault = _vault(request)
    with auth.connection(vault, readonly=False) as conn:
        model.set_status(conn, vault.ledger(conn), model.Actor(user.name), [case_id], "rejected")
    return back("/review?queue=proposed")
