"""Bayesian model averaging over decomposable graphical models (Madigan and York 1997), with
the same mathematics as R's ``dga`` package (``bma.cr``).

Cells. A table of K lists has ``2**K`` cells indexed as in dga and :meth:`Table.cells`: list 1
is the lowest bit, so for three lists the cells run 000, 100, 010, 110, 001, 101, 011, 111
(patterns written list 1 first). Cell 0, the people on no list, is what is estimated.

Models. Each decomposable (chordal) graph on the K lists is a model: lists joined by an edge
may depend on each other; lists not joined are independent given the lists that separate them.
All graphs are enumerated (3 lists: 8, 4 lists: 61, 5 lists: 822) and are equally likely a
priori. The cell probabilities have the hyper-Dirichlet prior: each clique's marginal table is
Dirichlet with ``delta * 2**(K - size)`` per cell, so every margin holds ``delta * 2**K``
prior observations. A graph's marginal likelihood is the product of its cliques' divided by
the product of its separators'.

Prior on N. dga's default, proportional to ``1/N``; or, as in dga's published example, the
negative binomial ``P(N) ∝ Γ(N + a) / N! · b**N / (1 + b)**(N + a)`` (``prior=(a, b)``).

The posterior of (model, number missing) is computed exactly, point by point, on a grid of the
number missing. By default the grid is found adaptively (:func:`posterior`): a coarse pass over
0 to 10**9 (1 % steps) locates the posterior, then a fine grid covers it, in steps of one person
across the bulk (even coarser steps, each point standing for the integers around it, only where
the bulk is wider than 4,000 people) joined with geometric steps of 0.2 % or more over the
whole range, and ends where the mass beyond it is below 1e-9; that mass (estimated from the
coarse pass) is reported as ``tail_mass``. A grid may also be given (``nmissing``, as
dga's ``Nmissing``); its points then count one each, as in dga.

Assumes a closed population (nobody enters or leaves between lists), dependence between lists
that one of the graphs describes (the averaging weighs them), people within a cell alike (no
heterogeneity the graphs cannot express), and correct linkage.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import gammaln, logsumexp

from dalil.estimate.result import Caveat, Estimate
from dalil.estimate.table import Table, TableError

MAX_LISTS = 5
"""The most lists enumerated (as dga: 6 lists would have 18,154 graphs)."""
TAIL = 1e-9
"""The default grid ends where less posterior mass than this lies beyond it."""
HEAVY_TAIL = 1e-6
"""More posterior mass than this beyond the grid earns a caveat."""
FINE_POINTS = 4000
"""The most grid points across the bulk of the posterior (steps of one person up to this)."""
COARSE_CAP = 10**9
"""The coarse pass looks this far (number missing), or 10**4 times the observed if more."""
SHOWN = 25
"""How many models ``Estimate.models`` lists, the most probable first."""

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Graph:
    """A decomposable graph, as bit masks of lists (list 1 the lowest bit): its maximal
    cliques and the separators of a junction tree (empty separators left out: they add
    nothing to the marginal likelihood)."""

    cliques: tuple[int, ...]
    separators: tuple[int, ...]

    def name(self) -> str:
        """The cliques, lists numbered from 1: ``[12][3]``."""
        return "".join(f"[{_members(c)}]" for c in self.cliques)


def _members(mask: int) -> str:
    out = [str(i + 1) for i in range(mask.bit_length()) if mask >> i & 1]
    return ("," if len(out) > 1 and int(out[-1]) > 9 else "").join(out)


@functools.cache
def graphs(k: int) -> tuple[Graph, ...]:
    """Every decomposable graph on ``k`` lists, the independence graph first."""
    pairs = list(itertools.combinations(range(k), 2))
    out = []
    for chosen in range(1 << len(pairs)):
        adjacent = [0] * k
        for bit, (i, j) in enumerate(pairs):
            if chosen >> bit & 1:
                adjacent[i] |= 1 << j
                adjacent[j] |= 1 << i
        if _chordal(adjacent):
            cliques = _cliques(adjacent)
            out.append(Graph(tuple(cliques), tuple(_separators(cliques))))
    return tuple(out)


def _chordal(adjacent: list[int]) -> bool:
    """Whether the graph is chordal: simplicial vertices (whose neighbours are all joined)
    can be removed one by one until none is left."""
    left = (1 << len(adjacent)) - 1
    while left:
        for v in range(len(adjacent)):
            if left >> v & 1 and _complete(adjacent[v] & left, adjacent):
                left &= ~(1 << v)
                break
        else:
            return False
    return True


def _complete(mask: int, adjacent: list[int]) -> bool:
    return all(mask & ~(1 << v) & ~adjacent[v] == 0 for v in range(len(adjacent)) if mask >> v & 1)


def _cliques(adjacent: list[int]) -> list[int]:
    """The maximal complete sets of lists, ordered by their lowest list."""
    complete = [m for m in range(1, 1 << len(adjacent)) if _complete(m, adjacent)]
    maximal = [m for m in complete if not any(m != o and m & o == m for o in complete)]
    return sorted(maximal, key=lambda m: [i for i in range(len(adjacent)) if m >> i & 1])


def _separators(cliques: list[int]) -> list[int]:
    """The separators of a junction tree: the edges of a maximum-weight spanning tree of the
    cliques, weighted by the size of their intersection (Kruskal); empty ones left out."""
    edges = sorted(
        ((a & b).bit_count(), i, j)
        for (i, a), (j, b) in itertools.combinations(enumerate(cliques), 2)
    )
    parent = list(range(len(cliques)))

    def root(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    out = []
    for weight, i, j in reversed(edges):
        ri, rj = root(i), root(j)
        if ri != rj:
            parent[ri] = rj
            if weight:
                out.append(cliques[i] & cliques[j])
    return out


@dataclass(frozen=True)
class Posterior:
    """The joint posterior of (model, number missing) on a grid.

    ``weights[i, j]`` is the posterior probability of ``graphs[i]`` with the number missing in
    the span of grid point j: ``low[j]`` to ``low[j] + width[j] - 1`` (one person wide where the
    grid steps by one); ``log_density`` is the unnormalised log posterior at the grid point
    itself, for modes. ``tail_mass``: the posterior mass outside the grid."""

    observed: int
    graphs: tuple[Graph, ...]
    nmissing: IntArray
    low: IntArray
    width: IntArray
    weights: FloatArray
    log_density: FloatArray
    tail_mass: float

    @property
    def n(self) -> IntArray:
        """Population sizes at the grid points."""
        return self.nmissing + self.observed


def log_posterior(
    cells: npt.ArrayLike,
    nmissing: npt.ArrayLike,
    *,
    delta: float,
    prior: tuple[float, float] | None = None,
) -> FloatArray:
    """dga's unnormalised log posterior of (graph, number missing): one row per graph of
    :func:`graphs`, one column per value in ``nmissing``; ``cells`` in dga's order."""
    y = np.asarray(cells, dtype=np.float64).copy()
    y[0] = 0.0
    k = int(y.size).bit_length() - 1
    if y.size != 1 << k:
        raise TableError(f"a table of 2**K cells is needed, got {y.size}")
    n0 = np.asarray(nmissing, dtype=np.float64)
    total = y.sum() + n0
    index = np.arange(y.size)
    # each margin's log Dirichlet-multinomial term, without the factor all margins share
    margins = np.zeros((y.size - 1, n0.size))
    for mask in range(1, y.size):
        size = mask.bit_count()
        d = delta * 2.0 ** (k - size)
        counts = np.bincount(index & mask, weights=y, minlength=y.size)
        keys = index[(index & mask) == index][1:]
        margins[mask - 1] = (
            gammaln(n0 + counts[0] + d) + gammaln(counts[keys] + d).sum() - 2**size * gammaln(d)
        )
    shared = gammaln(y.size * delta) - gammaln(total + y.size * delta)
    found = graphs(k)
    signs = np.zeros((len(found), y.size - 1))
    parts = np.zeros(len(found))
    for i, g in enumerate(found):
        np.add.at(signs[i], [c - 1 for c in g.cliques], 1)
        np.add.at(signs[i], [s - 1 for s in g.separators], -1)  # a separator may repeat
        parts[i] = len(g.cliques) - len(g.separators)
    coefficient = gammaln(total + 1) - gammaln(n0 + 1) - gammaln(y[1:] + 1).sum()
    out: FloatArray = (
        signs @ margins + parts[:, None] * shared + coefficient + _log_prior(total, prior)
    )
    return out


def _log_prior(total: FloatArray, prior: tuple[float, float] | None) -> FloatArray:
    if prior is None:
        return -np.log(total)
    a, b = prior
    out: FloatArray = (
        total * np.log(b) - (total + a) * np.log1p(b) + gammaln(total + a) - gammaln(total + 1)
    )
    return out


def posterior(
    table: Table,
    *,
    delta: float | None = None,
    prior: tuple[float, float] | None = None,
    nmissing: npt.ArrayLike | None = None,
) -> Posterior:
    """The posterior of (graph, number missing) for ``table``. ``delta`` defaults to dga's
    suggested ``2**-K``; ``prior`` None is dga's ``1/N``, ``(a, b)`` the negative binomial of
    dga's example; ``nmissing`` None chooses the grid adaptively (see the module's notes)."""
    if not 2 <= table.k <= MAX_LISTS:
        raise TableError(
            f"the dga method averages over graphs on 2 to {MAX_LISTS} lists, the table has"
            f" {table.k}; use lcmcr or loglinear"
        )
    if table.observed == 0:
        raise TableError("no one is on any list: there is nothing to estimate from")
    if delta is None:
        delta = 2.0**-table.k
    if not delta > 0:
        raise TableError(f"delta must be positive, got {delta}")
    if prior is not None and not (prior[0] > 0 and prior[1] > 0):
        raise TableError(f"the prior's a and b must be positive, got {prior}")
    cells = table.cells()
    found = graphs(table.k)
    coarse, coarse_mass, beyond = _coarse(cells, delta, prior, table.observed)
    if nmissing is None:
        grid, low, width, tail = _fine_grid(coarse, coarse_mass, beyond)
    else:
        grid = np.unique(np.asarray(nmissing, dtype=np.int64))
        if grid.size == 0 or grid[0] < 0:
            raise TableError("the grid of numbers missing must be non-empty and not negative")
        low, width = grid, np.ones_like(grid)
        inside = (coarse >= grid[0]) & (coarse <= grid[-1])
        tail = float(coarse_mass[~inside].sum() + beyond)
    log_density = log_posterior(cells, grid, delta=delta, prior=prior)
    logw = log_density + np.log(width)
    weights = np.exp(logw - logsumexp(logw))
    return Posterior(
        observed=table.observed,
        graphs=found,
        nmissing=grid,
        low=low,
        width=width,
        weights=weights,
        log_density=log_density,
        tail_mass=tail,
    )


def _coarse(
    cells: IntArray, delta: float, prior: tuple[float, float] | None, observed: int
) -> tuple[IntArray, FloatArray, float]:
    """Where the posterior lies: its mass at points 1 % apart from 0 to far out, and an
    estimate of the mass beyond the last point (the tail decays about geometrically from
    point to point there)."""
    cap = max(COARSE_CAP, 10**4 * observed)
    steps = int(np.ceil(np.log(cap / 200) / np.log(1.01)))
    points = np.unique(
        np.concatenate([np.arange(200), np.round(200 * 1.01 ** np.arange(steps + 1))])
    ).astype(np.int64)
    _, width = _spans(points)
    logp = logsumexp(log_posterior(cells, points, delta=delta, prior=prior), axis=0)
    logp = logp + np.log(width)
    mass = np.exp(logp - logsumexp(logp))
    ratio = mass[-1] / mass[-2] if mass[-2] > 0 else 0.0
    beyond = mass[-1] * ratio / (1 - ratio) if ratio < 1 else 1.0
    total = 1 + beyond
    return points, mass / total, beyond / total


def _fine_grid(
    coarse: IntArray, mass: FloatArray, beyond: float
) -> tuple[IntArray, IntArray, IntArray, float]:
    """A grid over the posterior found by the coarse pass, from where the mass below is under
    TAIL to where the mass above is (each bound moved two coarse points outwards for safety):
    even steps across the bulk (up to where 99.9 % lies below; one person wide when the bulk
    is at most FINE_POINTS wide), joined with geometric steps of 0.2 % or more (at most
    FINE_POINTS points) over the whole range, which are one person wide near zero. Returns
    the grid, its spans and the mass beyond it."""
    below = np.cumsum(mass)
    above = 1 - below + mass  # mass at or beyond each point, ``beyond`` left out
    last = coarse.size - 1
    lo = coarse[max(int(np.searchsorted(below, TAIL)) - 2, 0)]
    mid = coarse[min(int(np.searchsorted(below, 0.999)) + 2, last)]
    small = above + beyond < TAIL
    top_index = min(int(np.argmax(small)) + 2, last) if small.any() else last
    hi = coarse[top_index]
    tail = float(mass[top_index + 1 :].sum() + beyond)
    step = max(1, int(np.ceil((mid - lo) / FINE_POINTS)))
    count = min(FINE_POINTS, int(np.ceil(np.log(hi / max(lo, 1)) / np.log(1.002))) + 1)
    parts = [
        np.arange(lo, mid + 1, step),
        np.round(np.geomspace(max(lo, 1), max(hi, 1), max(count, 2))),
        np.array([hi]),
    ]
    grid = np.unique(np.concatenate(parts)).astype(np.int64)
    low, width = _spans(grid)
    return grid, low, width, tail


def _spans(points: IntArray) -> tuple[IntArray, IntArray]:
    """The integers each sorted grid point stands for, as (lowest, how many): those nearer to
    it than to its neighbours (ties go to the lower point; nothing beyond the end points)."""
    low = np.empty_like(points)
    low[0] = points[0]
    low[1:] = (points[:-1] + points[1:]) // 2 + 1
    high = np.empty_like(points)
    high[:-1] = low[1:] - 1
    high[-1] = points[-1]
    return low, high - low + 1


def _quantiles(mass: FloatArray, low: IntArray, width: IntArray, qs: list[float]) -> list[float]:
    """Quantiles of the number missing: the smallest integer whose cumulative mass reaches q,
    each grid point's mass spread evenly over the integers it stands for."""
    cdf = np.cumsum(mass) / mass.sum()
    out = []
    for q in qs:
        j = min(int(np.searchsorted(cdf, q)), cdf.size - 1)
        before = cdf[j - 1] if j else 0.0
        share = (q - before) / (cdf[j] - before) if cdf[j] > before else 1.0
        offset = int(np.clip(np.ceil(share * width[j]) - 1, 0, width[j] - 1))
        out.append(float(low[j] + offset))
    return out


def _bayes(mass: FloatArray, n: IntArray) -> float:
    """Madigan and York's Bayes estimate under relative squared error, E[1/N] / E[1/N**2]."""
    return float((mass / n).sum() / (mass / n.astype(np.float64) ** 2).sum())


def fit(
    table: Table,
    *,
    seed: int,
    draws: int,
    level: float,
    delta: float | None = None,
    prior: tuple[float, float] | None = None,
    nmissing: npt.ArrayLike | None = None,
) -> Estimate:
    """Average over every decomposable graph: the posterior median of N, its equal-tailed
    ``level`` interval and ``draws`` posterior draws (seeded by ``seed``). ``delta``, ``prior``
    and ``nmissing`` as in :func:`posterior`. ``models`` lists the most probable graphs with
    their posterior probability (``weight``), median (``estimate``), mode and Bayes estimate;
    ``diagnostics`` holds the averaged mode and Bayes estimate and the grid used."""
    post = posterior(table, delta=delta, prior=prior, nmissing=nmissing)
    n = post.n
    alpha = (1 - level) / 2
    averaged = post.weights.sum(axis=0)
    median, lo, hi = (
        v + post.observed
        for v in _quantiles(averaged, post.low, post.width, [0.5, alpha, 1 - alpha])
    )
    by_model = post.weights.sum(axis=1)
    order = np.argsort(-by_model, kind="stable")
    models = []
    for i in order[:SHOWN]:
        # normalised within the model, so that improbable models still have a distribution
        logw = post.log_density[i] + np.log(post.width)
        row = np.exp(logw - logsumexp(logw))
        models.append(
            {
                "model": post.graphs[i].name(),
                "weight": float(by_model[i]),
                "estimate": _quantiles(row, post.low, post.width, [0.5])[0] + post.observed,
                "mode": int(n[np.argmax(post.log_density[i])]),
                "bayes": _bayes(row, n),
            }
        )
    rng = np.random.default_rng(seed)
    picked = rng.choice(averaged.size, size=draws, p=averaged / averaged.sum())
    sample = post.observed + post.low[picked] + rng.integers(0, post.width[picked])
    used_delta = 2.0**-table.k if delta is None else delta
    warnings = []
    if post.tail_mass > HEAVY_TAIL:
        warnings.append(
            Caveat(
                "heavy_tail",
                f"The posterior puts {post.tail_mass:.1e} of its mass beyond the numbers"
                " missing considered: the upper end of the interval may be too low, and the"
                " lists say little about how many people none of them holds.",
            )
        )
    return Estimate(
        method="dga",
        observed=post.observed,
        estimate=median,
        interval=(lo, hi),
        level=level,
        lists=list(table.lists),
        models=models,
        diagnostics={
            "delta": used_delta,
            "prior": "1/N" if prior is None else f"negative binomial (a={prior[0]}, b={prior[1]})",
            "graphs": len(post.graphs),
            "grid": [int(post.nmissing[0]), int(post.nmissing[-1])],
            "grid_points": int(post.nmissing.size),
            "tail_mass": float(post.tail_mass),
            "mode": int(n[np.argmax(logsumexp(post.log_density, axis=0))]),
            "bayes_estimate": _bayes(averaged, n),
        },
        warnings=warnings,
        draws=sample.astype(np.float64),
    )
