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
from dalil.cases import vocabulary as vocab
from dalil.errors import UsageError
from dalil.i18n import N_
from dalil.vault import Vault
from dalil.web import auth, crops, images
from dalil.web.auth import Browse, Edit, Review
from dalil.web.guard import GuardedRoute
from dalil.web.params import AnnotationId, Offset
from dalil.web.redirects import back, current_page
from dalil.web.render import TEMPLATES, gettext, page, shown
from dalil.web.sentences import Refused, Sentence

router = APIRouter(route_class=GuardedRoute)

PER_PAGE = 25

CASE_WORDS = (
    # case statuses (dalil.cases.vocabulary.STATUSES)
    N_("proposed"),
    N_("open"),
    N_("candidate-identified"),
    N_("identified"),
    N_("closed"),
    N_("rejected"),
    N_("merged"),
    # case kinds (KINDS)
    N_("person"),
    N_("incident"),
    N_("place"),
    # what a photograph shows of the case (ROLES)
    N_("face"),
    N_("full-body"),
    N_("card"),
    N_("detail"),
    N_("other"),
    # marks and injuries (MARKS)
    N_("blindfold"),
    N_("bruising"),
    N_("burns"),
    N_("emaciation"),
    N_("fracture"),
    N_("gunshot-wound"),
    N_("ligature-marks"),
    N_("restraint-marks"),
    N_("scar"),
    N_("stab-wound"),
    N_("tattoo"),
    N_("missing-teeth"),
    N_("amputation"),
    N_("eye-injury"),
    N_("number-written-on-body"),
    # attributes (ATTRIBUTES, "_" shown as " "), and the case's other facts
    N_("sex"),
    N_("age"),
    N_("died on"),
    N_("photographed on"),
    N_("branch"),
    N_("female"),
    N_("male"),
    N_("unknown"),
    # the built-in identifier types' labels (IDENTIFIER_TYPES)
    N_("Detainee number"),
    N_("Security branch number"),
    N_("Forensic report number"),
    # claims: kinds, review states, the review queues (dalil.cases.review)
    N_("identifier"),
    N_("attribute"),
    N_("mark"),
    N_("note"),
    N_("unverified"),
    N_("verified"),
    N_("superseded"),
    N_("conflicts"),
    N_("needs-reading"),
)
"""The controlled words of case work (:mod:`dalil.cases.vocabulary`, :mod:`dalil.cases.review`)
as the case and review pages show them (``{{ _(status) }}``); what is stored and sent in forms
stays these English words."""
_SHOWN = {*vocab.STATUSES, *vocab.KINDS, *vocab.ROLES, *vocab.MARKS, *vocab.SEXES}
_SHOWN |= {*review.QUEUES, *review.CLAIM_KINDS, *(t.label for t in vocab.BUILTIN_IDENTIFIERS)}
_SHOWN |= {a.replace("_", " ") for a in vocab.ATTRIBUTES}
assert set(CASE_WORDS) >= _SHOWN, f"not marked for translation: {_SHOWN - set(CASE_WORDS)}"

REVIEWED = N_("reviewed by you")
OWN = N_("yours: a second person confirms it")


def _confidence(text: str) -> float | None:
    """The form's "confidence at most" (empty: any)."""
    if not text.strip():
        return None
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:
        raise Refused(
            Sentence(
                N_("confidence at most %(given)s: give a number from 0 to 1, e.g. 0.8"),
                given=repr(text),
            )
        )
    return value


def progress(confirmations: dict[str, Any]) -> str:
    """A claim's confirmations in words ("1 of 2 confirmations", :func:`review.confirmations`),
    in the page's language."""
    return gettext("%(have)s of %(need)s confirmations") % {
        "have": shown(min(confirmations["have"], confirmations["need"])),
        "need": shown(confirmations["need"]),
    }


def field_words(claim: dict[str, Any]) -> str:
    """What a claim is about: an attribute's name in the page's language, an identifier's type
    as searches write it (``detainee``), nothing for a mark or a note."""
    kind, field = claim["kind"], str(claim["field"] or "")
    if kind in ("mark", "note"):
        return ""
    return gettext(field.replace("_", " ")) if kind == "attribute" else field


def conflict_words(conflict: dict[str, Any]) -> str:
    """Why the review queue shows a conflict (:func:`review.conflicts` says it in English)."""
    why = str(conflict["why"])
    if why == "confirmed and rejected":
        return gettext("confirmed and rejected")
    claims = conflict.get("annotations") or []
    if why.startswith("different ") and claims:
        return gettext("different %(field)s values") % {"field": field_words(claims[0])}
    return why


TEMPLATES.env.filters["progress"] = progress
TEMPLATES.env.filters["field_words"] = field_words
TEMPLATES.env.filters["conflict_words"] = conflict_words


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
    a["why"] = a["state"] if not live else REVIEWED if reviewed else OWN if own else ""
    a["frame"] = a["shown"] = None
    if a.get("item") and a.get("region"):
        a["frame"] = crops.upright_size(_vault(request).store().local_path(str(a["item"])))
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
    total = 0
    error: str | Sentence = ""
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
        except Refused as exc:
            error = exc.sentence
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
def case_accept(
    request: Request, case_id: str, user: Edit, stay: Annotated[str, Form()] = ""
) -> Response:
    """Accept a proposed case; back to the case itself when accepted from its page (``stay``),
    else to the queue of proposals."""
    vault = _vault(request)
    with auth.connection(vault, readonly=False) as conn:
        model.accept(conn, vault.ledger(conn), model.Actor(user.name), [case_id])
    return back(f"/cases/{case_id}" if stay else "/review?queue=proposed")


@router.post("/cases/{case_id}/reject")
def case_reject(request: Request, case_id: str, user: Edit) -> Response:
    """Not a case: kept, marked rejected, and not proposed again."""
    vault = _vault(request)
    with auth.connection(vault, readonly=False) as conn:
        model.set_status(conn, vault.ledger(conn), model.Actor(user.name), [case_id], "rejected")
    return back("/review?queue=proposed")
