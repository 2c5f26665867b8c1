"""Poisson log-linear models: closed-form answers, an independent GLM, a simulation with known
truth, and the tables where no model can answer."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import pytest
import statsmodels.api as sm
from scipy.special import gammaln, xlogy
from scipy.stats import chi2

from dalil.estimate import estimate, loglinear
from dalil.estimate.table import Table

# Madigan and York's three-list example (cells in dga's order: 000, 100, 010, 110, 001, ...)
EXAMPLE = [0, 60, 49, 4, 247, 112, 142, 12]


def by_name(models: list[dict[str, Any]]) -> dict[str, float]:
    return {m["model"]: m["estimate"] for m in models}


def test_two_lists_give_lincoln_petersen() -> None:
    # n1 = 40 on list 1, n2 = 30 on list 2, m = 10 on both: N = n1 * n2 / m (not Chapman's)
    table = Table.from_cells(["A", "B"], [0, 30, 20, 10])
    result = loglinear.fit(table, seed=1, draws=500, level=0.95)
    assert result.estimate == pytest.approx(40 * 30 / 10, rel=1e-9)
    assert [m["model"] for m in result.models] == ["[1][2]"]
    lo, hi = result.interval
    assert table.observed <= lo < result.estimate < hi


def test_three_list_models_match_their_closed_forms() -> None:
    # Bishop, Fienberg and Holland's closed forms for the unseen cell m000
    n = EXAMPLE
    result = loglinear.fit(Table.from_cells(["A", "B", "C"], n), seed=1, draws=200, level=0.95)
    found = by_name(result.models)
    assert len(found) == 8
    seen = sum(n)
    # [12][3]: list 3 independent of lists 1 and 2
    assert found["[12][3]"] == pytest.approx(seen + (n[1] + n[2] + n[3]) * n[4] / sum(n[5:]))
    # [12][13]: lists 2 and 3 independent given list 1 (so within those not on list 1)
    assert found["[12][13]"] == pytest.approx(seen + n[2] * n[4] / n[6])
    # [12][13][23]: no three-way interaction
    all_pairs = n[1] * n[2] * n[4] * n[7] / (n[3] * n[5] * n[6])
    assert found["[12][13][23]"] == pytest.approx(seen + all_pairs)
    assert result.diagnostics["criterion"] == "aic"
    assert result.estimate == found[result.diagnostics["model"]]
    aics = [m["aic"] for m in result.models]
    assert aics == sorted(aics)
    assert sum(m["weight"] for m in result.models) == pytest.approx(1)


def test_a_four_list_model_agrees_with_statsmodels() -> None:
    rng = np.random.default_rng(5)
    cells = np.concatenate([[0], rng.poisson(40, size=15) + 1])
    model = loglinear._model([0b0111, 0b1000 | 0b0001])  # [123][14]
    assert model.name() == "[123][14]"
    y = cells[1:].astype(float)
    ours = loglinear._fit(model, y, int(y.sum()))
    x = model.design(np.arange(1, 16))
    glm = sm.GLM(y, x, family=sm.families.Poisson()).fit()
    assert ours.unseen == pytest.approx(math.exp(glm.params[0]), rel=1e-7)
    assert ours.aic == pytest.approx(glm.aic, rel=1e-9)
    assert ours.deviance == pytest.approx(glm.deviance, rel=1e-6, abs=1e-8)


def test_profile_interval_ends_where_the_likelihood_falls_by_chi2() -> None:
    # the multinomial profile log-likelihood (Cormack 1992), recomputed with statsmodels
    table = Table.from_cells(["A", "B", "C"], EXAMPLE)
    result = loglinear.fit(table, seed=1, draws=200, level=0.95)
    chosen = next(m for m in loglinear.models(3) if m.name() == result.diagnostics["model"])
    x = chosen.design(np.arange(8))
    y = np.asarray(EXAMPLE[1:], dtype=float)

    def profile(n: float) -> float:
        n0 = n - table.observed
        glm = sm.GLM(np.concatenate([[n0], y]), x, family=sm.families.Poisson()).fit()
        correction = xlogy(n0, n0) + gammaln(n + 1) - xlogy(n, n) - gammaln(n0 + 1)
        return float(correction - glm.deviance / 2)

    grid = np.linspace(result.interval[0] - 20, result.interval[1] + 20, 200)
    top = max(profile(n) for n in grid)
    for end in result.interval:
        assert top - profile(end) == pytest.approx(chi2.ppf(0.95, 1) / 2, abs=0.01)


def test_simulated_independent_lists() -> None:
    # 20,000 people, three independent lists: the estimate is within 3 % and the interval
    # covers the truth
    rng = np.random.default_rng(2024)
    truth = 20_000
    on = rng.random((truth, 3)) < np.array([0.3, 0.4, 0.5])
    index = on.astype(np.int64) @ np.array([1, 2, 4])
    cells = np.bincount(index, minlength=8)
    cells[0] = 0
    result = loglinear.fit(Table.from_cells(["A", "B", "C"], cells), seed=3, draws=500, level=0.95)
    assert result.estimate == pytest.approx(truth, rel=0.03)
    lo, hi = result.interval
    assert lo <= truth <= hi
    assert result.draws is not None
    assert np.quantile(result.draws, 0.5) == pytest.approx(result.estimate, rel=0.02)
    bic = loglinear.fit(
        Table.from_cells(["A", "B", "C"], cells), seed=3, draws=100, level=0.95, criterion="bic"
    )
    assert bic.diagnostics["criterion"] == "bic"
    assert bic.diagnostics["model"] == "[1][2][3]"


def test_lists_that_never_overlap_have_no_upper_bound() -> None:
    result = loglinear.fit(
        Table.from_cells(["A", "B"], [0, 30, 20, 0]), seed=1, draws=100, level=0.95
    )
    assert math.isinf(result.estimate)
    assert result.interval == (50.0, math.inf)
    assert "unbounded" in {w.code for w in result.warnings}


def test_a_model_resting_on_an_empty_cell_is_set_aside() -> None:
    # nobody on lists 1 and 2 only: [12][13][23]'s estimate n1*n2*n4*n7 / (n3*n5*n6) divides
    # by zero; with nobody on all three lists it would be forced to zero. Neither is used.
    for empty in (3, 7):
        cells = list(EXAMPLE)
        cells[empty] = 0
        result = loglinear.fit(
            Table.from_cells(["A", "B", "C"], cells), seed=1, draws=200, level=0.95
        )
        assert result.models[0]["model"] == "[12][13][23]"
        assert math.isinf(result.models[0]["estimate"])
        assert result.diagnostics["model"] != "[12][13][23]"
        assert "unidentified_model" in {w.code for w in result.warnings}
        assert math.isfinite(result.estimate)
    # one list alone holds everybody: no model can say anything
    alone = loglinear.fit(
        Table.from_cells(["A", "B", "C"], [0, 60, 0, 0, 0, 0, 0, 0]), seed=1, draws=100, level=0.95
    )
    assert math.isinf(alone.estimate)
    assert "unbounded" in {w.code for w in alone.warnings}


def test_five_and_six_lists_run_quickly() -> None:
    rng = np.random.default_rng(11)
    for k, seconds in ((5, 5.0), (6, 8.0)):
        cells = np.concatenate([[0], rng.poisson(25, size=2**k - 1)])
        table = Table.from_cells([f"L{i}" for i in range(k)], cells)
        started = time.perf_counter()
        result = loglinear.fit(table, seed=1, draws=1000, level=0.95)
        assert time.perf_counter() - started < seconds
        assert math.isfinite(result.estimate)
        assert len(result.models) == loglinear.SHOWN
    assert len(loglinear.models(5)) == 1660
    assert result.diagnostics["search"].startswith("forward stepwise")


def test_strata_are_summed_from_bootstrap_draws() -> None:
    tables = {
        "north": Table.from_cells(["A", "B", "C"], EXAMPLE),
        "south": Table.from_cells(["A", "B", "C"], [0, 30, 25, 6, 120, 50, 70, 9]),
    }
    result = estimate(tables, "loglinear", seed=3, draws=500)
    parts = [s.estimate for s in result.strata.values()]
    assert result.estimate == pytest.approx(sum(parts))
    lo, hi = result.interval
    assert lo < result.estimate < hi
    again = estimate(tables, "loglinear", seed=3, draws=500)
    assert again.interval == result.interval
