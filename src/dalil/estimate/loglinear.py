"""Poisson log-linear models for capture tables, chosen by AIC (or BIC), with a profile-likelihood
interval for the number of people on no list.

Cells. A table of K lists has ``2**K`` cells indexed as in :meth:`Table.cells` (dga's order):
list 1 is the lowest bit, so for three lists the cells run 000, 100, 010, 110, 001, 101, 011,
111 (patterns written list 1 first). Cell 0, the people on no list, is what is estimated.

Models. The expected count of each observed cell is ``exp`` of an intercept, a main effect
for each list it is on and an interaction for each set of its lists that the model includes;
models are hierarchical (a term's subsets are in the model too) and named by their highest
terms, lists numbered from 1: ``[12][3]`` has lists 1 and 2 dependent, list 3 independent of
both. Interactions among all K lists cannot be estimated (the unseen cell is what they would
need), so terms go up to K-1 lists. Fitted to the ``2**K - 1`` observed cells by iteratively
reweighted least squares, the unseen cell's estimate is ``exp(intercept)`` and N the observed
plus it (the Poisson maximum-likelihood estimate, as Rcapture's ``abundance``).

Which models. Two lists: independence only (then N is Lincoln-Petersen's ``n1 * n2 / m``,
not Chapman's variant). Three to five lists: every model whose highest terms are the edges of a
graph (pairwise interactions only), every graphical model (the graph's cliques as highest
terms) below the saturated, and the model with all (K-1)-way terms; for three lists these are
all 8 hierarchical models below the saturated, for four 87 of Rcapture's 113, for five 1,660.
Six lists or more: a forward stepwise search over pairwise interactions from independence,
adding the one that lowers the criterion most until none does. Models that cannot
estimate the unseen cell are set aside: those whose estimate grows without bound, and those
whose estimate rests on a cell fitted at zero (with an empty cell on the model's boundary the
unseen cell's row must still lie in the span of the other cells' rows).

Interval. The multinomial profile likelihood of N for the chosen model (Cormack 1992, as
Rcapture's ``closedpCI.t``): the model is refitted to the full ``2**K`` table with cell 0 fixed
at ``N - observed``, and the interval holds the N whose profile log-likelihood is within
``chi2_1(level) / 2`` of its maximum; its upper end is ``inf`` when the likelihood never falls
that far. ``draws`` are a parametric bootstrap (Poisson counts from the fitted cells, the chosen
model refitted), kept only to sum strata.

Assumes a closed population (nobody enters or leaves between lists), that the chosen model's
interactions describe how the lists depend on each other, people within a cell alike (no
heterogeneity the interactions cannot absorb), and correct linkage.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import brentq, minimize_scalar
from scipy.special import gammaln, xlogy
from scipy.stats import chi2

from dalil.errors import UsageError
from dalil.estimate.result import Caveat, Estimate
from dalil.estimate.table import Table, TableError
from dalil.estimate.words import percent

CRITERIA = ("aic", "bic")
MAX_ENUMERATED = 5
"""Up to this many lists every model of the family is fitted; beyond, a stepwise search."""
UNBOUNDED = 1e6
"""An unseen-cell estimate above this many times the observed counts as no estimate."""
REPLICATES = 1000
"""The most bootstrap replicates (fewer when fewer draws are asked for)."""
SHOWN = 25
"""How many models ``Estimate.models`` lists, the best first."""
MAX_ITER = 100
TOLERANCE = 1e-10

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Model:
    """A hierarchical log-linear model, by its highest terms as bit masks of lists."""

    generators: tuple[int, ...]

    def terms(self) -> list[int]:
        """Every term of the model (main effects included), lowest order first."""
        found = {t for g in self.generators for t in range(1, g + 1) if t & g == t}
        return sorted(found, key=lambda t: (t.bit_count(), t))

    def name(self) -> str:
        return "".join(f"[{_members(g)}]" for g in self.generators)

    def design(self, cells: npt.NDArray[np.int64]) -> FloatArray:
        """The design matrix for the given cell indexes: an intercept, then one 0/1 column
        per term (1 where the cell is on all of the term's lists)."""
        columns = [np.ones(cells.size)] + [((cells & t) == t).astype(float) for t in self.terms()]
        return np.column_stack(columns)


def _members(mask: int) -> str:
    out = [str(i + 1) for i in range(mask.bit_length()) if mask >> i & 1]
    return ("," if len(out) > 1 and int(out[-1]) > 9 else "").join(out)


def _model(masks: list[int]) -> Model:
    """The model whose terms are ``masks`` and their subsets, named by the highest."""
    top = [m for m in set(masks) if not any(m != o and m & o == m for o in masks)]
    top.sort(key=lambda m: [i for i in range(m.bit_length()) if m >> i & 1])
    return Model(tuple(top))


@functools.cache
def models(k: int) -> tuple[Model, ...]:
    """The models fitted to a table of ``k`` lists (at most :data:`MAX_ENUMERATED`), fewest
    terms first: pairwise and graphical models below the saturated, and all (k-1)-way terms."""
    singles = [1 << v for v in range(k)]
    pairs = [(1 << i) | (1 << j) for i, j in itertools.combinations(range(k), 2)]
    found: dict[tuple[int, ...], Model] = {}

    def add(model: Model) -> None:
        if all(g.bit_count() < k for g in model.generators) or k == 1:
            found.setdefault(model.generators, model)

    for chosen in range(1 << len(pairs)):
        edges = {p for bit, p in enumerate(pairs) if chosen >> bit & 1}
        add(_model(singles + sorted(edges)))
        complete = [
            m
            for m in range(1, 1 << k)
            if all(p in edges for p in pairs if p & m == p) or m.bit_count() == 1
        ]
        add(_model(complete))
    full = (1 << k) - 1
    add(_model([full & ~(1 << v) for v in range(k)]))
    return tuple(sorted(found.values(), key=lambda m: (len(m.terms()), m.name())))


@dataclass(frozen=True)
class Fitted:
    """One model fitted to the observed cells: ``unseen`` is ``inf`` when the model gives no
    estimate of the unseen cell (it grows without bound, or the data do not determine it)."""

    model: Model
    beta: FloatArray
    deviance: float
    aic: float
    bic: float
    unseen: float

    def score(self, criterion: str) -> float:
        return self.aic if criterion == "aic" else self.bic


def _irls(
    x: FloatArray, y: FloatArray, beta: FloatArray | None, limit: float
) -> tuple[FloatArray, float, bool]:
    """A Poisson log-linear fit by iteratively reweighted least squares: the coefficients,
    the deviance and whether it converged (deviance and ``exp(beta[0])``, the fitted cell
    whose row is all zeros, both settled). Stops early when ``exp(beta[0])`` passes ``limit``.
    Coefficients of cells that are empty on the boundary run off towards minus infinity; the
    deviance and the other fitted values still settle, as in R's ``glm``. A start ``beta``
    that fails (one from a fit on the boundary can) is retried from the data."""
    if beta is not None:
        b, deviance, converged = _iterate(x, y, beta, _mean(x, beta), limit)
        if converged or b[0] > math.log(limit):
            return b, deviance, converged
    return _iterate(x, y, np.zeros(x.shape[1]), y + 0.1, limit)


def _iterate(
    x: FloatArray, y: FloatArray, b: FloatArray, mu: FloatArray, limit: float
) -> tuple[FloatArray, float, bool]:
    deviance = _deviance(y, mu)
    for _ in range(MAX_ITER):
        root = np.sqrt(mu)
        working = np.log(mu) + (y - mu) / mu
        solved = np.linalg.lstsq(x * root[:, None], working * root, rcond=None)[0]
        new_b = np.asarray(solved, dtype=np.float64)
        mu = _mean(x, new_b)
        new = _deviance(y, mu)
        unseen, before = math.exp(min(new_b[0], 300)), math.exp(min(b[0], 300))
        steady = abs(new - deviance) <= TOLERANCE * (abs(new) + 0.1)
        settled = steady and abs(unseen - before) <= 1e-8 * (1 + unseen)
        b, deviance = new_b, new
        if b[0] > math.log(limit):
            return b, deviance, False
        if settled:
            return b, deviance, True
    return b, deviance, False


def _mean(x: FloatArray, b: FloatArray) -> FloatArray:
    """Fitted counts; the linear predictor is clipped so that no count overflows or
    vanishes to zero (a diverging fit is caught by its unseen cell or its convergence)."""
    out: FloatArray = np.exp(np.clip(x @ b, -300, 300))
    return out


def _deviance(y: FloatArray, mu: FloatArray) -> float:
    return float(2 * np.sum(xlogy(y, y) - xlogy(y, mu) - (y - mu)))


def _fit(model: Model, y: FloatArray, observed: int, start: FloatArray | None = None) -> Fitted:
    """``model`` fitted to the observed cells ``y`` (cells 1 to ``2**K - 1``)."""
    cells = np.arange(1, y.size + 1)
    x = model.design(cells)
    limit = UNBOUNDED * max(observed, 1)
    beta, deviance, converged = _irls(x, y, start, limit)
    mu = _mean(x, beta)
    loglik = float(np.sum(xlogy(y, mu) - mu - gammaln(y + 1)))
    p = x.shape[1]
    found = converged and beta[0] <= math.log(limit) and _estimable(x, mu)
    return Fitted(
        model=model,
        beta=beta,
        deviance=deviance,
        aic=-2 * loglik + 2 * p,
        bic=-2 * loglik + p * math.log(max(observed, 1)),
        unseen=math.exp(beta[0]) if found else math.inf,
    )


def _estimable(x: FloatArray, mu: FloatArray) -> bool:
    """Whether the unseen cell is estimable from the cells not fitted at zero: with empty
    cells on the boundary of the model, its row (the intercept alone) must still lie in the
    span of theirs, or the data do not determine it (any value, or one forced by an empty
    cell, would be an artefact)."""
    kept = x[mu > 1e-6]
    if kept.shape[0] == x.shape[0]:
        return True
    intercept = np.zeros((1, x.shape[1]))
    intercept[0, 0] = 1.0
    rank = np.linalg.matrix_rank(kept) if kept.size else 0
    return bool(np.linalg.matrix_rank(np.vstack([kept, intercept])) == rank)


def _stepwise(k: int, fit_one: Callable[[Model], Fitted], criterion: str) -> list[Fitted]:
    """Forward selection of pairwise interactions from independence: each step adds the pair
    that lowers the criterion most; it stops when none does. Every model tried is returned."""
    singles = [1 << v for v in range(k)]
    pairs = [(1 << i) | (1 << j) for i, j in itertools.combinations(range(k), 2)]
    chosen: list[int] = []
    best = fit_one(_model(singles))
    tried = {best.model.name(): best}
    while True:
        step = [fit_one(_model([*singles, *chosen, p])) for p in pairs if p not in chosen]
        tried.update((f.model.name(), f) for f in step)
        bounded = [f for f in step if math.isfinite(f.unseen)]
        if not bounded:
            break
        candidate = min(bounded, key=lambda f: f.score(criterion))
        if candidate.score(criterion) >= best.score(criterion):
            break
        best = candidate
        chosen = [g for g in best.model.generators if g.bit_count() == 2]
    return list(tried.values())


def _profile(fitted: Fitted, y: FloatArray, observed: int, level: float) -> tuple[float, float]:
    """The multinomial profile-likelihood interval of the unseen cell (Cormack 1992)."""
    k = int(y.size + 1).bit_length() - 1
    x = fitted.model.design(np.arange(2**k))
    limit = UNBOUNDED * max(observed, 1)
    start = [fitted.beta]

    def loglik(n0: float) -> float:
        full = np.concatenate([[n0], y])
        beta, deviance, _ = _irls(x, full, start[0], math.inf)
        start[0] = beta
        total = observed + n0
        # multinomial log-likelihood less the Poisson one, up to a constant (Rcapture's "ct")
        correction = xlogy(n0, n0) + gammaln(total + 1) - xlogy(total, total) - gammaln(n0 + 1)
        return float(correction - deviance / 2)

    guess = fitted.unseen
    found = minimize_scalar(
        lambda n0: -loglik(n0),
        bounds=(0.0, 2 * guess + 10),
        method="bounded",
        options={"xatol": 1e-6 * (1 + guess)},
    )
    top, best = float(found.x), -float(found.fun)
    if loglik(0.0) > best:
        top, best = 0.0, loglik(0.0)
    target = best - float(chi2.ppf(level, 1)) / 2

    def gap(n0: float) -> float:
        return loglik(n0) - target

    lower = 0.0 if gap(0.0) >= 0 else float(brentq(gap, 0.0, top, xtol=1e-6 * (1 + top)))
    start[0] = fitted.beta
    high = max(2 * top, top + 10)
    while gap(high) > 0:
        if high > limit:
            return lower, math.inf
        high *= 4
    upper = float(brentq(gap, top, high, xtol=1e-6 * (1 + top)))
    return lower, upper


def _bootstrap(
    fitted: Fitted, y: FloatArray, observed: int, replicates: int, seed: int
) -> tuple[FloatArray, int]:
    """Parametric bootstrap of N: Poisson counts drawn for every cell from the fitted model
    (the unseen cell included), the model refitted to the drawn observed cells. Returns the
    replicates that gave an estimate and how many did not."""
    rng = np.random.default_rng(seed)
    k = int(y.size + 1).bit_length() - 1
    mu = _mean(fitted.model.design(np.arange(2**k)), fitted.beta)
    out = []
    lost = 0
    for _ in range(replicates):
        drawn = rng.poisson(mu)[1:].astype(np.float64)
        seen = int(drawn.sum())
        again = _fit(fitted.model, drawn, seen, fitted.beta)
        if math.isfinite(again.unseen):
            out.append(seen + again.unseen)
        else:
            lost += 1
    return np.asarray(out, dtype=np.float64), lost


def fit(table: Table, *, seed: int, draws: int, level: float, criterion: str = "aic") -> Estimate:
    """Fit the family of log-linear models (see the module's notes), choose by ``criterion``
    (``"aic"``, the default, or ``"bic"``) and return the chosen model's estimate of N, its
    profile-likelihood ``level`` interval and up to 1,000 bootstrap draws (seeded by ``seed``).
    ``models`` lists the best models with AIC, BIC, estimate and weight (AIC or BIC weight
    among the models with a finite estimate)."""
    if criterion not in CRITERIA:
        raise UsageError(f"unknown criterion {criterion!r} (one of {', '.join(CRITERIA)})")
    if table.observed == 0:
        raise TableError("no one is on any list: there is nothing to estimate from")
    y = table.cells()[1:].astype(np.float64)
    observed = table.observed

    def fit_one(model: Model) -> Fitted:
        return _fit(model, y, observed)

    if table.k <= MAX_ENUMERATED:
        fits = [fit_one(m) for m in models(table.k)]
        search = "all" if table.k <= 3 else "pairwise, graphical and all (K-1)-way"
    else:
        fits = _stepwise(table.k, fit_one, criterion)
        search = "forward stepwise over pairwise interactions"
    fits.sort(key=lambda f: f.score(criterion))
    bounded = [f for f in fits if math.isfinite(f.unseen)]
    warnings: list[Caveat] = []
    diagnostics: dict[str, object] = {
        "criterion": criterion,
        "search": search,
        "models_fitted": len(fits),
        "models_set_aside": len(fits) - len(bounded),
    }
    if not bounded:
        warnings.append(
            Caveat(
                "unbounded",
                "No model can estimate the number of people on no list: the lists overlap too"
                " little (or not at all) to say how many people none of them holds.",
            )
        )
        return Estimate(
            method="loglinear",
            observed=observed,
            estimate=math.inf,
            interval=(float(observed), math.inf),
            level=level,
            lists=list(table.lists),
            models=[_row(f, None, observed) for f in fits[:SHOWN]],
            diagnostics=diagnostics,
            warnings=warnings,
        )
    best_score = bounded[0].score(criterion)
    weight = {id(f): math.exp(-(f.score(criterion) - best_score) / 2) for f in bounded}
    total = sum(weight.values())
    chosen = bounded[0]
    if fits[0] is not chosen:
        warnings.append(
            Caveat(
                "unidentified_model",
                f"The model that fits best ({fits[0].model.name()}) cannot estimate the number"
                " of people on no list: it relies on a combination of lists that is empty. The"
                f" estimate comes from the best model that can ({chosen.model.name()}).",
            )
        )
    lower, upper = _profile(chosen, y, observed, level)
    if math.isinf(upper):
        warnings.append(
            Caveat(
                "unbounded",
                f"The {percent(level)} interval has no upper end: the lists cannot rule out that"
                " very many people are on none of them.",
            )
        )
    replicates, lost = _bootstrap(chosen, y, observed, min(draws, REPLICATES), seed)
    if lost:
        warnings.append(
            Caveat(
                "unbounded",
                f"{lost} of {lost + replicates.size} bootstrap replicates could not estimate"
                " the number of people on no list: an interval of strata summed from the"
                " others understates the uncertainty.",
            )
        )
    by_bic = min(bounded, key=lambda f: f.bic)
    diagnostics.update(
        {
            "model": chosen.model.name(),
            "deviance": chosen.deviance,
            "df": y.size - len(chosen.model.terms()) - 1,
            "bic_choice": {
                "model": by_bic.model.name(),
                "estimate": observed + by_bic.unseen,
            },
            "bootstrap": {"replicates": int(replicates.size), "unbounded": lost},
        }
    )
    return Estimate(
        method="loglinear",
        observed=observed,
        estimate=observed + chosen.unseen,
        interval=(observed + lower, observed + upper),
        level=level,
        lists=list(table.lists),
        models=[
            _row(f, weight[id(f)] / total if id(f) in weight else 0.0, observed)
            for f in fits[:SHOWN]
        ],
        diagnostics=diagnostics,
        warnings=warnings,
        draws=replicates if replicates.size else None,
    )


def _row(f: Fitted, weight: float | None, observed: int) -> dict[str, object]:
    return {
        "model": f.model.name(),
        "aic": f.aic,
        "bic": f.bic,
        "estimate": observed + f.unseen,
        "weight": weight,
    }
