"""Bayesian model averaging over decomposable graphs, checked against R dga's published example."""

from __future__ import annotations

import time

import numpy as np
import pytest
from scipy.special import gammaln

from dalil.estimate import TableError, dga, estimate
from dalil.estimate.table import Table

# Madigan and York's three-list example as dga's documentation gives it: cells in dga's order
# (list 1 the lowest bit: 000, 100, 010, 110, 001, 101, 011, 111), delta 1, and a negative
# binomial prior on N with a = 13.14, b = 55.17.
EXAMPLE = [0, 60, 49, 4, 247, 112, 142, 12]
PRIOR = (13.14, 55.17)
# Madigan and York's five-list example from dga's documentation.
FIVE = [0, 27, 37, 19, 4, 4, 1, 1, 97, 22, 37, 25, 2, 1, 3, 5, 83, 36, 34, 18, 3, 5, 0, 2, 30]
FIVE += [5, 23, 8, 0, 3, 0, 2]


def example() -> Table:
    return Table.from_cells(["A", "B", "C"], EXAMPLE)


@pytest.mark.parametrize("grid", [np.arange(1, 301), None], ids=["dga-grid", "adaptive"])
def test_dga_published_example(grid: np.ndarray | None) -> None:
    # the values dga's own tests assert: top model probability 0.37, Bayes estimate 731
    # (E[1/N] / E[1/N^2]), the top model's mode 729 and the averaged posterior's mode 728
    result = dga.fit(example(), seed=1, draws=2000, level=0.95, delta=1, prior=PRIOR, nmissing=grid)
    top = result.models[0]
    assert top["model"] == "[12][3]"
    assert top["weight"] == pytest.approx(0.37, abs=0.01)
    assert round(top["bayes"]) == 731
    assert top["mode"] == 729
    assert result.diagnostics["mode"] == 728
    assert round(result.diagnostics["bayes_estimate"]) == 731
    assert result.estimate == pytest.approx(731, abs=2)
    lo, hi = result.interval
    assert lo < result.estimate < hi
    assert sum(m["weight"] for m in result.models) == pytest.approx(1)


def test_a_grid_that_cuts_the_posterior_is_reported() -> None:
    cut = dga.fit(
        example(), seed=1, draws=200, level=0.95, delta=1, prior=PRIOR, nmissing=range(1, 301)
    )
    # dga's grid 1..300 leaves about 0.1 % of the posterior outside it
    assert cut.diagnostics["tail_mass"] == pytest.approx(1.4e-3, rel=0.2)
    assert "heavy_tail" in {w.code for w in cut.warnings}
    whole = dga.fit(example(), seed=1, draws=200, level=0.95, delta=1, prior=PRIOR)
    assert whole.diagnostics["tail_mass"] < dga.HEAVY_TAIL
    assert not whole.warnings


def test_graph_counts_and_structure() -> None:
    assert [len(dga.graphs(k)) for k in (3, 4, 5)] == [8, 61, 822]
    assert [g.name() for g in dga.graphs(3)] == [
        "[1][2][3]",
        "[12][3]",
        "[13][2]",
        "[12][13]",
        "[1][23]",
        "[12][23]",
        "[13][23]",
        "[123]",
    ]
    for k in (3, 4, 5):
        for g in dga.graphs(k):
            covered = 0
            for c in g.cliques:
                covered |= c
            assert covered == 2**k - 1
            # a junction tree: each separator inside a clique, one fewer than cliques in
            # each connected part (empty separators, between parts, are left out)
            assert all(s and any(s & c == s for c in g.cliques) for s in g.separators)
            parts: list[int] = []
            for c in g.cliques:
                joined = [p for p in parts if p & c]
                parts = [p for p in parts if not p & c] + [c | sum(joined)]
            assert len(g.separators) == len(g.cliques) - len(parts)


def test_marginal_likelihood_matches_the_dirichlet_formula() -> None:
    # saturated graph: one Dirichlet(delta, ..., delta) over the 2**K cells; [12][3]: the
    # margins of lists {1, 2} and {3}, each with delta * 2**(K - size) per cell
    y = np.array(EXAMPLE, dtype=float)
    delta, n0 = 0.7, np.array([0.0, 5.0, 120.0])
    lp = dga.log_posterior(y, n0, delta=delta)
    names = [g.name() for g in dga.graphs(3)]
    total = y.sum() + n0
    common = gammaln(total + 1) - gammaln(n0 + 1) - gammaln(y[1:] + 1).sum() - np.log(total)

    def dirichlet(counts: list[np.ndarray], d: float) -> np.ndarray:
        alpha = d * len(counts)
        return (
            gammaln(alpha)
            - gammaln(total + alpha)
            + sum(gammaln(c + d) for c in counts)
            - len(counts) * gammaln(d)
        )

    c = [y[i] + (n0 if i == 0 else 0 * n0) for i in range(8)]
    assert lp[names.index("[123]")] == pytest.approx(common + dirichlet(c, delta))
    by12 = [c[0] + c[4], c[1] + c[5], c[2] + c[6], c[3] + c[7]]
    by3 = [c[0] + c[1] + c[2] + c[3], c[4] + c[5] + c[6] + c[7]]
    expected = common + dirichlet(by12, delta * 2) + dirichlet(by3, delta * 4)
    assert lp[names.index("[12][3]")] == pytest.approx(expected)


def test_defaults_five_lists_draws_and_speed() -> None:
    table = Table.from_cells(list("ABCDE"), FIVE)
    dga.graphs.cache_clear()
    started = time.perf_counter()
    result = dga.fit(table, seed=7, draws=5000, level=0.9)
    elapsed = time.perf_counter() - started
    assert elapsed < 5
    assert result.diagnostics["delta"] == 2**-5
    assert result.diagnostics["prior"] == "1/N"
    assert result.diagnostics["graphs"] == 822
    assert result.diagnostics["tail_mass"] < dga.HEAVY_TAIL
    assert result.observed == sum(FIVE)
    lo, hi = result.interval
    assert table.observed <= lo < result.estimate < hi
    assert result.draws is not None and result.draws.size == 5000
    assert np.all(result.draws >= table.observed)
    assert np.quantile(result.draws, 0.5) == pytest.approx(result.estimate, rel=0.01)
    again = dga.fit(table, seed=7, draws=5000, level=0.9)
    assert again.draws is not None and np.array_equal(result.draws, again.draws)
    assert len(result.models) == dga.SHOWN
    weights = [m["weight"] for m in result.models]
    assert weights == sorted(weights, reverse=True)


def test_tables_dga_cannot_take() -> None:
    six = Table.from_cells(list("ABCDEF"), [0] + [3] * 63)
    with pytest.raises(TableError, match="2 to 5 lists"):
        dga.fit(six, seed=1, draws=100, level=0.95)
    empty = Table.from_cells(list("ABC"), [0] * 8)
    with pytest.raises(TableError, match="no one"):
        dga.fit(empty, seed=1, draws=100, level=0.95)


def test_strata_are_summed_through_the_dispatcher() -> None:
    tables = {
        "north": example(),
        "south": Table.from_cells(["A", "B", "C"], [0, 30, 25, 6, 120, 50, 70, 9]),
    }
    result = estimate(tables, "dga", seed=3, draws=2000)
    assert set(result.strata) == {"north", "south"}
    parts = sum(s.estimate for s in result.strata.values())
    assert result.estimate == pytest.approx(parts, rel=0.02)
    lo, hi = result.interval
    assert lo < result.estimate < hi
