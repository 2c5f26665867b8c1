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

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from dalil import users
from dalil.errors import UsageError
from dalil.estimate import MAX_SEED, METHODS
from dalil.estimate.saved import compute, record, runs, show
from dalil.estimate.vault import STRATA, capture
from dalil.estimate.words import (
    METHOD_NAMES,
    interval,
    meaning,
    model_label,
    model_weight,
    percent,
    unseen,
)
from dalil.estimate.words import number as count_words
from dalil.lists import list_lists
from dalil.vault import Vault
from dalil.web import auth, charts
from dalil.web.errors import public
from dalil.web.guard import GuardedRoute
from dalil.web.params import MAX_ROW
from dalil.web.redirects import back
from dalil.web.render import TEMPLATES, page

router = APIRouter(route_class=GuardedRoute)

Estimates = Annotated[users.User, Depends(auth.need("estimates"))]
Number = Annotated[int, Path(ge=0, le=MAX_ROW, description="A saved estimate's number.")]

MAX_DRAWS = 50_000
"""Draws one request may ask for (the sampler runs while the browser waits)."""
MAX_STRATA = 30
"""Strata one request may ask for (each is estimated on its own while the browser waits)."""
LEVELS = (0.8, 0.9, 0.95, 0.99)
SHOWN_RUNS = 200


TEMPLATES.env.filters["model_label"] = model_label
TEMPLATES.env.filters["model_weight"] = model_weight
TEMPLATES.env.filters["count"] = count_words
TEMPLATES.env.filters["percent"] = percent
TEMPLATES.env.filters["interval"] = lambda ends: interval(ends[0], ends[1])


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

    def problems(self, known: set[str]) -> list[str]:
        out = []
        if len(self.lists) < 2:
            out.append("choose two lists or more (three or more for the lcmcr and dga methods)")
        if set(self.lists) - known:
            out.append("a chosen list is not in this vault")
        if self.strata and self.strata not in STRATA:
            out.append(f"a stratum is one of: {', '.join(STRATA)}")
        if self.method not in METHODS:
            out.append(f"a method is one of: {', '.join(METHODS)}")
        if not self.seed.strip().isdecimal() or int(self.seed) > MAX_SEED:
            out.append(f"the seed is a whole number from 0 to {MAX_SEED}")
        if not self.draws.strip().isdecimal() or not 100 <= int(self.draws) <= MAX_DRAWS:
            out.append(f"draws: a whole number from 100 to {MAX_DRAWS:,}")
        if self.level not in {str(v) for v in LEVELS}:
            out.append(f"the level is one of {', '.join(map(str, LEVELS))}")
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
    problems: list[str] | None = None,
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
    except UsageError as exc:
        return _index(request, form, [public(str(exc), vault)], 400)
    return back(f"/estimates/{number}")


def _estimate(vault: Vault, actor: str, form: EstimateForm) -> int:
    with auth.connection(vault) as conn:
        users.require(conn, actor, "estimates", "save estimates")
        found = capture(conn, form.lists, strata=form.strata or None)
    if len(found.tables) > MAX_STRATA:
        raise UsageError(
            f"{form.strata} splits these lists into {len(found.tables)} strata; at most"
            f" {MAX_STRATA} are estimated here (each takes its own run of the method): choose"
            " a coarser stratum, or use 'dalil estimate' on the command line"
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
    title = f"Posterior draws of N, estimate {number}"
    if saved["method"] == "loglinear":
        title = f"Bootstrap replicates of N, estimate {number}"
    missing, missing_lo, missing_hi = unseen(result)
    return page(
        request,
        "estimate.html",
        saved=saved,
        result=result,
        unseen=missing,
        unseen_interval=(missing_lo, missing_hi),
        histogram=charts.histogram(
            saved["histogram"], float(result["estimate"]), (lo, hi), result["level"], title
        )
        if saved.get("histogram")
        else None,
        strata_chart=charts.strata(result["strata"], result["level"])
        if result.get("strata")
        else None,
        models=[m for m in result.get("models", []) if isinstance(m, dict)],
        meaning=meaning(result, unconfirmed),
        method_name=METHOD_NAMES.get(saved["method"], saved["method"]),
    )
