"""Multiple systems estimation: how many people no list holds, from overlapping lists.

A library with no interface code. Three methods, written with numpy, scipy and statsmodels:

- ``loglinear``: Poisson log-linear models, hierarchical up to (K-1)-way interactions, chosen
  by AIC or BIC, with a profile-likelihood interval for the unseen cell
  (:mod:`dalil.estimate.loglinear`);
- ``dga``: Bayesian model averaging over decomposable graphical models (Madigan and York
  1997, as R's ``dga``) (:mod:`dalil.estimate.dga`);
- ``lcmcr``: the Bayesian non-parametric latent-class model (Manrique-Vallier 2016, as R's
  ``LCMCR``), a vectorised Gibbs sampler with several chains and convergence diagnostics
  (:mod:`dalil.estimate.lcmcr`).

Each method's ``fit(table, *, seed, draws, level)`` returns an :class:`Estimate`;
:func:`estimate` adds strata (summed draw by draw) and the caveats of :mod:`caveats`.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from dalil.errors import UsageError
from dalil.estimate import caveats
from dalil.estimate.result import Caveat, Estimate
from dalil.estimate.table import Table, TableError, read_table

__all__ = ["METHODS", "Caveat", "Estimate", "Table", "TableError", "estimate", "read_table"]

METHODS = ("lcmcr", "dga", "loglinear")
"""The methods, the default first."""

MIN_LISTS = {"lcmcr": 3, "dga": 3, "loglinear": 2}
"""The fewest lists each method can estimate from (log-linear on two lists: independence
only, and said so)."""


class _Fit(Protocol):
    def __call__(self, table: Table, *, seed: int, draws: int, level: float) -> Estimate: ...


def _method(name: str) -> _Fit:
    if name == "lcmcr":
        from dalil.estimate import lcmcr

        return lcmcr.fit
    if name == "dga":
        from dalil.estimate import dga

        return dga.fit
    if name == "loglinear":
        from dalil.estimate import loglinear

        return loglinear.fit
    raise UsageError(f"unknown method {name!r} (one of {', '.join(METHODS)}, or all)")


def estimate(
    tables: Table | dict[str, Table],
    method: str = "lcmcr",
    *,
    seed: int = 1,
    draws: int = 10_000,
    level: float = 0.95,
) -> Estimate:
    """One method's estimate of the whole population, with its caveats. Several strata are
    estimated one by one and summed draw by draw (the interval of the sum comes from the
    summed draws, never from adding interval ends)."""
    if isinstance(tables, Table):
        tables = {"all": tables}
    if not tables:
        raise TableError("the table has no rows")
    if not 0 < level < 1:
        raise UsageError(f"the interval level must be between 0 and 1, got {level}")
    if draws < 100:
        raise UsageError(f"at least 100 draws are needed, got {draws}")
    fit = _method(method)
    first = next(iter(tables.values()))
    if first.k < MIN_LISTS[method]:
        raise TableError(
            f"the {method} method needs at least {MIN_LISTS[method]} lists, the table has {first.k}"
        )
    settings: dict[str, Any] = {"seed": seed, "draws": draws, "level": level}
    parts: dict[str, Estimate] = {}
    for name, table in tables.items():
        part = fit(table, seed=seed, draws=draws, level=level)
        part.warnings = _merge(caveats.for_table(table), part.warnings, caveats.for_result(part))
        part.settings = settings
        parts[name] = part
    if len(parts) == 1:
        return next(iter(parts.values()))
    return _summed(method, parts, level, seed, settings, caveats.for_strata(tables))


def _merge(*groups: list[Caveat]) -> list[Caveat]:
    seen: dict[str, Caveat] = {}
    for group in groups:
        for caveat in group:
            seen.setdefault(caveat.code, caveat)
    return list(seen.values())


def _summed(
    method: str,
    parts: dict[str, Estimate],
    level: float,
    seed: int,
    settings: dict[str, Any],
    extra: list[Caveat],
) -> Estimate:
    rng = np.random.default_rng(seed)
    sizes = [p.draws.size for p in parts.values() if p.draws is not None]
    if len(sizes) != len(parts):
        raise UsageError(f"the {method} method gave no draws to sum strata with")
    n = max(sizes)
    total = np.zeros(n)
    for part in parts.values():
        d = part.draws
        assert d is not None
        # independent strata: draws paired at random (resampled when the counts differ)
        total += rng.permutation(d) if d.size == n else rng.choice(d, size=n, replace=True)
    alpha = (1 - level) / 2
    lo, hi = np.quantile(total, [alpha, 1 - alpha])
    point = (
        float(sum(p.estimate for p in parts.values()))
        if method == "loglinear"
        else float(np.median(total))
    )
    first = next(iter(parts.values()))
    out = Estimate(
        method=method,
        observed=sum(p.observed for p in parts.values()),
        estimate=point,
        interval=(float(lo), float(hi)),
        level=level,
        lists=first.lists,
        diagnostics={"strata": len(parts)},
        draws=total,
        strata=parts,
        settings=settings,
    )
    inherited = [w for p in parts.values() for w in p.warnings]
    out.warnings = _merge(extra, inherited, caveats.for_result(out))
    return out
