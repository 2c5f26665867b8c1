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

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dalil.estimate.result import Caveat, Estimate
    from dalil.estimate.run import estimate
    from dalil.estimate.table import Table, TableError, read_table

__all__ = [
    "MAX_DRAWS",
    "MAX_SEED",
    "METHODS",
    "STRATA_NAMES",
    "Caveat",
    "Estimate",
    "Table",
    "TableError",
    "estimate",
    "read_table",
]

# The package's constants need nothing else, so the command line can show its options without
# loading numpy; the functions and types below are loaded on first use (PEP 562).
_LAZY = {
    "Caveat": "dalil.estimate.result",
    "Estimate": "dalil.estimate.result",
    "estimate": "dalil.estimate.run",
    "Table": "dalil.estimate.table",
    "TableError": "dalil.estimate.table",
    "read_table": "dalil.estimate.table",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


MAX_TABLE_LISTS = 20
"""The most lists a capture table may have (2**20 cells)."""

STRATA_NAMES = (
    "sex",
    "birth_decade",
    "birth_year",
    "birth_place",
    "arrest_year",
    "arrest_place",
    "death_year",
    "branch",
)
"""Fields of linked lists an estimate can be stratified by (:data:`dalil.estimate.vault.STRATA`)."""

METHODS = ("lcmcr", "dga", "loglinear")
"""The methods, the default first."""

MIN_DRAWS = 100
MAX_DRAWS = 200_000
"""The most draws one estimate may ask for: the latent-class sampler's time grows with them
(10,000, the default, take seconds; this many, minutes), and every draw is kept in memory."""

MAX_SEED = 2**32 - 1
"""The largest seed (what a ledger's integer and the web form hold with room to spare)."""

MIN_LISTS = {"lcmcr": 3, "dga": 3, "loglinear": 2}
"""The fewest lists each method can estimate from (log-linear on two lists: independence
only, and said so)."""

MAX_LISTS = {"lcmcr": MAX_TABLE_LISTS, "dga": 5, "loglinear": 10}
"""The most lists each method estimates from: dga enumerates every decomposable graph (5
lists: 822; 6 would be 18,154), and the log-linear stepwise search fits hundreds of models of
``2**K`` cells (10 lists: about two minutes)."""
