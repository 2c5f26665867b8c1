"""Estimate from a capture table with one of the methods: strata summed draw by draw, and
the caveats of :mod:`dalil.estimate.caveats` (:func:`estimate`)."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from dalil.errors import UsageError
from dalil.estimate import MAX_DRAWS, MAX_LISTS, MAX_SEED, METHODS, MIN_DRAWS, MIN_LISTS, caveats
from dalil.estimate.result import Caveat, Estimate
from dalil.estimate.table import Table, TableError

__all__ = ["estimate"]


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
    summed draws, never from adding interval ends). Raises :class:`TableError` for a table
    (or a stratum, named) no one is on, and a usage error for settings out of range:
    ``draws`` from 100 to :data:`MAX_DRAWS`, ``seed`` from 0 to :data:`MAX_SEED`, ``level``
    between 0 and 1."""
    if isinstance(tables, Table):
        tables = {"all": tables}
    if not tables:
        raise TableError("the table has no rows")
    if not 0 < level < 1:
        raise UsageError(f"the interval level must be between 0 and 1, got {level}")
    if not MIN_DRAWS <= draws <= MAX_DRAWS:
        raise UsageError(f"draws must be from {MIN_DRAWS} to {MAX_DRAWS:,}, got {draws}")
    if not 0 <= seed <= MAX_SEED:
        raise UsageError(f"the seed is a whole number from 0 to {MAX_SEED}, got {seed}")
    fit = _method(method)
    first = next(iter(tables.values()))
    if first.k < MIN_LISTS[method]:
        raise TableError(
            f"the {method} method needs at least {MIN_LISTS[method]} lists, the table has {first.k}"
        )
    if first.k > MAX_LISTS[method]:
        raise TableError(
            f"the {method} method estimates from at most {MAX_LISTS[method]} lists, the table"
            f" has {first.k}; the lcmcr method takes up to {MAX_LISTS['lcmcr']}"
        )
    for name, table in tables.items():
        if table.observed == 0:
            where = "" if len(tables) == 1 else f"stratum {name!r}: "
            raise TableError(f"{where}no one is on any list: there is nothing to estimate from")
    settings: dict[str, Any] = {"seed": seed, "draws": draws, "level": level}
    parts: dict[str, Estimate] = {}
    for name, table in tables.items():
        try:
            part = fit(table, seed=seed, draws=draws, level=level)
        except UsageError as exc:
            if len(tables) == 1:
                raise
            raise type(exc)(f"stratum {name!r}: {exc}") from None
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
        none = [name for name, p in parts.items() if p.draws is None]
        raise UsageError(
            f"the {method} method cannot estimate stratum {none[0]!r}"
            + (f" (and {len(none) - 1} more)" if len(none) > 1 else "")
            + ": the lists overlap too little there to bound the number of people on none of"
            " them, so the strata cannot be added up; merge strata, or use another method"
        )
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
