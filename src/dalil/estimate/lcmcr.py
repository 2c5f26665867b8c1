"""The Bayesian non-parametric latent-class model of Manrique-Vallier (2016), as R's ``LCMCR``.

*Bayesian population size estimation using Dirichlet process mixtures* (Biometrics 72,
1246-1254). Each of the N people belongs to one of ``classes`` (K*) latent classes; within a
class, being on each list is an independent coin toss with that class's own probability
(product-Bernoulli). Mixing the classes lets the probability of being listed vary from person
to person, which is what biases the independence model, and lets the lists be dependent overall.

Priors, as in ``LCMCR``:

- class weights: truncated stick-breaking, ``V_k ~ Beta(1, alpha)`` for k < K*, ``V_K* = 1``;
- concentration ``alpha ~ Gamma(0.25, 0.25)`` (shape, rate: ``LCMCR``'s ``a_alpha``,
  ``b_alpha``);
- capture probabilities ``lambda[j, k] ~ Beta(1, 1)``;
- ``p(N) ∝ 1/N`` (improper), under which the number unseen given the rest is negative binomial.

The Gibbs sampler augments the data with the people no list holds (``LCMCR``'s update order):
the classes of the observed, the capture probabilities, the weights, the number unseen ``n0``
(negative binomial on the observed count and the probability of being on no list, capped at 20
times the observed, as ``LCMCR`` does), their classes, then ``alpha``. It works on pattern
counts, never on people: the observed with one capture pattern are shared among the classes by
one multinomial draw per pattern, the unseen by one multinomial draw.

Defaults (each a keyword of :func:`fit`): K* = 10 classes (``lcmCR``'s default is 5; its
author's examples and the paper use 10); 4 chains; 2,000 burn-in iterations per chain, the
first 500 of them ``LCMCR``'s warm-up (``alpha`` held at 0.3/K*, then the classes sorted by
weight); every 20th iteration kept. ``draws`` is the number of kept draws of N in all, shared
among the chains (each keeps ``ceil(draws / chains)``), so the default 10,000 draws take
4 x (2,000 + 2,500 x 20) = 208,000 chain iterations, about 8 s on a 2-core machine.
``LCMCR``'s own run (burn-in 10,000, thinning 10, 1,000 samples, one chain) is ten times
shorter, and N mixes slowly in this model: thinning 10 left the effective sample size of N
below 400 on some 3- and 4-list tables. The chains run side by side, as one set of arrays
drawn from one random stream seeded by ``seed`` (each chain starts from its own random class
weights): the same seed gives the same draws.

Convergence: split, rank-normalised R-hat and bulk effective sample size of N (Vehtari et al.
2021, *Bayesian Analysis* 16, 667-718). When R-hat exceeds 1.05 or fewer than 400 draws are
effectively independent, the estimate carries the ``not_mixed`` caveat.

What the model assumes: a closed population (nobody enters or leaves while the lists are
made); no linkage errors (each person is matched across the lists exactly); and that the way
capture varies between people is captured by a handful of classes within which the lists are
independent. It cannot see people whom every list was equally unable to reach.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import numpy.typing as npt

from dalil.errors import UsageError
from dalil.estimate.result import Caveat, Estimate
from dalil.estimate.table import Table

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

CHAINS = 4
BURN_IN = 2_000
WARM_UP = 500
THINNING = 20
CLASSES = 10
A_ALPHA = 0.25
B_ALPHA = 0.25
MAX_UNSEEN_RATIO = 20
"""``LCMCR`` caps the number unseen at this many times the number observed."""
RHAT_LIMIT = 1.05
ESS_FLOOR = 400


@dataclass(frozen=True)
class Settings:
    """How the sampler runs (see the module's docstring for the defaults)."""

    chains: int = CHAINS
    burn_in: int = BURN_IN
    thinning: int = THINNING
    classes: int = CLASSES
    a_alpha: float = A_ALPHA
    b_alpha: float = B_ALPHA

    def check(self) -> None:
        if self.chains < 1 or self.thinning < 1 or self.burn_in < 0 or self.classes < 1:
            raise UsageError(
                "chains, thinning and classes must be at least 1 and burn-in at least 0"
            )
        if self.a_alpha <= 0 or self.b_alpha <= 0:
            raise UsageError("the prior of alpha needs a positive shape and rate")


def fit(
    table: Table,
    *,
    seed: int,
    draws: int,
    level: float,
    chains: int = CHAINS,
    burn_in: int = BURN_IN,
    thinning: int = THINNING,
    classes: int = CLASSES,
    a_alpha: float = A_ALPHA,
    b_alpha: float = B_ALPHA,
) -> Estimate:
    """The posterior of the population size N: its median, the equal-tailed ``level``
    interval, and all kept draws (``draws`` in all, rounded up to a multiple of ``chains``),
    with R-hat and effective sample size in ``diagnostics``. The same ``seed`` gives the same
    draws."""
    settings = Settings(chains, burn_in, thinning, classes, a_alpha, b_alpha)
    settings.check()
    if draws < 1:
        raise UsageError(f"at least one draw is needed, got {draws}")
    started = time.perf_counter()
    per_chain = -(-draws // chains)
    kept, used = _run(table, settings, per_chain, np.random.default_rng(seed))
    sizes = kept.astype(np.float64)
    tail = (1 - level) / 2
    lo, hi = np.quantile(sizes, [tail, 1 - tail])
    rhat, ess = split_rhat(sizes), bulk_ess(sizes)
    diagnostics: dict[str, Any] = {
        "chains": chains,
        "burn_in": burn_in,
        "thinning": thinning,
        "classes": classes,
        "rhat": round(rhat, 4),
        "ess": round(ess, 1),
        "seconds": round(time.perf_counter() - started, 2),
        "mean_classes_used": round(float(used), 2),
    }
    return Estimate(
        method="lcmcr",
        observed=table.observed,
        estimate=float(np.median(sizes)),
        interval=(float(lo), float(hi)),
        level=level,
        lists=list(table.lists),
        diagnostics=diagnostics,
        warnings=mixing_caveats(rhat, ess, chains),
        draws=sizes.ravel(),
    )


def mixing_caveats(rhat: float, ess: float, chains: int) -> list[Caveat]:
    """The ``not_mixed`` caveat when R-hat is above 1.05 or the effective sample size below
    400, saying which; none otherwise."""
    problems = []
    if rhat > RHAT_LIMIT:
        problems.append(
            f"its {chains} chains disagree about N (R-hat {rhat:.3f}, above {RHAT_LIMIT})"
        )
    if ess < ESS_FLOOR:
        problems.append(
            f"its draws of N are worth only {ess:.0f} independent ones (effective sample"
            f" size, below {ESS_FLOOR}), so the ends of the interval are themselves uncertain"
        )
    if not problems:
        return []
    return [
        Caveat(
            "not_mixed",
            "The sampler did not settle: "
            + "; and ".join(problems)
            + ". Run it again with more draws (or a longer burn-in) before using the number.",
        )
    ]


# --- the sampler -------------------------------------------------------------------------


@dataclass
class _State:
    """The chains' current values: chains along the first axis, classes along the last."""

    log_nu: FloatArray  # (C, K) log class weights
    log_on: FloatArray  # (C, J, K) log lambda: log P(on list j | class k)
    log_off: FloatArray  # (C, J, K) log (1 - lambda)
    alpha: FloatArray  # (C,)
    seen: IntArray  # (C, M, K) observed people of each pattern in each class
    unseen: IntArray  # (C, K) unseen people in each class


def _run(
    table: Table, settings: Settings, keep: int, rng: np.random.Generator
) -> tuple[IntArray, float]:
    """All chains side by side: burn in, then keep every ``thinning``-th N. Returns the kept
    N (chains by draws) and the mean number of occupied classes over the kept iterations."""
    n = table.observed
    out = np.zeros((settings.chains, keep), dtype=np.int64)
    if n == 0:
        return out, 0.0
    sweep = _Sweep(table, settings, rng)
    state = _initial(table, settings, rng)
    warm = min(WARM_UP, settings.burn_in)
    for _ in range(warm):
        sweep(state, update_alpha=False)
    if warm:
        _sort_classes(state)
    for _ in range(settings.burn_in - warm):
        sweep(state)
    used = 0
    for i in range(keep):
        for _ in range(settings.thinning):
            sweep(state)
        out[:, i] = n + state.unseen.sum(axis=1)
        used += int(np.count_nonzero(state.seen.sum(axis=1) + state.unseen))
    return out, used / (keep * settings.chains)


def _initial(table: Table, settings: Settings, rng: np.random.Generator) -> _State:
    """``LCMCR``'s start: weights from Beta(1, 1) sticks, every class's capture probabilities
    at the lists' shares of the observed, a small alpha, nobody unseen."""
    c, k = settings.chains, settings.classes
    share = table.counts @ table.patterns.astype(np.float64) / table.observed
    share = np.clip(share, 0.01, 0.99)
    log_v, log_rest = _log_sticks(np.ones((c, k - 1)), np.ones((c, k - 1)), rng)
    return _State(
        log_nu=_weights(log_v, log_rest),
        log_on=np.broadcast_to(np.log(share)[:, None], (c, table.k, k)).copy(),
        log_off=np.broadcast_to(np.log1p(-share)[:, None], (c, table.k, k)).copy(),
        alpha=np.full(c, 0.3 / k),
        seen=np.zeros((c, table.counts.size, k), dtype=np.int64),
        unseen=np.zeros((c, k), dtype=np.int64),
    )


class _Sweep:
    """One Gibbs iteration of every chain, in ``LCMCR``'s order."""

    def __init__(self, table: Table, settings: Settings, rng: np.random.Generator) -> None:
        self.patterns = table.patterns.astype(np.float64)  # (M, J)
        self.counts = table.counts
        self.n = table.observed
        self.cap = MAX_UNSEEN_RATIO * self.n
        self.alpha_shape = settings.a_alpha + settings.classes - 1
        self.b_alpha = settings.b_alpha
        self.rng = rng

    def __call__(self, s: _State, *, update_alpha: bool = True) -> None:
        rng = self.rng
        # classes of the observed: one multinomial per chain and pattern over the classes
        base = s.log_nu + s.log_off.sum(axis=1)
        log_p = base[:, None, :] + self.patterns @ (s.log_on - s.log_off)
        s.seen = rng.multinomial(self.counts, _normalised(log_p))
        # capture probabilities: Beta(1 + on, 1 + off) per list and class, the unseen all off
        in_class = s.seen.sum(axis=1) + s.unseen
        on = self.patterns.T @ s.seen
        g = np.log(rng.standard_gamma(np.stack([1.0 + on, 1.0 + in_class[:, None, :] - on])))
        total = np.logaddexp(g[0], g[1])
        s.log_on, s.log_off = g[0] - total, g[1] - total
        # weights: stick-breaking with the people in each class and in the classes after it
        everyone = self.n + s.unseen.sum(axis=1, keepdims=True)
        after = everyone - np.cumsum(in_class, axis=1)[:, :-1]
        log_v, log_rest = _log_sticks(1.0 + in_class[:, :-1], s.alpha[:, None] + after, rng)
        s.log_nu = _weights(log_v, log_rest)
        # the unseen: how many, then their classes
        log_zero = s.log_nu + s.log_off.sum(axis=1)
        n0 = _unseen_counts(self.n, np.logaddexp.reduce(log_zero, axis=1), self.cap, rng)
        s.unseen = rng.multinomial(n0, _normalised(log_zero))
        if update_alpha:
            s.alpha = rng.gamma(self.alpha_shape, 1.0 / (self.b_alpha - s.log_nu[:, -1]))


def _normalised(log_p: FloatArray) -> FloatArray:
    """Probabilities from log weights along the last axis."""
    p = np.exp(log_p - log_p.max(axis=-1, keepdims=True))
    normalised: FloatArray = p / p.sum(axis=-1, keepdims=True)
    return normalised


def _log_gamma(shape: FloatArray, rng: np.random.Generator) -> FloatArray:
    """log of Gamma(shape, 1) draws, exact for tiny shapes too: G(a) = G(a + 1) U^(1/a)
    (Robert and Casella 2004, as ``LCMCR``)."""
    u = 1.0 - rng.random(shape.shape)
    out: FloatArray = np.log(rng.standard_gamma(shape + 1.0)) + np.log(u) / shape
    return out


def _log_sticks(
    a: FloatArray, b: FloatArray, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    """log V and log(1 - V) for V ~ Beta(a, b), without underflow when b is tiny."""
    g = _log_gamma(np.stack([a, b]), rng)
    total = np.logaddexp(g[0], g[1])
    return g[0] - total, g[1] - total


def _weights(log_v: FloatArray, log_rest: FloatArray) -> FloatArray:
    """log class weights from the log stick breaks along the last axis (the last class takes
    what is left)."""
    zero = np.zeros((*log_v.shape[:-1], 1))
    before = np.concatenate([zero, np.cumsum(log_rest, axis=-1)], axis=-1)
    out: FloatArray = np.concatenate([log_v, zero], axis=-1) + before
    return out


def _unseen_counts(n: int, log_zero: FloatArray, cap: int, rng: np.random.Generator) -> IntArray:
    """The number unseen in each chain: negative binomial (failures before ``n`` successes,
    success being seen), as under the 1/N prior, truncated at ``cap``."""
    p_seen = -np.expm1(log_zero)
    n0 = rng.negative_binomial(n, np.maximum(p_seen, 1e-300)).astype(np.int64)
    for c in np.flatnonzero(n0 > cap):
        n0[c] = _truncated(n, float(log_zero[c]), cap, rng)
    return n0


def _truncated(n: int, log_zero: float, cap: int, rng: np.random.Generator) -> int:
    """One negative binomial draw at most ``cap``: by rejection, or, when nearly everyone
    would be unseen, from the truncated distribution itself."""
    p_seen = -math.expm1(log_zero)
    for _ in range(20):
        n0 = int(rng.negative_binomial(n, p_seen)) if p_seen > 0 else cap + 1
        if n0 <= cap:
            return n0
    k = np.arange(1, cap + 1)
    log_pmf = np.concatenate([[0.0], np.cumsum(np.log((n + k - 1) / k) + log_zero)])
    cdf = np.cumsum(np.exp(log_pmf - log_pmf.max()))
    return int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right"))


def _sort_classes(s: _State) -> None:
    """Order each chain's classes by weight, heaviest first (``LCMCR`` does so after its
    warm-up: stick-breaking favours the first classes, so the heavy ones belong there)."""
    order = np.argsort(-s.log_nu, axis=1, kind="stable")
    s.log_nu = np.take_along_axis(s.log_nu, order, axis=1)
    s.unseen = np.take_along_axis(s.unseen, order, axis=1)
    s.seen = np.take_along_axis(s.seen, order[:, None, :], axis=2)
    s.log_on = np.take_along_axis(s.log_on, order[:, None, :], axis=2)
    s.log_off = np.take_along_axis(s.log_off, order[:, None, :], axis=2)


# --- convergence diagnostics (Vehtari, Gelman, Simpson, Carpenter and Bürkner 2021) --------


def split_rhat(draws: FloatArray) -> float:
    """Rank-normalised split R-hat of ``draws`` (chains by iterations): the larger of the
    R-hat of the ranks and of the folded ranks. 1.0 when every draw is the same."""
    x = _split(draws)
    if np.ptp(x) == 0:
        return 1.0
    folded = np.abs(x - np.median(x))
    return max(_rhat(_rank_normal(x)), _rhat(_rank_normal(folded)))


def bulk_ess(draws: FloatArray) -> float:
    """Bulk effective sample size of ``draws`` (chains by iterations), from the rank-normalised
    split chains and Geyer's initial monotone sequence."""
    x = _split(draws)
    if np.ptp(x) == 0:
        return float(draws.size)
    return _ess(_rank_normal(x))


def _split(draws: FloatArray) -> FloatArray:
    """Each chain cut in two halves (the middle draw dropped when the length is odd)."""
    half = draws.shape[1] // 2
    if half < 2:
        return draws
    return np.concatenate([draws[:, :half], draws[:, -half:]])


def _rank_normal(x: FloatArray) -> FloatArray:
    """Normal scores of the pooled ranks (ties share their average rank)."""
    _, inverse, tied = np.unique(x.ravel(), return_inverse=True, return_counts=True)
    ranks = np.cumsum(tied) - (tied - 1) / 2.0
    inv = NormalDist().inv_cdf
    scores = np.array([inv((r - 0.375) / (x.size + 0.25)) for r in ranks])
    return scores[inverse].reshape(x.shape)


def _rhat(x: FloatArray) -> float:
    s = x.shape[1]
    within = float(x.var(axis=1, ddof=1).mean())
    between = float(s * x.mean(axis=1).var(ddof=1)) if x.shape[0] > 1 else 0.0
    if within == 0:
        return 1.0
    return math.sqrt(((s - 1) / s * within + between / s) / within)


def _autocovariance(x: FloatArray) -> FloatArray:
    """Each chain's autocovariance at every lag (biased, as in Stan), by FFT."""
    s = x.shape[1]
    centred = x - x.mean(axis=1, keepdims=True)
    size = 1 << (2 * s - 1).bit_length()
    spectrum = np.fft.rfft(centred, n=size, axis=1)
    out: FloatArray = np.fft.irfft(spectrum * np.conj(spectrum), n=size, axis=1)[:, :s] / s
    return out


def _ess(x: FloatArray) -> float:
    chains, s = x.shape
    acov = _autocovariance(x)
    mean_var = float(acov[:, 0].mean()) * s / (s - 1)
    var_plus = mean_var * (s - 1) / s
    if chains > 1:
        var_plus += float(x.mean(axis=1).var(ddof=1))
    rho = 1.0 - (mean_var - acov.mean(axis=0)) / var_plus
    rho[0] = 1.0
    # Geyer: sum pairs of autocorrelations while the pair sums stay positive and falling
    pairs = rho[: 2 * ((s - 1) // 2)].reshape(-1, 2).sum(axis=1)
    negative = np.flatnonzero(pairs <= 0)
    pairs = pairs[: negative[0]] if negative.size else pairs
    pairs = np.minimum.accumulate(pairs)
    tau = -1.0 + 2.0 * float(pairs.sum())
    total = chains * s
    return float(total / max(tau, 1.0 / math.log10(total)))
