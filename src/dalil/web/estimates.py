"""Estimates in the browser: how many people no list holds.

- ``/estimates`` lists the saved estimates and has the form: the lists (checkboxes of the
  imported lists), a stratum field, the method, seed, draws and level. Sending it builds the
  capture table from the lists' links (:func:`dalil.estimate.vault.capture`), estimates,
  saves the estimate as an ``estimate.saved`` ledger event by the person logged in, and sends
  the browser to its page.
- ``/estimates/{number}`` shows one: the estimate, its interval, observed and unseen, each
  warning, a histogram of the posterior of N (server-side SVG), observed against estimated per
  stratum, the models and their weights, the links and lists it came from, and what the number
  can and cannot say.

Every route needs the ``estimates`` permission (admin, investigator, auditor).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from dalil import users
from dalil.errors import UsageError
from dalil.estimate import MAX_SEED, METHODS, words
from dalil.estimate.saved import compute, record, runs, show
from dalil.estimate.vault import STRATA, capture
from dalil.estimate.words import finite, model_label, unseen
from dalil.i18n import N_
from dalil.lists import list_lists
from dalil.vault import Vault
from dalil.web import auth, charts
from dalil.web.errors import public
from dalil.web.guard import GuardedRoute
from dalil.web.params import MAX_ROW
from dalil.web.redirects import back
from dalil.web.render import TEMPLATES, gettext, page, shown
from dalil.web.sentences import Refused, Sentence

router = APIRouter(route_class=GuardedRoute)

Estimates = Annotated[users.User, Depends(auth.need("estimates"))]
Number = Annotated[int, Path(ge=0, le=MAX_ROW, description="A saved estimate's number.")]

MAX_DRAWS = 50_000
"""Draws one request may ask for (the sampler runs while the browser waits)."""
MAX_STRATA = 30
"""Strata one request may ask for (each is estimated on its own while the browser waits)."""
LEVELS = (0.8, 0.9, 0.95, 0.99)
SHOWN_RUNS = 200


METHOD_NAMES = {
    "lcmcr": N_(
        "the latent-class method (Bayesian; it lets people differ in how findable they are)"
    ),
    "dga": N_("Bayesian averaging over models of how the lists depend on each other"),
    "loglinear": N_("the log-linear method (models of how the lists depend on each other)"),
}
"""Each method as a sentence names it: :data:`dalil.estimate.words.METHOD_NAMES`, marked for
translation (``{{ _(name) }}``)."""
assert METHOD_NAMES == words.METHOD_NAMES, "the methods' names differ from dalil.estimate.words"

STRATA_WORDS = (
    N_("sex"),
    N_("birth decade"),
    N_("birth year"),
    N_("birth place"),
    N_("arrest year"),
    N_("arrest place"),
    N_("death year"),
    N_("branch"),
)
"""The stratum fields (:data:`dalil.estimate.vault.STRATA`, ``_`` shown as a space) as the
form names them."""
assert {s.replace("_", " ") for s in STRATA} <= set(STRATA_WORDS), "a stratum is not marked"


# -- an estimate in words, in the page's language (dalil.estimate.words says it in English) ------


def count_words(value: float | None) -> str:
    """A count as people write it: whole, thousands separated; ``no end`` for an end of an
    interval that has none."""
    if value is None or not math.isfinite(value):
        return gettext("no end")
    return shown(f"{value:,.0f}")


def percent(level: float) -> str:
    """An interval's level, never rounded into a claim it does not make: ``99.9%``."""
    return gettext("%(number)s%%") % {"number": shown(f"{round(float(level) * 100, 4):g}")}


def interval(ends: Sequence[float | None]) -> str:
    """An interval in words: ``689 to 799``, or ``713 or more (no upper end)``."""
    lo, hi = ends
    if hi is None or not math.isfinite(hi):
        return gettext("%(low)s or more (no upper end)") % {"low": count_words(lo)}
    return gettext("%(low)s to %(high)s") % {"low": count_words(lo), "high": count_words(hi)}


def model_weight(model: dict[str, Any]) -> str:
    for key in ("weight", "probability", "posterior"):
        value = model.get(key)
        if isinstance(value, int | float):
            return shown(f"{value:.3f}")
    return "—"


def _interval_sentence(result: dict[str, Any], *, estimated: bool) -> str:
    values = {"level": percent(float(result["level"])), "interval": interval(result["interval"])}
    loglinear = result["method"] == "loglinear"
    if not estimated:
        return (
            gettext("The %(level)s confidence interval is %(interval)s.")
            if loglinear
            else gettext("The %(level)s credible interval is %(interval)s.")
        ) % values
    return (
        gettext(
            "The %(level)s confidence interval is %(interval)s: numbers in that range are"
            " consistent with the lists under the model's assumptions; it does not cover"
            " mistakes in the assumptions."
        )
        if loglinear
        else gettext(
            "The %(level)s credible interval is %(interval)s: numbers in that range are"
            " consistent with the lists under the model's assumptions; it does not cover"
            " mistakes in the assumptions."
        )
    ) % values


def meaning(result: dict[str, Any], unconfirmed: int | None = None) -> list[Markup]:
    """What the estimate ``result`` says and cannot say, in paragraphs: the words of
    :func:`dalil.estimate.words.meaning`, in the page's language, each list's name kept in its
    own direction."""
    lists = Markup(", ").join(Markup("<bdi>{}</bdi>").format(name) for name in result["lists"])
    observed = int(result["observed"])
    method = gettext(METHOD_NAMES.get(result["method"], result["method"]))
    on = Markup(
        gettext("%(observed)s people are on at least one of the %(count)s lists (%(lists)s).")
    ) % {"observed": count_words(observed), "count": shown(len(result["lists"])), "lists": lists}
    if not finite(result["estimate"]):
        said = [
            gettext("There is no estimate here."),
            on,
            gettext(
                "The lists overlap too little for %(method)s to say how many people are on none"
                " of them: the population held at least %(observed)s people, perhaps very many"
                " more."
            )
            % {"method": method, "observed": count_words(observed)},
            _interval_sentence(result, estimated=False),
            gettext("Other lists, or lists that share more people, are needed for a number."),
        ]
    else:
        est = float(result["estimate"])
        said = [
            gettext("This is an estimate, not a count."),
            on,
            gettext(
                "From how the lists overlap, %(method)s estimates that about %(estimate)s people"
                " were in the population the lists draw from, so about %(unseen)s are on none of"
                " them."
            )
            % {
                "method": method,
                "estimate": count_words(est),
                "unseen": count_words(max(est - observed, 0)),
            },
            _interval_sentence(result, estimated=True),
        ]
    cannot = [
        gettext(
            "What it cannot say: who the missing people are, or when and where they were lost."
            " It assumes a closed population — that everyone counted could have been on every"
            " list over the same period; deaths, releases and new arrests while the lists were"
            " being made break that."
        ),
        gettext(
            "It assumes the records were linked correctly. Records of one person left unlinked"
            " make people seem to be on fewer lists and the estimate too high; different people"
            " linked together make it too low."
        ),
    ]
    if unconfirmed:
        cannot.append(
            gettext("%(count)s of the links used are probable links no reviewer has confirmed.")
            % {"count": count_words(unconfirmed)}
        )
    cannot.append(
        gettext(
            "And it assumes that the ways in which people differ in how likely they are to be"
            " recorded (heterogeneity: some are well known, some lived where no list reached)"
            " are captured by the model; people no list could ever reach are in no estimate."
            " Quote the interval with the number, and the lists it comes from."
        )
    )
    out = [Markup(" ").join(said), Markup(" ").join(cannot)]
    if result.get("strata"):
        out.append(
            Markup(
                gettext(
                    "The lists were split into %(count)s strata, each estimated on its own and"
                    " added up draw by draw; a stratum with few people gives an unstable"
                    " estimate of its own."
                )
            )
            % {"count": shown(len(result["strata"]))}
        )
    return out


TEMPLATES.env.filters["model_label"] = model_label
TEMPLATES.env.filters["model_weight"] = model_weight
TEMPLATES.env.filters["count"] = count_words
TEMPLATES.env.filters["percent"] = percent
TEMPLATES.env.filters["interval"] = interval
TEMPLATES.env.filters["meaning"] = meaning


def _vault(request: Request) -> Vault:
    vault: Vault = request.app.state.vault
    return vault


@dataclass(slots=True)
class EstimateForm:
    """What the form sent, checked (:meth:`problems`)."""

    lists: list[str] = field(default_factory=list)
    strata: str = ""
    method: str = "lcmcr"
    seed: str = "1"
    draws: str = "10000"
    level: str = "0.95"

    def problems(self, known: set[str]) -> list[str | Sentence]:
        out: list[str | Sentence] = []
        if len(self.lists) < 2:
            out.append(
                Sentence(
                    N_("choose two lists or more (three or more for the lcmcr and dga methods)")
                )
            )
        if set(self.lists) - known:
            out.append(Sentence(N_("a chosen list is not in this vault")))
        if self.strata and self.strata not in STRATA:
            out.append(Sentence(N_("a stratum is one of: %(choices)s"), choices=", ".join(STRATA)))
        if self.method not in METHODS:
            out.append(Sentence(N_("a method is one of: %(choices)s"), choices=", ".join(METHODS)))
        if not self.seed.strip().isdecimal() or int(self.seed) > MAX_SEED:
            out.append(Sentence(N_("the seed is a whole number from 0 to %(most)s"), most=MAX_SEED))
        if not self.draws.strip().isdecimal() or not 100 <= int(self.draws) <= MAX_DRAWS:
            out.append(
                Sentence(
                    N_("draws: a whole number from %(least)s to %(most)s"),
                    least=100,
                    most=f"{MAX_DRAWS:,}",
                )
            )
        if self.level not in {str(v) for v in LEVELS}:
            out.append(
                Sentence(N_("the level is one of %(choices)s"), choices=", ".join(map(str, LEVELS)))
            )
        return out


async def _read(request: Request) -> EstimateForm:
    form = await request.form()
    got = EstimateForm(lists=[str(v) for v in form.getlist("list") if isinstance(v, str)])
    for name in ("strata", "method", "seed", "draws", "level"):
        value = form.get(name)
        if isinstance(value, str):
            setattr(got, name, value.strip())
    return got


def _index(
    request: Request,
    form: EstimateForm | None = None,
    problems: list[str | Sentence] | None = None,
    status_code: int = 200,
) -> Response:
    with auth.connection(_vault(request)) as conn:
        rows, total = runs(conn, SHOWN_RUNS)
        lists = list_lists(conn)
    return page(
        request,
        "estimates.html",
        status_code=status_code,
        rows=rows,
        total=total,
        lists=lists,
        form=form or EstimateForm(),
        problems=problems or [],
        strata=list(STRATA),
        methods=METHODS,
        method_names=METHOD_NAMES,
        levels=LEVELS,
        max_draws=MAX_DRAWS,
    )


@router.get("/estimates", response_class=HTMLResponse)
def estimates_page(request: Request, user: Estimates) -> Response:
    return _index(request)


@router.post("/estimates")
async def estimate_new(request: Request, user: Estimates) -> Response:
    """Estimate from the chosen lists, save it, and show it (post, redirect, get). A form with
    a mistake, or lists that cannot be estimated from, comes back with the reason (400)."""
    form = await _read(request)
    vault = _vault(request)
    with auth.connection(vault) as conn:
        known = {str(r["list"]) for r in list_lists(conn)}
    problems = form.problems(known)
    if problems:
        return _index(request, form, problems, 400)
    try:
        number = await run_in_threadpool(_estimate, vault, user.name, form)
    except Refused as exc:
        return _index(request, form, [exc.sentence], 400)
    except UsageError as exc:
        return _index(request, form, [public(str(exc), vault)], 400)
    return back(f"/estimates/{number}")


def _estimate(vault: Vault, actor: str, form: EstimateForm) -> int:
    with auth.connection(vault) as conn:
        users.require(conn, actor, "estimates", "save estimates")
        found = capture(conn, form.lists, strata=form.strata or None)
    if len(found.tables) > MAX_STRATA:
        raise Refused(
            Sentence(
                N_(
                    "%(stratum)s splits these lists into %(count)s strata; at most %(most)s are"
                    " estimated here (each takes its own run of the method): choose a coarser"
                    " stratum, or use 'dalil estimate' on the command line"
                ),
                stratum=form.strata,
                count=len(found.tables),
                most=MAX_STRATA,
            )
        )
    results, _ = compute(
        found.tables,
        form.method,
        seed=int(form.seed),
        draws=int(form.draws),
        level=float(form.level),
    )
    with auth.connection(vault, readonly=False) as conn:
        saved = record(conn, vault.ledger(conn), actor, results, found.tables, capture=found)
    return saved[0]


@router.get("/estimates/{number}", response_class=HTMLResponse)
def estimate_page(request: Request, number: Number, user: Estimates) -> Response:
    with auth.connection(_vault(request)) as conn:
        saved = show(conn, number)
    result: dict[str, Any] = saved["result"]
    unconfirmed = (saved.get("capture") or {}).get("links", {}).get("unconfirmed")
    lo, hi = result["interval"]

    def histogram() -> Markup:  # charts are drawn while the page renders, in its language
        title = gettext("Posterior draws of N, estimate %(number)s")
        if saved["method"] == "loglinear":
            title = gettext("Bootstrap replicates of N, estimate %(number)s")
        return charts.histogram(
            saved["histogram"],
            float(result["estimate"]),
            (lo, hi),
            result["level"],
            title % {"number": shown(number)},
        )

    missing, missing_lo, missing_hi = unseen(result)
    return page(
        request,
        "estimate.html",
        saved=saved,
        result=result,
        unseen=missing,
        unseen_interval=(missing_lo, missing_hi),
        histogram=histogram if saved.get("histogram") else None,
        strata_chart=(lambda: charts.strata(result["strata"], result["level"]))
        if result.get("strata")
        else None,
        models=[m for m in result.get("models", []) if isinstance(m, dict)],
        unconfirmed=unconfirmed,
        method_name=METHOD_NAMES.get(saved["method"], saved["method"]),
    )
