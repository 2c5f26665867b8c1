"""What an estimate says: the number, its interval, the models behind it, and its caveats."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class Caveat:
    """A named warning: ``code`` for scripts (stable), ``message`` for people."""

    code: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@dataclass
class Estimate:
    """One method's estimate of the whole population N (observed + unseen).

    ``estimate`` is the posterior median (Bayesian methods) or the maximum-likelihood
    estimate (log-linear); ``interval`` its ``level`` interval. ``draws`` are posterior draws
    of N (or, for the log-linear method, bootstrap replicates), kept so that strata can be
    summed draw by draw; they are not part of the JSON."""

    method: str
    observed: int
    estimate: float
    interval: tuple[float, float]
    level: float
    lists: list[str]
    models: list[dict[str, Any]] = field(default_factory=list)
    diagnostics: dict[str, Any] = field(default_factory=dict)
    warnings: list[Caveat] = field(default_factory=list)
    draws: npt.NDArray[np.float64] | None = None
    strata: dict[str, Estimate] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def unseen(self) -> float:
        return self.estimate - self.observed

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "method": self.method,
            "observed": self.observed,
            "estimate": float(self.estimate),
            "interval": [float(self.interval[0]), float(self.interval[1])],
            "level": self.level,
            "lists": list(self.lists),
            "models": self.models,
            "diagnostics": self.diagnostics,
            "warnings": [w.to_json() for w in self.warnings],
        }
        if self.settings:
            out["settings"] = self.settings
        if self.strata:
            out["strata"] = {name: s.to_json() for name, s in self.strata.items()}
        return out
