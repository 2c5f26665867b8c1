"""Families in the browser: the liaison officer records a family's report and looks, with the
evidence in view, at the records that may be their relative.

- ``/reports`` lists the reports; ``/reports/new`` records one (every report field, marks, a
  photograph, and the family's contact details and consent). The contact details, the consent
  and the photograph are sealed under the contacts key (:mod:`dalil.reports`); they travel only
  in the POST body, are never written back to the browser — a form with a mistake comes back
  without them —, never logged and never put in a URL. The form is read in memory (the
  photograph never reaches the system's temporary folder) and limited while it streams.
- ``/reports/{ref}`` is the family view: the report (Arabic names right to left), and its
  candidates (:func:`dalil.linkage.family.candidates`) side by side — the text evidence first
  (each field as both records wrote it, whether it agreed, how strongly that counted), then
  the probability and the review state in words, then the case's photographs, blurred only.
  A candidate is not an identification: only a link two reviewers confirmed may be told to a
  family, and the page says so. *Look for candidates* runs linkage for the report and records
  the run; *Show contact details* reads them (``report.contact-read`` in the ledger).

Every route needs the ``families`` permission (the liaison and admin roles).
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool

from dalil import reports, users
from dalil.errors import UsageError
from dalil.i18n import N_
from dalil.linkage import family
from dalil.vault import Vault
from dalil.web import auth, guard
from dalil.web.errors import public
from dalil.web.guard import GuardedRoute
from dalil.web.params import MAX_ROW
from dalil.web.redirects import back
from dalil.web.render import TEMPLATES, gettext, page, shown
from dalil.web.sentences import Sentence

router = APIRouter(route_class=GuardedRoute)

Families = Annotated[users.User, Depends(auth.need("families"))]

PHOTO_LIMIT = 24 * 2**20
"""Bytes of a family's photograph sent from the browser (the form is held in memory)."""

FIELD_LIMIT = 8 * 1024
"""Characters of one text field of the form."""

MAX_MARKS = 20
MARK_INPUTS = 4
"""Empty mark fields on the form (more marks: send the form, or one per line)."""

guard.LIMITS[("POST", "/reports/new")] = lambda: PHOTO_LIMIT + guard.FORM_LIMIT

LABELS = {
    "full_name": N_("full name, in Arabic letters"),
    "full_name_latin": N_("full name, in Latin letters"),
    "given_name": N_("given name"),
    "father_name": N_("father's name"),
    "grandfather_name": N_("grandfather's name"),
    "family_name": N_("family name"),
    "mother_name": N_("mother's name"),
    "sex": N_("sex"),
    "birth_year": N_("year of birth"),
    "birth_date": N_("date of birth"),
    "birth_place": N_("place of birth"),
    "arrest_date": N_("date of arrest"),
    "arrest_place": N_("place of arrest"),
    "branch": N_("branch that took them"),
    "detainee_number": N_("detainee number"),
    "national_id": N_("national ID number"),
    "note": N_("note"),
}
"""A report's fields (:data:`dalil.reports.REPORT_FIELDS`) as the form and the view name them
(translated where shown: ``{{ _(labels[name]) }}``)."""

EVIDENCE_WORDS = (
    # the compared fields (dalil.linkage.family.LABELS)
    N_("given name"),
    N_("family name"),
    N_("father's name"),
    N_("grandfather's name"),
    N_("mother's name"),
    N_("born"),
    N_("sex"),
    N_("branch"),
    N_("detainee number"),
    N_("national ID"),
    N_("address"),
    N_("postcode"),
    N_("place of birth"),
    # how far two values agree (the levels of dalil.linkage.model's comparisons)
    N_("the same"),
    N_("the same, in the family name's column"),
    N_("the same, in the given name's column"),
    N_("sounds the same"),
    N_("nearly the same"),
    N_("similar"),
    N_("different"),
    N_("the same date"),
    N_("one digit apart"),
    N_("the same year"),
    N_("a year apart"),
    N_("two or three years apart"),
    N_("one slip apart"),
    N_("missing"),
    # a report's status
    N_("open"),
)
"""The words of a candidate's evidence as :mod:`dalil.linkage` writes them, marked for
translation (``{{ _(e.label) }}``, ``{{ _(e.agreement) }}``); a word not here is shown as
written."""
assert set(family.LABELS.values()) <= set(EVIDENCE_WORDS), "a compared field is not marked"

NUMERIC = ("birth_year", "birth_date", "arrest_date", "branch", "detainee_number", "national_id")
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_ARABIC = re.compile(r"[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]")


def _vault(request: Request) -> Vault:
    vault: Vault = request.app.state.vault
    return vault


# -- showing Arabic right to left, numbers as digits ----------------------------------------------


def is_arabic(value: object) -> bool:
    """Whether ``value`` is written in Arabic letters: its first letter is Arabic (it is shown
    ``lang="ar" dir="rtl"``; anything else ``dir="auto"``)."""
    first = next((c for c in str(value or "") if c.isalpha()), "")
    return bool(first and _ARABIC.match(first))


def digits(value: object) -> str:
    """``value`` with Arabic-Indic and Persian digits written as 0-9."""
    return str(value if value is not None else "").translate(_DIGITS)


TEMPLATES.env.tests["arabic"] = is_arabic
TEMPLATES.env.filters["digits"] = digits


# -- the form -------------------------------------------------------------------------------------


@dataclass(slots=True)
class ReportForm:
    """What the form sent. ``contact``, ``consent`` and ``photo`` are the family's personal data:
    stored sealed, never shown again (:meth:`echo` leaves them out)."""

    fields: dict[str, str] = field(default_factory=dict)
    marks: list[str] = field(default_factory=list)
    contact: str = ""
    consent: str = ""
    photo: bytes | None = None

    @property
    def personal(self) -> bool:
        return bool(self.contact.strip() or self.consent.strip() or self.photo)

    def echo(self) -> dict[str, Any]:
        """What a form sent back with a mistake may show again: not the personal data."""
        return {"fields": dict(self.fields), "marks": list(self.marks)}


class _Parts:
    """A multipart body read in memory: text fields (each up to :data:`FIELD_LIMIT`), and the
    file part ``photo`` (up to :data:`PHOTO_LIMIT`); other file parts are dropped."""

    def __init__(self) -> None:
        self.fields: list[tuple[str, str]] = []
        self.photo: bytearray | None = None
        self.headers: dict[bytes, bytes] = {}
        self.header_field = bytearray()
        self.header_value = bytearray()
        self.name: str | None = None
        self.value = bytearray()
        self.into: bytearray | None = None
        self.ended = False

    def on_part_begin(self) -> None:
        self.headers, self.name, self.value, self.into = {}, None, bytearray(), None

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[bytes(self.header_field).lower()] = bytes(self.header_value)
        self.header_field, self.header_value = bytearray(), bytearray()

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" not in options:
            self.name, self.into = name, self.value
        elif name == "photo" and options.get(b"filename"):
            self.photo = self.into = bytearray()

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.into is None:
            return
        self.into += data[start:end]
        if self.into is self.photo and len(self.into) > PHOTO_LIMIT:
            raise HTTPException(413, f"the photograph is larger than {PHOTO_LIMIT // 2**20} MiB")
        if self.into is self.value and len(self.into) > 4 * FIELD_LIMIT:
            raise HTTPException(413, "a field of the form is too long")

    def on_part_end(self) -> None:
        if self.name is not None:
            self.fields.append((self.name, self.value.decode("utf-8", "replace")))
        self.name, self.into = None, None

    def on_end(self) -> None:
        self.ended = True


async def _multipart(request: Request, boundary: bytes) -> _Parts:
    parts = _Parts()
    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": parts.on_part_begin,
            "on_part_data": parts.on_part_data,
            "on_part_end": parts.on_part_end,
            "on_header_field": parts.on_header_field,
            "on_header_value": parts.on_header_value,
            "on_header_end": parts.on_header_end,
            "on_headers_finished": parts.on_headers_finished,
            "on_end": parts.on_end,
        },
    )
    try:
        async for chunk in request.stream():
            if chunk:
                parser.write(chunk)
        parser.finalize()
    except MultipartParseError as exc:
        raise HTTPException(400, "the form is not well-formed multipart data") from exc
    if not parts.ended:
        raise HTTPException(400, "the form ended before it was complete")
    return parts


async def read_form(request: Request) -> ReportForm:
    """The report form from the request's body — multipart (the browser's, with a photograph)
    or URL-encoded — held in memory only."""
    kind, options = parse_options_header(request.headers.get("content-type", ""))
    sent: list[tuple[str, str]]
    photo: bytes | None = None
    if kind == b"multipart/form-data" and options.get(b"boundary"):
        parts = await _multipart(request, options[b"boundary"])
        sent, photo = parts.fields, bytes(parts.photo) if parts.photo else None
    elif kind == b"application/x-www-form-urlencoded":
        form = await request.form()
        sent = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    else:
        raise HTTPException(400, "send the report form as the page does (a form post)")
    out = ReportForm(photo=photo)
    for name, value in sent:
        if name in reports.REPORT_FIELDS:
            out.fields[name] = value.strip()
        elif name == "mark":
            out.marks += [m.strip() for m in value.splitlines() if m.strip()]
        elif name == "contact":
            out.contact = value
        elif name == "consent":
            out.consent = value
    return out


_PARTIAL_DATE = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")


def _check_date(label: str, text: str, problems: list[str | Sentence]) -> str:
    """A date as people know it: a year, a year and month, or a whole date (not in the
    future); ``text`` with its digits made 0-9, or "" with a problem added."""
    text = digits(text).strip().replace("/", "-")
    found = _PARTIAL_DATE.fullmatch(text)
    try:
        if not found:
            raise ValueError(text)
        year, month, day = (int(g) if g else None for g in found.groups())
        assert year is not None
        first = datetime.date(year, month or 1, day or 1)
        if year < 1900 or first > datetime.date.today():
            raise ValueError(text)
    except ValueError:
        problems.append(
            Sentence(
                N_("%(field)s: give a year (1985), a month (1985-03) or a date (1985-03-18)"),
                field=Sentence(label),
            )
        )
        return ""
    return "-".join(
        [f"{year:04d}"] + ([f"{month:02d}"] if month else []) + ([f"{day:02d}"] if day else [])
    )


def check(form: ReportForm) -> list[str | Sentence]:
    """What is wrong with the form, in sentences that never quote the personal data; the form's
    fields are tidied (digits as 0-9, dates written one way) on the way."""
    problems: list[str | Sentence] = []
    f = form.fields
    for name, value in list(f.items()):
        if len(value) > (FIELD_LIMIT if name == "note" else 500):
            problems.append(
                Sentence(N_("%(field)s is too long"), field=Sentence(LABELS.get(name, name)))
            )
        if name in NUMERIC:
            f[name] = digits(value)
    year = f.get("birth_year", "")
    if year and not (
        year.isascii() and year.isdigit() and len(year) == 4 and 1900 <= int(year) <= _this_year()
    ):
        problems.append(
            Sentence(
                N_("year of birth: give a year like 1985 (from 1900 to %(year)s)"),
                year=_this_year(),
            )
        )
        f["birth_year"] = ""
    for name in ("birth_date", "arrest_date"):
        if f.get(name):
            f[name] = _check_date(LABELS[name], f[name], problems)
    if f.get("sex") not in (None, "", "male", "female"):
        problems.append(Sentence(N_("sex: male, female, or leave it empty")))
        f["sex"] = ""
    if len(form.marks) > MAX_MARKS:
        problems.append(Sentence(N_("at most %(count)s marks"), count=MAX_MARKS))
    if any(len(m) > 500 for m in form.marks):
        problems.append(Sentence(N_("a mark is too long (500 characters at most)")))
    if len(form.contact) > FIELD_LIMIT or len(form.consent) > FIELD_LIMIT:
        problems.append(
            Sentence(
                N_("contact details and consent: %(count)s characters at most each"),
                count=FIELD_LIMIT,
            )
        )
    if not any(f.get(k) for k in ("full_name", "full_name_latin", "given_name")):
        problems.append(
            Sentence(N_("give the missing person's name, in Arabic or in Latin letters"))
        )
    return problems


def _this_year() -> int:
    return datetime.date.today().year


def contacts_key(vault: Vault) -> str:
    """Why contact details cannot be stored now ("" when the contacts key is ready)."""
    try:
        reports.check_key(vault)
    except UsageError as exc:
        return public(str(exc), vault)
    return ""


def _form_page(
    request: Request,
    form: ReportForm | None = None,
    problems: list[str | Sentence] | None = None,
    status_code: int = 200,
) -> Response:
    typed_personal = form is not None and form.personal
    return page(
        request,
        "family_new.html",
        status_code=status_code,
        form=(form or ReportForm()).echo(),
        problems=problems or [],
        retype=bool(problems) and typed_personal,
        no_key=contacts_key(_vault(request)),
        labels=LABELS,
        mark_inputs=MARK_INPUTS,
        photo_mib=PHOTO_LIMIT // 2**20,
    )


# -- routes ---------------------------------------------------------------------------------------


@router.get("/reports", response_class=HTMLResponse)
def reports_page(request: Request, user: Families) -> Response:
    with auth.connection(_vault(request)) as conn:
        rows = reports.list_reports(conn)
    return page(request, "family_reports.html", rows=rows)


@router.get("/reports/new", response_class=HTMLResponse)
def report_form(request: Request, user: Families) -> Response:
    return _form_page(request)


@router.post("/reports/new")
async def report_add(request: Request, user: Families) -> Response:
    """Record the report and send the browser to its page (post, redirect, get). A form with a
    mistake comes back, status 400, with what was typed — never the contact details, the
    consent or the photograph."""
    form = await read_form(request)
    problems = check(form)
    vault = _vault(request)
    if not problems and form.personal:
        missing = contacts_key(vault)
        if missing:
            problems.append(
                Sentence(
                    N_(
                        "contact details, consent and a photograph are sealed with the contacts"
                        " key, which this vault does not have: %(why)s. Nothing was saved; send"
                        " the report without them, or ask an administrator for the key."
                    ),
                    why=missing,
                )
            )
    if problems:
        return _form_page(request, form, problems, status_code=400)
    try:
        report_id = await run_in_threadpool(_add, vault, user.name, form)
    except UsageError as exc:  # e.g. a photograph that is not an image
        return _form_page(request, form, [public(str(exc), vault)], status_code=400)
    return back(f"/reports/{report_id}")


def _add(vault: Vault, actor: str, form: ReportForm) -> str:
    fields = {k: v for k, v in form.fields.items() if v}
    with auth.connection(vault, readonly=False) as conn:
        return reports.add_report(
            vault,
            conn,
            vault.ledger(conn),
            actor,
            fields,
            marks=form.marks,
            photo=form.photo,
            contact=form.contact.strip() or None,
            consent=form.consent.strip() or None,
        )


FACE_AID = N_("An aid only: face similarity cannot identify anyone.")
"""Shown with every face comparison (the same words as :data:`dalil.faces.AID`)."""

Looked = Annotated[
    int | None, Query(ge=0, le=MAX_ROW, description="The linkage run just recorded.")
]


def _view(
    request: Request,
    user: users.User,
    ref: str,
    *,
    looked: int | None = None,
    contact: dict[str, str] | None = None,
    faces: dict[str, dict[str, Any]] | None = None,
    error: str | Sentence = "",
    status_code: int = 200,
) -> Response:
    vault = _vault(request)
    with auth.connection(vault) as conn:
        found = reports.report(conn, ref)
        rows = family.candidates(conn, found["report"])
        events = vault.ledger(conn, signing=False).events_about(f"report:{found['report']}")
    added = next((e for e in events if e["action"] == "report.added"), None)
    reads = [e for e in events if e["action"] == "report.contact-read"]
    return page(
        request,
        "family_report.html",
        status_code=status_code,
        report=found,
        labels=LABELS,
        numeric=NUMERIC,
        candidates=rows,
        needed=family.NEEDED,
        looked=looked,
        has_contact=bool(added and added["details"].get("contact")),
        contact_reads=reads,
        contact=contact,
        faces=faces,
        face_aid=FACE_AID,
        no_key=contacts_key(vault),
        error=error,
    )


@router.get("/reports/{ref}", response_class=HTMLResponse)
def report_page(request: Request, ref: str, user: Families, looked: Looked = None) -> Response:
    return _view(request, user, ref, looked=looked)


@router.post("/reports/{ref}/look")
def report_look(request: Request, ref: str, user: Families) -> Response:
    """Run linkage for this report (Splink reads while nothing is locked) and record it."""
    vault = _vault(request)
    with auth.connection(vault) as conn:
        report_id = reports.report(conn, ref)["report"]
        try:
            found = family.look(conn, report_id)
        except UsageError as exc:
            problem = str(exc)
        else:
            problem = ""
    if problem:
        return _view(request, user, report_id, error=problem, status_code=400)
    with auth.connection(vault, readonly=False) as conn:
        run = family.record_look(conn, vault.ledger(conn), user.name, found)
    return back(f"/reports/{report_id}?looked={run}")


@router.post("/reports/{ref}/contact", response_class=HTMLResponse)
def report_contact(request: Request, ref: str, user: Families) -> Response:
    """The family's contact details and consent, shown in this answer only (never stored in
    the browser's history: ``no-store``); the reading is a ledger event, what was read is
    not."""
    vault = _vault(request)
    with auth.connection(vault) as conn:
        report_id = reports.report(conn, ref)["report"]
    try:
        with auth.connection(vault, readonly=False) as conn:
            found = reports.read_contact(vault, conn, vault.ledger(conn), user.name, report_id)
    except UsageError as exc:
        return _view(request, user, report_id, error=public(str(exc), vault), status_code=400)
    return _view(request, user, report_id, contact=found)


@router.post("/reports/{ref}/faces", response_class=HTMLResponse)
def report_faces(request: Request, ref: str, user: Families) -> Response:
    """Compare the family's photograph with the faces in the candidate cases' photographs —
    an aid only, shown in this answer beside each case's text evidence. Each comparison is a
    ``faces.compared`` ledger event; the similarities are not kept."""
    from dalil import faces

    vault = _vault(request)
    with auth.connection(vault) as conn:
        report_id = reports.report(conn, ref)["report"]
        cases = sorted(
            {str(c["description"]["case_id"]) for c in family.candidates(conn, report_id)
             if c["kind"] == "case"}
        )  # fmt: skip
    if not cases:
        return _view(
            request, user, report_id, status_code=400,
            error=Sentence(N_("no case is a candidate yet: look for candidates first")),
        )  # fmt: skip
    try:
        with auth.connection(vault, readonly=False) as conn:
            found = faces.rank(vault, conn, vault.ledger(conn), user.name, report_id, cases)
    except UsageError as exc:
        return _view(request, user, report_id, error=public(str(exc), vault), status_code=400)
    return _view(request, user, report_id, faces=faces.by_case(found.ranked))


_WEIGHT_WORDS = {
    (True, "strongly"): N_("counts strongly for"),
    (True, ""): N_("counts for"),
    (True, "slightly"): N_("counts slightly for"),
    (False, "strongly"): N_("counts strongly against"),
    (False, ""): N_("counts against"),
    (False, "slightly"): N_("counts slightly against"),
}


def weight_words(weight: float) -> str:
    """How strongly one field's agreement counted, in words (the page's language)."""
    size = abs(weight)
    if size < 0.25:
        return gettext("counts neither way")
    strength = "strongly" if size >= 3 else "" if size >= 1 else "slightly"
    return gettext(_WEIGHT_WORDS[weight > 0, strength])


def state_words(candidate: dict[str, Any]) -> str:
    """A candidate's review state as a liaison officer would say it (the page's language)."""
    state = candidate["state"]
    if state == "confirmed":
        return gettext("confirmed by two reviewers")
    if state == "rejected":
        return gettext("rejected by a reviewer: not the same person")
    if state == "conflict":
        return gettext("reviewers disagree: not confirmed")
    # the library's "1 of 2": how many reviewers confirmed, of how many are needed
    have, _, need = str(candidate["confirmations"]).partition(" of ")
    return gettext("not yet confirmed — %(have)s of %(need)s reviewers") % {
        "have": shown(have),
        "need": shown(need),
    }


TEMPLATES.env.filters["weight_words"] = weight_words
TEMPLATES.env.filters["state_words"] = state_words
