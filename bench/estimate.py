#!/usr/bin/env python3
"""How well each estimation method finds the number of people no list holds, on simulated
lists whose true size is known; and how fast the latent-class sampler is.

    .venv/bin/python bench/estimate.py [--replicates 200] [--scenarios a,b] [--methods m,n]
                                       [--draws 2000] [--seed 14] [--jobs 2] [--parts both]
                                       [--json] [--out FILE]

*simulations*: for each scenario (independent lists; heterogeneous capture through latent
classes; positive and negative dependence between two lists; 3, 4 and 5 lists; sparse tables)
and each method of ``dalil.estimate.METHODS`` that can be imported, ``--replicates`` tables are
drawn with a fixed seed (the same tables for every method) and estimated with
``dalil.estimate.estimate(table, method, seed=..., draws=..., level=0.95)``. Reported per
scenario and method: relative bias (median of (estimate - N) / N), mean relative width of the
95 % interval, its coverage of the true N, the mean time per estimate, the share of estimates
with each caveat, and failures. Replicates run in ``--jobs`` processes.

*speed*: the latent-class model on a 5-list table (2,000 people in two latent classes) with
10,000 draws and its default settings, timed in this process alone; baseline, same run: numpy
making the same random draws (the same calls, as many iterations, parameters held fixed),
which is the floor for a sampler that draws with numpy once per iteration. The issue's target
is 30 s.

Nothing is asserted. Results go to stdout and to ``bench/out/estimate-<timestamp>.json``
(``--out`` to choose the file).
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import multiprocessing
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.special import gammaln, xlogy
from scipy.stats import chi2

import common
from dalil.estimate import METHODS, Table, estimate, lcmcr

LEVEL = 0.95
REFERENCE = "independence"
"""Not a Dalil method: the independence model's estimate, computed here, the yardstick that
heterogeneity is known to bias."""

Draw = Callable[[int, np.random.Generator], npt.NDArray[np.int64]]
"""Puts ``size`` people on the lists: a (size, K) array of 0/1."""


@dataclass(frozen=True)
class Scenario:
    """A population of ``size`` people and how each is put on the lists."""

    name: str
    size: int
    draw: Draw
    about: str


def classes(capture: list[list[float]], shares: list[float]) -> Draw:
    """People in latent classes (``shares``); within a class, lists independent with that
    class's probabilities (``capture``, one row per class)."""
    probs = np.asarray(capture)

    def draw(size: int, rng: np.random.Generator) -> npt.NDArray[np.int64]:
        people = rng.choice(len(shares), size=size, p=shares)
        return (rng.random((size, probs.shape[1])) < probs[people]).astype(np.int64)

    return draw


def paired(capture: list[float], if_on_first: float, if_not: float) -> Draw:
    """Independent lists with ``capture`` probabilities, except the second: on it with
    ``if_on_first`` for people on the first list, ``if_not`` for the others."""

    def draw(size: int, rng: np.random.Generator) -> npt.NDArray[np.int64]:
        listed = (rng.random((size, len(capture))) < np.asarray(capture)).astype(np.int64)
        second = np.where(listed[:, 0] == 1, if_on_first, if_not)
        listed[:, 1] = rng.random(size) < second
        return listed

    return draw


SCENARIOS = {
    s.name: s
    for s in (
        Scenario("independent-3", 1000, classes([[0.3, 0.25, 0.35]], [1.0]), "p 0.25-0.35"),
        Scenario("independent-4", 1000, classes([[0.3, 0.25, 0.35, 0.2]], [1.0]), "p 0.2-0.35"),
        Scenario(
            "independent-5",
            1000,
            classes([[0.3, 0.25, 0.35, 0.2, 0.3]], [1.0]),
            "p 0.2-0.35",
        ),
        Scenario(
            "heterogeneous-3",
            1000,
            classes([[0.6] * 3, [0.2] * 3], [0.3, 0.7]),
            "30% at p 0.6, 70% at p 0.2",
        ),
        Scenario(
            "heterogeneous-4",
            1000,
            classes([[0.6] * 4, [0.2] * 4], [0.3, 0.7]),
            "30% at p 0.6, 70% at p 0.2",
        ),
        Scenario(
            "heterogeneous-5",
            2000,
            classes([[0.5, 0.6, 0.5, 0.6, 0.5], [0.1, 0.2, 0.15, 0.1, 0.2]], [0.3, 0.7]),
            "30% at p 0.5-0.6, 70% at p 0.1-0.2",
        ),
        Scenario(
            "positive-4",
            1000,
            paired([0.3, 0.0, 0.3, 0.25], 0.6, 0.15),
            "list 2: p 0.6 if on list 1, else 0.15",
        ),
        Scenario(
            "negative-4",
            1000,
            paired([0.3, 0.0, 0.3, 0.25], 0.1, 0.4),
            "list 2: p 0.1 if on list 1, else 0.4",
        ),
        Scenario("sparse-5", 150, classes([[0.12] * 5], [1.0]), "p 0.12, N 150"),
        Scenario("sparse-4", 400, classes([[0.08] * 4], [1.0]), "p 0.08, N 400"),
    )
}


def table_of(scenario: Scenario, seed: int, replicate: int) -> Table:
    """The replicate's capture table (the same for every method)."""
    index = list(SCENARIOS).index(scenario.name)
    rng = np.random.default_rng([seed, index, replicate])
    listed = scenario.draw(scenario.size, rng)
    k = listed.shape[1]
    cells = np.bincount(listed @ (1 << np.arange(k)), minlength=2**k)
    return Table.from_cells([f"list{j + 1}" for j in range(k)], cells)


def one(task: tuple[str, str, int, int, int]) -> dict[str, Any]:
    """One method on one replicate (run in a worker process)."""
    name, method, replicate, draws, seed = task
    scenario = SCENARIOS[name]
    table = table_of(scenario, seed, replicate)
    row: dict[str, Any] = {"scenario": name, "method": method, "replicate": replicate}
    started = time.perf_counter()
    if method == REFERENCE:
        point, interval = independence(table)
        row |= {"estimate": point, "interval": list(interval), "warnings": []}
    else:
        try:
            result = estimate(table, method, seed=replicate + 1, draws=draws, level=LEVEL)
        except Exception as exc:  # a failure is a result here, reported with its reason
            row["error"] = f"{type(exc).__name__}: {exc}"
            return row
        row["estimate"] = result.estimate
        row["interval"] = list(result.interval)
        row["warnings"] = [w.code for w in result.warnings]
    row["seconds"] = time.perf_counter() - started
    row["observed"] = table.observed
    return row


def independence(table: Table) -> tuple[float, tuple[float, float]]:
    """The independence model (Darroch's M_t: each list its own capture probability, the
    lists independent): the maximum-likelihood N and its profile-likelihood interval, over
    every N from the number observed to 100 times it (an end there is reported as infinite)."""
    n = table.observed
    on_list = np.array(list(table.list_totals().values()), dtype=np.float64)[:, None]
    size = np.arange(n, 100 * n + 1, dtype=np.float64)
    log_l = (
        gammaln(size + 1)
        - gammaln(size - n + 1)
        + (xlogy(on_list, on_list / size) + xlogy(size - on_list, 1 - on_list / size)).sum(0)
    )
    inside = size[2 * (log_l.max() - log_l) <= chi2.ppf(LEVEL, 1)]
    hi = float(inside[-1]) if inside[-1] < size[-1] else math.inf
    return float(size[np.argmax(log_l)]), (float(inside[0]), hi)


def summarise(rows: list[dict[str, Any]], size: int) -> dict[str, Any]:
    """Bias, width, coverage, time and caveats of one method on one scenario."""
    done = [r for r in rows if "error" not in r]
    errors = sorted({r["error"] for r in rows if "error" in r})
    out: dict[str, Any] = {"replicates": len(rows), "failed": len(rows) - len(done)}
    if errors:
        out["errors"] = errors[:5]
    if not done:
        return out
    est = np.array([r["estimate"] for r in done])
    lo, hi = np.array([r["interval"] for r in done]).T
    codes = sorted({c for r in done for c in r["warnings"]})
    width = (hi - lo)[np.isfinite(hi)]  # mean width of the bounded intervals
    out |= {
        "relative_bias": float(np.median((est - size) / size)),
        "relative_width": float(np.mean(width) / size) if width.size else math.nan,
        "unbounded": float(np.mean(~np.isfinite(hi))),
        "coverage": float(np.mean((lo <= size) & (size <= hi))),
        "seconds": float(np.mean([r["seconds"] for r in done])),
        "observed": float(np.mean([r["observed"] for r in done])),
        "warnings": {c: float(np.mean([c in r["warnings"] for r in done])) for c in codes},
    }
    return out


def available(methods: list[str]) -> tuple[list[str], dict[str, str]]:
    """The methods whose modules import, and why the others were skipped."""
    ready, skipped = [], {}
    for method in methods:
        if method == REFERENCE:
            ready.append(method)
            continue
        try:
            importlib.import_module(f"dalil.estimate.{method}")
        except ImportError as exc:
            skipped[method] = f"not importable: {exc}"
            continue
        ready.append(method)
    return ready, skipped


def simulations(
    names: list[str], methods: list[str], replicates: int, draws: int, seed: int, jobs: int
) -> dict[str, Any]:
    """Every method on every replicate of every scenario, in ``jobs`` processes."""
    tasks = [
        (name, method, r, draws, seed)
        for r in range(replicates)
        for name in names
        for method in methods
    ]
    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        for i, row in enumerate(pool.imap_unordered(one, tasks, chunksize=2), start=1):
            rows.append(row)
            if i % max(1, len(tasks) // 20) == 0:
                common.log(f"  {i}/{len(tasks)} estimates ({time.perf_counter() - started:.0f} s)")
    out: dict[str, Any] = {}
    for name in names:
        scenario = SCENARIOS[name]
        out[name] = {
            "size": scenario.size,
            "lists": table_of(scenario, seed, 0).k,
            "about": scenario.about,
            "methods": {
                m: summarise(
                    [r for r in rows if (r["scenario"], r["method"]) == (name, m)], scenario.size
                )
                for m in methods
            },
        }
    out["_seconds"] = time.perf_counter() - started
    return out


def _floor(table: Table, sweeps: int, chains: int, width: int, rng: np.random.Generator) -> float:
    """Seconds numpy takes to make the sampler's random draws for ``sweeps`` sweeps of
    ``chains`` chains, the parameters held fixed (the calls and shapes of ``lcmcr``'s sweep)."""
    m, k, n = table.counts.size, table.k, table.observed
    probs = np.full((chains, m, width), 1.0 / width)
    shapes = np.full((2, chains, k, width), 50.0)
    sticks = np.full((2, chains, width - 1), 20.0)
    weights = np.full((chains, width), 1.0 / width)
    seen = np.full(chains, 0.6)
    started = time.perf_counter()
    for _ in range(sweeps):
        rng.multinomial(table.counts, probs)
        rng.standard_gamma(shapes)
        rng.random(sticks.shape)
        rng.standard_gamma(sticks + 1.0)
        n0 = rng.negative_binomial(n, seen)
        rng.multinomial(n0, weights)
        rng.gamma(9.25, np.ones(chains))
    return time.perf_counter() - started


def speed(seed: int) -> dict[str, Any]:
    """The latent-class model on a 5-list table, 10,000 draws, default settings, timed; and
    the floor of its random draws."""
    table = table_of(SCENARIOS["heterogeneous-5"], seed, 0)
    draws = 10_000
    started = time.perf_counter()
    result = estimate(table, "lcmcr", seed=1, draws=draws, level=LEVEL)
    seconds = time.perf_counter() - started
    d = result.diagnostics
    sweeps = d["burn_in"] + math.ceil(draws / d["chains"]) * d["thinning"]
    floor = _floor(table, sweeps, d["chains"], d["classes"], np.random.default_rng(seed))
    return {
        "lists": table.k,
        "observed": table.observed,
        "size": SCENARIOS["heterogeneous-5"].size,
        "draws": draws,
        "sweeps": sweeps,
        "chain_iterations": sweeps * d["chains"],
        "seconds": seconds,
        "microseconds_per_sweep": seconds / sweeps * 1e6,
        "random_draws_floor_seconds": floor,
        "ratio_to_floor": seconds / floor,
        "target_seconds": 30,
        "estimate": result.estimate,
        "interval": list(result.interval),
        "diagnostics": d,
        "warnings": [w.code for w in result.warnings],
    }


def _rows(results: dict[str, Any]) -> Iterator[str]:
    sims = results.get("simulations")
    if sims:
        yield (
            f"  {'scenario':<16} {'method':<12} {'bias':>7} {'width':>6} {'cover':>6}"
            f" {'s/fit':>6}  caveats (share of replicates), failures"
        )
        for name, s in sims.items():
            if name.startswith("_"):
                continue
            for method, m in s["methods"].items():
                if "coverage" not in m:
                    yield f"  {name:<16} {method:<12} all {m['failed']} failed: {m.get('errors')}"
                    continue
                shares = {**m["warnings"], "interval unbounded": m["unbounded"]}
                caveats = ", ".join(f"{c} {v:.0%}" for c, v in shares.items() if v)
                failed = f", {m['failed']} failed" if m["failed"] else ""
                yield (
                    f"  {name:<16} {method:<12} {m['relative_bias']:>+7.3f}"
                    f" {m['relative_width']:>6.3f} {m['coverage']:>6.3f} {m['seconds']:>6.2f}"
                    f"  {caveats}{failed}"
                )
        yield f"  ({sims['_seconds']:.0f} s in all)"
    for method, why in results.get("skipped", {}).items():
        yield f"  {method}: skipped ({why})"
    sp = results.get("speed")
    if sp:
        yield (
            f"  speed: lcmcr, {sp['lists']} lists, {sp['draws']:,} draws, {sp['sweeps']:,}"
            f" sweeps of {sp['diagnostics']['chains']} chains: {sp['seconds']:.1f} s (target"
            f" {sp['target_seconds']} s; {sp['microseconds_per_sweep']:.0f} µs per sweep);"
            " numpy's random draws"
            f" alone {sp['random_draws_floor_seconds']:.1f} s, ratio {sp['ratio_to_floor']:.2f};"
            f" R-hat {sp['diagnostics']['rhat']}, ESS {sp['diagnostics']['ess']}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicates", type=int, default=200)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated")
    parser.add_argument(
        "--methods",
        default=",".join((*METHODS, REFERENCE)),
        help=f"comma-separated ({REFERENCE}: the independence model, computed here)",
    )
    parser.add_argument("--draws", type=int, default=2000, help="draws per estimate")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--jobs", type=int, default=2, help="processes for the replicates")
    parser.add_argument("--parts", default="simulations,speed", help="simulations, speed")
    parser.add_argument("--json", action="store_true", help="print the results as JSON only")
    parser.add_argument("--out", type=Path, help="results file (default bench/out/...)")
    args = parser.parse_args(argv)
    names = [s for s in args.scenarios.split(",") if s]
    parts = {p for p in args.parts.split(",") if p}
    unknown = [s for s in names if s not in SCENARIOS] + [
        m for m in args.methods.split(",") if m and m not in (*METHODS, REFERENCE)
    ]
    if unknown or not parts <= {"simulations", "speed"}:
        parser.error(f"unknown scenario, method or part: {', '.join(unknown) or args.parts}")
    if args.replicates < 1 or args.jobs < 1 or args.draws < 100:
        parser.error("--replicates and --jobs must be at least 1, --draws at least 100")
    methods, skipped = available([m for m in args.methods.split(",") if m])
    results: dict[str, Any] = {
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "skipped": skipped,
    }
    if "speed" in parts:
        common.log("speed: lcmcr, 5 lists, 10,000 draws")
        results["speed"] = speed(args.seed)
    if "simulations" in parts and methods:
        common.log(f"simulations: {len(names)} scenarios x {methods} x {args.replicates}")
        results["simulations"] = simulations(
            names, methods, args.replicates, args.draws, args.seed, args.jobs
        )
    results["machine"] = common.machine()
    results["lcmcr_defaults"] = {
        "chains": lcmcr.CHAINS,
        "burn_in": lcmcr.BURN_IN,
        "thinning": lcmcr.THINNING,
        "classes": lcmcr.CLASSES,
    }
    path = args.out or common.OUT_DIR / f"estimate-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print("\n".join(_rows(results)))
        print(f"  (full results: {path})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
