"""The latent-class model (``lcmcr``) on simulated lists whose true size is known."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from scipy.optimize import brentq

from dalil.estimate import estimate
from dalil.estimate.lcmcr import bulk_ess, fit, mixing_caveats, split_rhat
from dalil.estimate.table import Table

# fewer iterations than the defaults keep the file fast; enough for these tables
QUICK = {"burn_in": 500, "thinning": 5}


def simulate(n: int, capture: list[list[float]], shares: list[float], seed: int) -> Table:
    """A capture table of ``n`` people in latent classes (``shares``), each class with its
    own probability of being on each list (``capture``, one row per class)."""
    rng = np.random.default_rng(seed)
    probs = np.asarray(capture)
    k = probs.shape[1]
    people = rng.choice(len(shares), size=n, p=shares)
    listed = (rng.random((n, k)) < probs[people]).astype(np.int64)
    cells = np.bincount(listed @ (1 << np.arange(k)), minlength=2**k)
    return Table.from_cells([f"list{j + 1}" for j in range(k)], cells)


def independence(table: Table) -> float:
    """The maximum-likelihood N under independent lists with their own capture rates
    (Darroch's M_t): the N at which prod(1 - n_j / N) = 1 - n / N."""
    n = table.observed
    on_list = np.array(list(table.list_totals().values()), dtype=float)

    def gap(size: float) -> float:
        return float(np.log1p(-on_list / size).sum() - np.log1p(-n / size))

    return float(brentq(gap, n * (1 + 1e-9), n * 1e4))


HETEROGENEOUS = ([[0.6] * 5, [0.2] * 5], [0.3, 0.7])
"""30% of people easily found (0.6 on each list), 70% rarely (0.2): a quarter unseen."""


def test_independent_lists_are_estimated() -> None:
    table = simulate(2000, [[0.3, 0.4, 0.2, 0.35, 0.25]], [1.0], seed=1)
    result = fit(table, seed=1, draws=2000, level=0.95, **QUICK)
    lo, hi = result.interval
    assert lo <= 2000 <= hi
    assert abs(result.estimate - 2000) / 2000 < 0.1
    assert result.method == "lcmcr" and result.observed == table.observed
    assert result.draws is not None and result.draws.size == 2000
    assert set(result.diagnostics) == {
        "chains",
        "burn_in",
        "thinning",
        "classes",
        "rhat",
        "ess",
        "seconds",
        "mean_classes_used",
    }


def test_heterogeneity_covered_where_independence_falls_short() -> None:
    truth = 1000
    covered, ours, independent = 0, [], []
    for replicate in range(40):
        table = simulate(truth, *HETEROGENEOUS, seed=100 + replicate)
        result = fit(table, seed=replicate, draws=1000, level=0.95, **QUICK)
        lo, hi = result.interval
        covered += lo <= truth <= hi
        ours.append(result.estimate / truth - 1)
        independent.append(independence(table) / truth - 1)
    assert covered >= 34  # the floor: 0.85
    assert abs(float(np.median(ours))) < 0.08
    # the independence model misses a large share of the unseen, every time
    assert max(independent) < -0.08
    assert float(np.median(independent)) < float(np.median(ours)) - 0.08


def test_same_seed_same_draws_and_other_seeds_agree() -> None:
    table = simulate(1500, *HETEROGENEOUS, seed=7)
    first = fit(table, seed=3, draws=1000, level=0.9, **QUICK)
    again = fit(table, seed=3, draws=1000, level=0.9, **QUICK)
    other = fit(table, seed=4, draws=1000, level=0.9, **QUICK)
    assert first.draws is not None and again.draws is not None and other.draws is not None
    assert np.array_equal(first.draws, again.draws)
    assert (first.estimate, first.interval) == (again.estimate, again.interval)
    assert not np.array_equal(first.draws, other.draws)
    assert abs(other.estimate - first.estimate) / first.estimate < 0.05


def test_not_mixed_when_too_few_draws() -> None:
    # 100 draws can never be worth 400 independent ones
    table = simulate(1000, *HETEROGENEOUS, seed=2)
    result = estimate(table, "lcmcr", seed=1, draws=100)
    codes = [w.code for w in result.warnings]
    assert "not_mixed" in codes
    message = next(w.message for w in result.warnings if w.code == "not_mixed")
    assert "effective sample size" in message


def test_no_caveat_when_the_chains_mix() -> None:
    table = simulate(2000, [[0.3, 0.4, 0.2, 0.35, 0.25]], [1.0], seed=1)
    result = fit(table, seed=3, draws=2000, level=0.95)
    assert result.diagnostics["rhat"] < 1.05 and result.diagnostics["ess"] > 400
    assert result.warnings == []


def test_not_mixed_when_chains_disagree() -> None:
    # no burn-in: every chain starts with nobody unseen and is still climbing
    table = simulate(1000, [[0.5] * 4, [0.05] * 4], [0.4, 0.6], seed=3)
    result = fit(table, seed=1, draws=400, level=0.95, burn_in=0, thinning=1)
    assert result.diagnostics["rhat"] > 1.05
    assert [w.code for w in result.warnings] == ["not_mixed"]
    assert "R-hat" in result.warnings[0].message


def test_mixing_caveat_names_each_failure() -> None:
    assert mixing_caveats(1.01, 1000.0, 4) == []
    (both,) = mixing_caveats(1.2, 50.0, 4)
    assert both.code == "not_mixed"
    assert "R-hat 1.200" in both.message and "effective sample size" in both.message


def ar1(chains: int, length: int, phi: float, seed: int) -> npt.NDArray[np.float64]:
    rng = np.random.default_rng(seed)
    noise = rng.normal(size=(chains, length))
    out = np.zeros((chains, length))
    for t in range(1, length):
        out[:, t] = phi * out[:, t - 1] + noise[:, t]
    return out


def test_diagnostics_on_known_chains() -> None:
    white = np.random.default_rng(0).normal(size=(4, 2500))
    assert bulk_ess(white) == pytest.approx(10_000, rel=0.1)
    assert split_rhat(white) < 1.01
    # AR(1): the effective size is n (1 - phi) / (1 + phi)
    sticky = ar1(4, 5000, 0.9, seed=1)
    assert bulk_ess(sticky) == pytest.approx(20_000 * 0.1 / 1.9, rel=0.2)
    shifted = sticky + np.array([[0.0], [0.0], [0.0], [3.0]])
    assert split_rhat(shifted) > 1.05
    assert split_rhat(np.full((4, 100), 7.0)) == 1.0
    assert bulk_ess(np.full((4, 100), 7.0)) == 400


def test_nobody_observed_means_nobody_estimated() -> None:
    table = Table.of(["a", "b", "c"], [[1, 0, 0], [0, 1, 0]], [0, 0])
    result = fit(table, seed=1, draws=200, level=0.95)
    assert result.estimate == 0 and result.interval == (0.0, 0.0)
