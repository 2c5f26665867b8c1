"""Benchmark near-duplicate detection: match quality per transform family, and index scale.

    .venv/bin/python bench/similar.py [--part quality|scale|all] [--workdir DIR] [--jobs 2]
                                      [--sizes 100000,1000000] [--big] [--json]

``quality``: a labelled set (real corpus photos and demo-collection shots as originals; Pillow
transforms of each in families; other shots of the same card; unrelated cards; the originals
themselves as each other's negatives) is matched by every available method at its own
threshold: Dalil's matcher (``dalil.similar``), a PDQ baseline built from ``dalil.media.pdq``
alone (threshold 31, with and without the eight dihedral variants) and imagededup's PHash
(threshold 10). Precision and recall per family, overall, and overall without crops of more
than 30 %. ``scale``: synthetic clustered 256-bit codes in faiss binary indexes (build time,
memory, single-query latency at radius 31) and whole-set clustering (faiss batched range
search vs a numpy multi-index-hashing pass). Nothing is asserted: figures are printed and
written to ``bench/out/similar-{quality,scale}-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import dataclasses
import functools
import importlib
import json
import math
import multiprocessing
import os
import sys
import time
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

import common
import similar_data as data

PDQ_THRESHOLD = 31  # the PDQ reference's match threshold (distance <= 31)
PHASH_THRESHOLD = 10  # imagededup's default max_distance_threshold (distance <= 10)
PDQ_SWEEP = (16, 24, 31, 40, 48, 56, 64)
PHASH_SWEEP = (4, 6, 8, 10, 12, 14, 16, 20)
BIG_CROP = "crop-40"  # the only crop above 30 % of the area removed
GOAL_PRECISION, GOAL_RECALL = 0.99, 0.95
FAMILY_ORDER = (
    "jpeg",
    "resize",
    "crop",
    "rotate",
    "rotate-90s",
    "flip",
    "mirror-crop",
    "tone",
    "greyscale",
    "negative",
    "sepia",
    "text",
    "caption-band",
    "collage",
    "screenshot",
    "exif-orientation",
    "demo-copy",
)

U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]


# ==========================================================================================
# Quality: the methods
# ==========================================================================================


@dataclass(frozen=True, slots=True)
class Hit:
    index: int  # position in the originals list
    distance: int | None  # the method's own distance (PDQ or pHash bits); None if it has none
    stage: str  # "pdq", "geometric", "phash"
    inliers: int | None = None


class Method(Protocol):
    name: str
    label: str
    threshold: int | None  # hits with distance above it do not count; None: every hit counts
    sweep: tuple[int, ...]

    def build(self, originals: list[Path]) -> None: ...

    def query(self, path: Path) -> list[Hit]: ...


def dalil_query(matcher: Any, path: Path) -> list[Hit]:
    """Hits from Dalil's matcher, whichever of its two shapes is installed:
    ``Matcher.from_images(...).query(path) -> [Match(.index, ...)]`` (the planned API) or
    ``ImageSetMatcher(paths).query(path) -> [(index, Match)]``."""
    hits = []
    for result in matcher.query(path):
        if isinstance(result, tuple):
            index, match = result
        else:
            index, match = result.index, result
        hits.append(
            Hit(
                int(index),
                getattr(match, "distance", None),
                str(getattr(match, "stage", "?")),
                getattr(match, "inliers", None),
            )
        )
    return hits


class DalilMatcher:
    name = "dalil"
    threshold: int | None = None
    sweep: tuple[int, ...] = ()

    def __init__(self) -> None:
        self.label = "Dalil matcher"
        self.matcher: Any = None

    def build(self, originals: list[Path]) -> None:
        module = importlib.import_module("dalil.similar.matcher")
        factory = getattr(getattr(module, "Matcher", None), "from_images", None)
        if factory is not None:
            self.matcher = factory(originals)
            self.label = "Dalil matcher (Matcher.from_images)"
        else:
            self.matcher = module.ImageSetMatcher(originals)
            self.label = "Dalil matcher (ImageSetMatcher)"

    def query(self, path: Path) -> list[Hit]:
        return dalil_query(self.matcher, path)


class DalilThorough(DalilMatcher):
    """``dalil similar --thorough``: every original is checked with local features."""

    name = "dalil-thorough"

    def build(self, originals: list[Path]) -> None:
        module = importlib.import_module("dalil.similar.matcher")
        settings = importlib.import_module("dalil.settings").Settings()
        thresholds = dataclasses.replace(
            module.Thresholds.from_settings(settings), candidates=len(originals), radius=256
        )
        self.matcher = module.ImageSetMatcher(originals, thresholds)
        self.label = "Dalil matcher, every original checked (similar --thorough)"


@functools.lru_cache(maxsize=4)
def _pdq_probe(path: str) -> tuple[bytes, int]:
    from dalil.media.pdq import pdq_from_image

    probe = pdq_from_image(data.open_reduced(Path(path)))
    return probe.hash, probe.quality


def _popcount_rows(a: U8, b: U8) -> I64:
    """Hamming distance of each row of ``a`` (n, k bytes) to the single row ``b`` (k bytes)."""
    dist: I64 = np.unpackbits(np.bitwise_xor(a, b), axis=1).sum(axis=1, dtype=np.int64)
    return dist


class PdqBaseline:
    """PDQ from ``dalil.media.pdq`` alone: each original's hash and, with ``dihedral``, its seven
    rotations/reflections; a query matches every original with a variant within the threshold.
    Pictures are hashed upright (EXIF orientation applied) and reduced to a shorter side of at
    least 512 px, as Dalil's ingest does (full-size hashing costs ~40 ms per megapixel in this
    numpy PDQ). No quality filter (the reference suggests ignoring hashes of quality < 50; the
    probe qualities are recorded instead). ``pdq-plain`` reuses ``pdq-dihedral``'s probe hash
    when both run, so its query time is the search alone."""

    sweep: tuple[int, ...] = PDQ_SWEEP
    threshold: int | None = PDQ_THRESHOLD

    def __init__(self, dihedral: bool) -> None:
        self.dihedral = dihedral
        self.name = "pdq-dihedral" if dihedral else "pdq-plain"
        self.label = (
            "PDQ baseline, 8 dihedral variants, <= 31"
            if dihedral
            else "PDQ baseline, plain hash only, <= 31"
        )
        self.codes: U8 = np.zeros((0, 32), np.uint8)
        self.owner: I64 = np.zeros(0, np.int64)
        self.n = 0

    def build(self, originals: list[Path]) -> None:
        from dalil.media.pdq import dihedral_hashes, luma_from_image

        codes, owner = [], []
        for i, path in enumerate(originals):
            variants = dihedral_hashes(luma_from_image(data.open_reduced(path)))
            chosen = list(variants.values()) if self.dihedral else [variants["original"]]
            codes += [np.frombuffer(h.hash, np.uint8) for h in chosen]
            owner += [i] * len(chosen)
        self.codes, self.owner, self.n = np.stack(codes), np.asarray(owner), len(originals)

    def query(self, path: Path) -> list[Hit]:
        code, _quality = _pdq_probe(str(path))
        dist = _popcount_rows(self.codes, np.frombuffer(code, np.uint8))
        best = np.full(self.n, 1 << 30, np.int64)
        np.minimum.at(best, self.owner, dist)
        wide = max(self.sweep)
        return [Hit(int(i), int(best[i]), "pdq") for i in np.flatnonzero(best <= wide)]


def _phash_equivalent(image: Any) -> U8:
    """imagededup's PHash, re-implemented: resize to 32x32 (Lanczos) then greyscale, 2-D DCT-II,
    top-left 8x8 block, bit = coefficient >= median of the 63 non-DC coefficients."""
    from PIL import Image

    grey = np.asarray(image.resize((32, 32), Image.Resampling.LANCZOS).convert("L"), np.float64)
    n = np.arange(32)
    basis = np.cos(np.pi * n[:, None] * (2 * n[None, :] + 1) / 64)  # DCT-II, unnormalised
    coef = (basis @ grey @ basis.T)[:8, :8]
    bits = coef >= np.median(coef.ravel()[1:])
    return np.packbits(bits.ravel())


def load_imagededup() -> tuple[Any, str]:
    """imagededup's PHash hasher, or None with the reason. imagededup's package ``__init__``
    files import its CNN method (torch, torchvision, matplotlib); the hashing module itself
    needs only numpy, scipy, PyWavelets, scikit-learn and tqdm, so those two ``__init__`` files
    are bypassed and ``imagededup.methods.hashing`` is imported directly."""
    try:
        package = importlib.import_module("imagededup")
    except ImportError as exc:
        return None, f"imagededup not installed ({exc})"
    root = Path(package.__file__ or "").parent
    for name in ("methods", "utils"):
        full = f"imagededup.{name}"
        if full not in sys.modules:
            stub = types.ModuleType(full)
            stub.__path__ = [str(root / name)]
            sys.modules[full] = stub
    try:
        hashing = importlib.import_module("imagededup.methods.hashing")
    except ImportError as exc:
        return None, f"imagededup.methods.hashing does not import ({exc})"
    version = getattr(package, "__version__", None)
    if version is None:
        from importlib.metadata import version as dist_version

        version = dist_version("imagededup")
    return hashing.PHash(verbose=False), f"imagededup {version} PHash, <= 10"


class ImagededupPHash:
    """imagededup's PHash over the displayed pixels (EXIF orientation applied, as for the other
    methods: imagededup's own file loader ignores it), Hamming distance <= 10 (its default)."""

    name = "imagededup"
    sweep: tuple[int, ...] = PHASH_SWEEP
    threshold: int | None = PHASH_THRESHOLD

    def __init__(self) -> None:
        self.hasher, label = load_imagededup()
        self.label = (
            label
            if self.hasher is not None
            else "imagededup-equivalent pHash (re-implemented), <= 10"
        )
        self.codes: U8 = np.zeros((0, 8), np.uint8)

    def _code(self, path: Path) -> U8:
        image = data.open_displayed(path)
        if self.hasher is None:
            return _phash_equivalent(image)
        text = self.hasher.encode_image(image_array=np.asarray(image))
        return np.frombuffer(bytes.fromhex(text), np.uint8)

    def build(self, originals: list[Path]) -> None:
        self.codes = np.stack([self._code(p) for p in originals])

    def query(self, path: Path) -> list[Hit]:
        dist = _popcount_rows(self.codes, self._code(path))
        wide = max(self.sweep)
        return [Hit(int(i), int(dist[i]), "phash") for i in np.flatnonzero(dist <= wide)]


THRESHOLDS: dict[str, int | None] = {
    "dalil": None,
    "dalil-thorough": None,
    "pdq-dihedral": PDQ_THRESHOLD,
    "pdq-plain": PDQ_THRESHOLD,
    "imagededup": PHASH_THRESHOLD,
}
METHODS: dict[str, Callable[[], Method]] = {
    "dalil": DalilMatcher,
    "dalil-thorough": DalilThorough,
    "pdq-dihedral": lambda: PdqBaseline(True),
    "pdq-plain": lambda: PdqBaseline(False),
    "imagededup": ImagededupPHash,
}


# ==========================================================================================
# Quality: running the queries
# ==========================================================================================

_WORKER: dict[str, Any] = {}


def _init_worker(names: list[str], originals: list[str]) -> None:
    try:
        import faiss

        faiss.omp_set_num_threads(1)  # the pool's processes are the parallelism
    except ImportError:
        pass
    methods: dict[str, Method] = {}
    builds: dict[str, float] = {}
    errors: dict[str, str] = {}
    paths = [Path(p) for p in originals]
    for name in names:
        started = time.perf_counter()
        try:
            method = METHODS[name]()
            method.build(paths)
        except Exception as exc:  # a method that cannot run is reported, not fatal
            errors[name] = f"{type(exc).__name__}: {exc}"
            continue
        methods[name] = method
        builds[name] = time.perf_counter() - started
    _WORKER.update(methods=methods, builds=builds, errors=errors, pid=os.getpid())


def _run_chunk(chunk: list[tuple[int, str]]) -> dict[str, Any]:
    methods: dict[str, Method] = _WORKER["methods"]
    out: dict[int, dict[str, Any]] = {}
    for qi, path in chunk:
        row: dict[str, Any] = {}
        for name, method in methods.items():
            started = time.perf_counter()
            try:
                hits = method.query(Path(path))
                error = None
            except Exception as exc:  # one unreadable query must not end the run
                hits, error = [], f"{type(exc).__name__}: {exc}"
            row[name] = {
                "hits": [[h.index, h.distance, h.stage, h.inliers] for h in hits],
                "seconds": time.perf_counter() - started,
                "error": error,
            }
        quality = None
        if "pdq-dihedral" in methods or "pdq-plain" in methods:
            quality = _pdq_probe(path)[1]
        row["_pdq_quality"] = quality
        out[qi] = row
    return {
        "pid": _WORKER["pid"],
        "builds": _WORKER["builds"],
        "errors": _WORKER["errors"],
        "rows": out,
        "methods": {n: m.label for n, m in methods.items()},
    }


def run_queries(
    qset: data.QualitySet, names: list[str], jobs: int
) -> tuple[dict[int, dict[str, Any]], dict[str, Any]]:
    originals = [o.path for o in qset.originals]
    todo = [(i, q.path) for i, q in enumerate(qset.queries)]
    size = max(1, min(25, math.ceil(len(todo) / (jobs * 8))))
    chunks = [todo[k : k + size] for k in range(0, len(todo), size)]
    rows: dict[int, dict[str, Any]] = {}
    builds: dict[int, dict[str, float]] = {}
    labels: dict[str, str] = {}
    errors: dict[str, str] = {}
    started = time.perf_counter()
    common.log(
        f"matching {len(todo)} queries against {len(originals)} originals with "
        f"{', '.join(names)} in {jobs} processes ..."
    )
    ctx = multiprocessing.get_context("fork")  # nothing with threads is loaded here yet
    with ctx.Pool(jobs, _init_worker, (names, originals)) as pool:
        for done, part in enumerate(pool.imap_unordered(_run_chunk, chunks), start=1):
            rows.update(part["rows"])
            builds[part["pid"]] = part["builds"]
            labels.update(part["methods"])
            errors.update(part["errors"])
            if done % max(1, len(chunks) // 10) == 0 or done == len(chunks):
                common.log(
                    f"  {len(rows)}/{len(todo)} queries  {time.perf_counter() - started:.0f} s"
                )
    info = {
        "labels": labels,
        "unavailable": errors,
        "build_seconds": {n: max(b.get(n, 0.0) for b in builds.values()) for n in labels},
        "wall_seconds": round(time.perf_counter() - started, 1),
        "processes": jobs,
    }
    return rows, info


# ==========================================================================================
# Quality: scoring
# ==========================================================================================


@dataclass(slots=True)
class Tally:
    queries: int = 0
    tp: int = 0
    fn: int = 0
    fp: int = 0
    queries_with_fp: int = 0
    own: int = 0  # same-scene: matched its own card's original
    by_stage: dict[str, int] = field(default_factory=dict)

    def add(self, other: Tally) -> None:
        self.queries += other.queries
        self.tp += other.tp
        self.fn += other.fn
        self.fp += other.fp
        self.queries_with_fp += other.queries_with_fp
        self.own += other.own
        for k, v in other.by_stage.items():
            self.by_stage[k] = self.by_stage.get(k, 0) + v

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "queries": self.queries,
            "tp": self.tp,
            "fn": self.fn,
            "fp": self.fp,
            "queries_with_fp": self.queries_with_fp,
            "precision": _round(self.precision),
            "recall": _round(self.recall),
        }
        if self.own:
            d["matched_own_scene"] = self.own
        if self.by_stage:
            d["tp_by_stage"] = dict(sorted(self.by_stage.items()))
        return d


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 4)


def score_one(query: data.Query, hits: list[list[Any]], threshold: int | None) -> Tally:
    kept = [h for h in hits if threshold is None or (h[1] is not None and h[1] <= threshold)]
    found = {int(h[0]) for h in kept}
    t = Tally(queries=1)
    wrong = found - ({query.expect} if query.expect is not None else set())
    t.fp = len(wrong)
    t.queries_with_fp = int(bool(wrong))
    if query.kind == "copy":
        if query.expect in found:
            t.tp = 1
            stage = min((h[2] for h in kept if h[0] == query.expect), default="?")
            t.by_stage[stage] = 1
        else:
            t.fn = 1
    elif query.kind == "same-scene" and query.expect in found:
        t.own = 1
    return t


def score(
    qset: data.QualitySet, rows: dict[int, dict[str, Any]], method: str, threshold: int | None
) -> dict[str, Any]:
    families: dict[str, Tally] = {}
    transforms: dict[str, Tally] = {}
    overall, excl = Tally(), Tally()
    for qi, query in enumerate(qset.queries):
        t = score_one(query, rows[qi][method]["hits"], threshold)
        families.setdefault(query.family, Tally()).add(t)
        if query.kind == "copy":
            transforms.setdefault(f"{query.family}/{query.transform}", Tally()).add(t)
        overall.add(t)
        if query.transform != BIG_CROP:
            excl.add(t)
    copies = Tally()
    for fam, t in families.items():
        if fam not in ("same-scene", "unrelated", "peer"):
            copies.add(t)
    return {
        "threshold": threshold,
        "families": {k: v.to_dict() for k, v in families.items()},
        "transforms": {k: v.to_dict() for k, v in transforms.items()},
        "copies_only": copies.to_dict(),
        "overall": overall.to_dict(),
        "overall_excluding_crops_over_30": excl.to_dict(),
    }


def sweep(
    qset: data.QualitySet, rows: dict[int, dict[str, Any]], method: str, thresholds: Sequence[int]
) -> list[dict[str, Any]]:
    out = []
    for t in thresholds:
        s = score(qset, rows, method, t)
        ex = s["overall_excluding_crops_over_30"]
        fams = s["families"]
        out.append(
            {
                "threshold": t,
                "precision": ex["precision"],
                "recall": ex["recall"],
                "fp": ex["fp"],
                "unrelated_fp": fams.get("unrelated", {}).get("fp", 0),
                "peer_fp": fams.get("peer", {}).get("fp", 0),
            }
        )
    return out


def goals(scores: dict[str, dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    ref = scores.get("imagededup")
    for name, s in scores.items():
        ex = s["overall_excluding_crops_over_30"]
        p, r = ex["precision"] or 0.0, ex["recall"] or 0.0
        entry: dict[str, Any] = {
            "precision_goal_met": p >= GOAL_PRECISION,
            "recall_goal_met": r >= GOAL_RECALL,
        }
        if ref is not None and name != "imagededup":
            behind = []
            for fam in FAMILY_ORDER:
                mine, theirs = s["families"].get(fam), ref["families"].get(fam)
                if mine is None or theirs is None:
                    continue
                if (mine["recall"] or 0) < (theirs["recall"] or 0) or (
                    (mine["precision"] or 0) < (theirs["precision"] or 0)
                ):
                    behind.append(fam)
            entry["families_behind_imagededup"] = behind
        out[name] = entry
    return out


# ==========================================================================================
# Quality: report
# ==========================================================================================


def _pr(d: dict[str, Any]) -> str:
    p, r = d.get("precision"), d.get("recall")
    ps = "  -  " if p is None else f"{p:.3f}"
    rs = "  -  " if r is None else f"{r:.3f}"
    return f"{ps} / {rs}"


def _grid(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(r[k])) for r in [header, *rows]) for k in range(len(header))]
    lines = ["  " + "  ".join(f"{h:<{w}}" for h, w in zip(header, widths, strict=True))]
    lines.append("  " + "  ".join("-" * w for w in widths))
    for r in rows:
        lines.append("  " + "  ".join(f"{c:<{w}}" for c, w in zip(r, widths, strict=True)))
    return "\n".join(lines)


def quality_report(
    qset: data.QualitySet,
    scores: dict[str, dict[str, Any]],
    info: dict[str, Any],
    timing: dict[str, dict[str, float]],
    sweeps: dict[str, list[dict[str, Any]]],
    goal: dict[str, Any],
) -> str:
    names = list(scores)
    out = [
        f"near-duplicate quality: {len(qset.originals)} originals "
        f"({sum(o.source == 'corpus' for o in qset.originals)} corpus photos, "
        f"{sum(o.source == 'demo' for o in qset.originals)} demo cards), "
        f"{len(qset.queries)} queries"
    ]
    out += [f"  {n}: {info['labels'][n]}" for n in names]
    out += [f"  {n}: NOT RUN ({why})" for n, why in info["unavailable"].items()]
    out.append("\nprecision / recall per family (a hit on any other original is a false positive):")
    header = ["family", "queries", *names]
    rows = []
    first = scores[names[0]]["families"]
    for fam in FAMILY_ORDER:
        if fam in first:
            rows.append(
                [fam, str(first[fam]["queries"]), *(_pr(scores[n]["families"][fam]) for n in names)]
            )
    rows.append(
        [
            "copies only",
            str(scores[names[0]]["copies_only"]["queries"]),
            *(_pr(scores[n]["copies_only"]) for n in names),
        ]
    )
    rows.append(
        [
            "OVERALL",
            str(scores[names[0]]["overall"]["queries"]),
            *(_pr(scores[n]["overall"]) for n in names),
        ]
    )
    rows.append(
        [
            "OVERALL excl crop-40",
            str(scores[names[0]]["overall_excluding_crops_over_30"]["queries"]),
            *(_pr(scores[n]["overall_excluding_crops_over_30"]) for n in names),
        ]
    )
    out.append(_grid(header, rows))
    out.append(
        "  (OVERALL counts every false positive: copies', same-scene queries' hits on "
        "other cards, unrelated cards', and originals' hits on each other)"
    )

    out.append("\nnegatives: false positives (queries with any) ; same-scene: own card found")
    rows = []
    for fam in ("same-scene", "unrelated", "peer"):
        if fam in first:
            cells = []
            for n in names:
                f = scores[n]["families"][fam]
                cell = f"{f['fp']} ({f['queries_with_fp']})"
                if fam == "same-scene":
                    cell += f" ; own {f.get('matched_own_scene', 0)}/{f['queries']}"
                cells.append(cell)
            rows.append([fam, str(first[fam]["queries"]), *cells])
    out.append(_grid(header, rows))

    out.append("\nrecall per transform:")
    rows = []
    for key in sorted(
        scores[names[0]]["transforms"],
        key=lambda k: (
            FAMILY_ORDER.index(k.split("/")[0]) if k.split("/")[0] in FAMILY_ORDER else 99,
            k,
        ),
    ):
        cells = []
        for n in names:
            t = scores[n]["transforms"][key]
            cells.append(f"{t['recall']:.3f}" + (f" fp {t['fp']}" if t["fp"] else ""))
        rows.append([key, str(scores[names[0]]["transforms"][key]["queries"]), *cells])
    out.append(_grid(["transform", "queries", *names], rows))

    for n, rows_ in sweeps.items():
        out.append(f"\n{n}: threshold sweep (overall excl crop-40)")
        out.append(
            _grid(
                ["threshold", "precision", "recall", "fp", "unrelated fp", "peer fp"],
                [
                    [
                        str(r["threshold"]),
                        str(r["precision"]),
                        str(r["recall"]),
                        str(r["fp"]),
                        str(r["unrelated_fp"]),
                        str(r["peer_fp"]),
                    ]
                    for r in rows_
                ],
            )
        )

    out.append("\ncost per query (one process; decode included) and index build:")
    out.append(
        _grid(
            ["method", "mean ms", "p95 ms", "build s"],
            [
                [
                    n,
                    f"{timing[n]['mean_ms']:.1f}",
                    f"{timing[n]['p95_ms']:.1f}",
                    f"{info['build_seconds'].get(n, 0):.1f}",
                ]
                for n in names
            ],
        )
    )
    out.append(
        "\ngoals (overall excl crop-40: precision >= 0.99, recall >= 0.95; ahead of "
        "imagededup on every family):"
    )
    for n, g in goal.items():
        ex = scores[n]["overall_excluding_crops_over_30"]
        line = (
            f"  {n}: precision {ex['precision']} "
            f"{'MET' if g['precision_goal_met'] else 'not met'}, recall {ex['recall']} "
            f"{'MET' if g['recall_goal_met'] else 'not met'}"
        )
        if "families_behind_imagededup" in g:
            behind = g["families_behind_imagededup"]
            line += "; behind imagededup on: " + (", ".join(behind) if behind else "none")
        out.append(line)
    return "\n".join(out)


def short_list_recall(qset: data.QualitySet, rows: Any) -> dict[str, Any] | None:
    """Of the copies ``dalil-thorough`` finds (every original checked with local features),
    the share the default short list finds too: the short list's own recall, apart from the
    geometric check's."""
    thorough = found = 0
    for i, q in enumerate(qset.queries):
        if q.kind != "copy" or q.expect is None:
            continue
        if any(h[0] == q.expect for h in rows[i]["dalil-thorough"]["hits"]):
            thorough += 1
            found += any(h[0] == q.expect for h in rows[i]["dalil"]["hits"])
    if thorough == 0:
        return None
    return {"thorough": thorough, "found": found, "recall": round(found / thorough, 4)}


def run_quality(args: argparse.Namespace) -> dict[str, Any]:
    qset = data.build_quality_set(
        args.workdir,
        cards=args.cards,
        distractor_cards=args.distractor_cards,
        seed=args.seed,
        min_side=args.min_side,
        max_originals=args.max_originals,
        procs=args.jobs,
    )
    if not qset.originals:
        raise SystemExit("no originals: neither the corpus nor a demo collection is available")
    names = [n.strip() for n in args.methods.split(",") if n.strip()]
    unknown = [n for n in names if n not in METHODS]
    if unknown:
        raise SystemExit(f"unknown methods {unknown}; known: {', '.join(METHODS)}")
    watch = common.CpuWatch().start()
    rows, info = run_queries(qset, names, args.jobs)
    other = watch.other_share()
    ran = [n for n in names if n in info["labels"]]
    if not ran:
        raise SystemExit(f"no method could run: {info['unavailable']}")
    scores = {n: score(qset, rows, n, THRESHOLDS[n]) for n in ran}
    timing = {}
    for n in ran:
        secs = np.array([rows[q][n]["seconds"] for q in rows]) * 1e3
        timing[n] = {
            "mean_ms": float(secs.mean()),
            "p50_ms": float(np.percentile(secs, 50)),
            "p95_ms": float(np.percentile(secs, 95)),
        }
    sweeps = {
        n: sweep(qset, rows, n, PDQ_SWEEP if n.startswith("pdq") else PHASH_SWEEP)
        for n in ran
        if not n.startswith("dalil")
    }
    goal = goals(scores)
    errors: dict[str, int] = {}
    for r in rows.values():
        for n in ran:
            if r[n]["error"]:
                errors[n] = errors.get(n, 0) + 1
    qualities = [r["_pdq_quality"] for r in rows.values() if r["_pdq_quality"] is not None]
    report = quality_report(qset, scores, info, timing, sweeps, goal)
    short = short_list_recall(qset, rows) if {"dalil", "dalil-thorough"} <= set(ran) else None
    if short is not None:
        report += (
            f"\nshort list: of the {short['thorough']} copies found when every original is"
            f" checked (dalil-thorough), the default short list finds {short['found']}"
            f" ({short['recall']:.3f})"
        )
    if errors:
        report += f"\n  query errors (counted as no match): {errors}"
    if other > common.NOISY_SHARE:
        report += f"\n  other processes took {other:.0%} of the CPUs meanwhile: timings noisy"
    return {
        "benchmark": "similar-quality",
        "machine": common.machine(),
        "set": {
            **qset.params,
            "workdir": str(qset.workdir),
            "originals": len(qset.originals),
            "queries": len(qset.queries),
            "skipped_corpus_files": qset.skipped,
            "originals_list": [o.key for o in qset.originals],
        },
        "methods": info,
        "scores": scores,
        "sweeps": sweeps,
        "timing": timing,
        "goals": goal,
        "short_list_recall": short,
        "query_errors": errors,
        "probe_pdq_quality_below_50": sum(q < 50 for q in qualities),
        "per_query": [
            {
                "path": q.path,
                "kind": q.kind,
                "family": q.family,
                "transform": q.transform,
                "expect": q.expect,
                "pdq_quality": rows[i]["_pdq_quality"],
                **{
                    n: {"hits": rows[i][n]["hits"], "ms": round(rows[i][n]["seconds"] * 1e3, 1)}
                    for n in ran
                },
            }
            for i, q in enumerate(qset.queries)
        ],
        "other_cpu_share": other,
        "report": report,
    }


# ==========================================================================================
# Scale
# ==========================================================================================


def trim_heap() -> None:
    """Hand freed heap memory back to the OS (glibc ``malloc_trim``), so that the next RSS
    delta is not hidden by memory an earlier index freed into the allocator's arenas."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def vmrss_kb() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def components(n: int, i: I64, j: I64) -> I64:
    """Connected components of the graph with edges (i, j): the smallest member's index for
    every node (hook to the smaller root, then pointer jumping, until no edge spans two)."""
    parent = np.arange(n, dtype=np.int64)
    while len(i):
        pi, pj = parent[i], parent[j]
        if np.array_equal(pi, pj):
            break
        low = np.minimum(pi, pj)
        np.minimum.at(parent, pi, low)
        np.minimum.at(parent, pj, low)
        while True:
            nxt = parent[parent]
            if np.array_equal(nxt, parent):
                break
            parent = nxt
    return parent


def cluster_stats(labels: I64) -> dict[str, int]:
    sizes = np.bincount(labels, minlength=len(labels))
    multi = sizes[sizes >= 2]
    return {
        "clusters": len(multi),
        "clustered_codes": int(multi.sum()),
        "largest": int(multi.max()) if len(multi) else 0,
    }


def truth_recovered(labels: I64, truth: I64) -> float:
    """Share of generated clusters that come out as exactly one found cluster."""
    mask = truth >= 0
    t, lab = truth[mask], labels[mask]
    if not len(t):
        return 1.0
    pairs = np.unique(np.stack([t, lab], axis=1), axis=0)
    per_truth = np.bincount(pairs[:, 0])
    one_label = per_truth[t] == 1  # every member of the cluster got the same label
    size_t = np.bincount(t)
    size_l = np.bincount(labels, minlength=len(labels))
    exact = one_label & (size_l[lab] == size_t[t])
    ok = np.zeros(len(size_t), bool)
    ok[t[exact]] = True
    present = size_t > 0
    return float(ok[present].mean())


def pair_keys(i: I64, j: I64, n: int) -> I64:
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    return np.unique(lo * n + hi)


def faiss_pairs(
    index: Any, codes: U8, radius: int, rows: range, batch: int = 10_000
) -> tuple[I64, I64]:
    """All (query, found) pairs with query < found for the query rows given."""
    out_i, out_j = [], []
    for start in range(rows.start, rows.stop, batch):
        stop = min(rows.stop, start + batch)
        lims, _dist, ids = index.range_search(codes[start:stop], radius)
        q = np.repeat(np.arange(start, stop, dtype=np.int64), np.diff(lims).astype(np.int64))
        ids = ids.astype(np.int64)
        keep = q != ids
        out_i.append(q[keep])
        out_j.append(ids[keep])
    i = np.concatenate(out_i) if out_i else np.zeros(0, np.int64)
    j = np.concatenate(out_j) if out_j else np.zeros(0, np.int64)
    return i, j


def mih_pairs(
    codes: U8, max_distance: int, max_bucket: int, budget: int
) -> tuple[I64, I64, dict[str, Any]]:
    """Multi-index hashing in numpy: 16 substrings of 16 bits; every pair sharing a substring
    value (in a bucket of at most ``max_bucket`` codes) is a candidate, verified by popcount.

    Exact for distances <= 15 (pigeonhole); a pair at 16..31 is found only if one of its 16
    substrings happens to agree exactly. Returns unique pairs (i < j) and counters."""
    n = len(codes)
    sub = np.ascontiguousarray(codes).view(np.uint16)  # (n, 16)
    wide = np.ascontiguousarray(codes).view(np.uint64)  # (n, 4)
    estimate = 0
    skipped_buckets = skipped_codes = 0
    for s in range(sub.shape[1]):
        counts = np.bincount(sub[:, s], minlength=1 << 16)
        ok = counts[(counts >= 2) & (counts <= max_bucket)]
        estimate += int((ok * (ok - 1) // 2).sum())
        big = counts[counts > max_bucket]
        skipped_buckets += len(big)
        skipped_codes += int(big.sum())
    info: dict[str, Any] = {
        "candidate_pairs": estimate,
        "skipped_buckets": skipped_buckets,
        "skipped_bucket_slots": skipped_codes,
        "max_bucket": max_bucket,
    }
    if estimate > budget:
        info["skipped"] = f"{estimate} candidate pairs exceed the budget of {budget}"
        return np.zeros(0, np.int64), np.zeros(0, np.int64), info
    found_i, found_j = [], []
    chunk = 4_000_000  # candidate pairs verified at once (~0.5 GB of temporaries)
    for s in range(sub.shape[1]):
        keys = sub[:, s]
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
        sizes = np.diff(np.r_[starts, n])
        for size in np.unique(sizes[(sizes >= 2) & (sizes <= max_bucket)]):
            first = starts[sizes == size]
            members = order[first[:, None] + np.arange(size)]  # (buckets, size)
            a, b = np.triu_indices(int(size), 1)
            per = max(1, chunk // len(a))
            for k in range(0, len(members), per):
                m = members[k : k + per]
                ci, cj = m[:, a].ravel(), m[:, b].ravel()
                dist = np.bitwise_count(wide[ci] ^ wide[cj]).sum(axis=1, dtype=np.int64)
                keep = dist <= max_distance
                found_i.append(ci[keep])
                found_j.append(cj[keep])
    i = np.concatenate(found_i) if found_i else np.zeros(0, np.int64)
    j = np.concatenate(found_j) if found_j else np.zeros(0, np.int64)
    unique = pair_keys(i.astype(np.int64), j.astype(np.int64), n)
    return unique // n, unique % n, info


def mih_neighbour_pairs(
    codes: U8, max_distance: int, max_bucket: int, budget: int
) -> tuple[I64, I64, dict[str, Any]]:
    """The pairs that same-bucket MIH cannot see: for each 16-bit substring and each of its 16
    bits, every code of bucket ``k`` against every code of bucket ``k ^ (1 << bit)``, verified
    by popcount. With :func:`mih_pairs` this is exact up to 31 bits: 31 differing bits over 16
    substrings leave one substring with at most one. Returns unique pairs (i < j) and
    counters."""
    n = len(codes)
    sub = np.ascontiguousarray(codes).view(np.uint16)
    wide = np.ascontiguousarray(codes).view(np.uint64)
    keys_all = np.arange(1 << 16, dtype=np.int64)
    tables = []
    estimate = 0
    for s in range(sub.shape[1]):
        counts = np.bincount(sub[:, s], minlength=1 << 16).astype(np.int64)
        usable = np.where(counts <= max_bucket, counts, 0)
        for bit in range(16):
            low = keys_all[(keys_all >> bit) & 1 == 0]
            estimate += int((usable[low] * usable[low | (1 << bit)]).sum())
        tables.append(counts)
    info: dict[str, Any] = {"candidate_pairs": estimate, "max_bucket": max_bucket}
    if estimate > budget:
        info["skipped"] = f"{estimate} candidate pairs exceed the budget of {budget}"
        return np.zeros(0, np.int64), np.zeros(0, np.int64), info
    found_i, found_j = [], []
    chunk = 4_000_000
    for s in range(sub.shape[1]):
        order = np.argsort(sub[:, s], kind="stable").astype(np.int64)
        counts = tables[s]
        first = np.cumsum(counts) - counts  # where each key's bucket starts in ``order``
        usable = (counts >= 1) & (counts <= max_bucket)
        for bit in range(16):
            k1 = keys_all[((keys_all >> bit) & 1 == 0) & usable]
            k2 = k1 | (1 << bit)
            k1, k2 = k1[usable[k2]], k2[usable[k2]]
            s1, s2 = counts[k1], counts[k2]
            total = s1 * s2
            ends = np.cumsum(total)
            cuts = np.searchsorted(ends, np.arange(chunk, int(ends[-1]) if len(ends) else 0, chunk))
            for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(k1)], strict=True):
                if hi <= lo:
                    continue
                t = total[lo:hi]
                pid = np.repeat(np.arange(hi - lo), t)
                local = np.arange(int(t.sum())) - np.repeat(np.cumsum(t) - t, t)
                width = s2[lo:hi][pid]
                a = local // width
                ci = order[first[k1[lo:hi]][pid] + a]
                cj = order[first[k2[lo:hi]][pid] + local - a * width]
                dist = np.bitwise_count(wide[ci] ^ wide[cj]).sum(axis=1, dtype=np.int64)
                keep = dist <= max_distance
                found_i.append(ci[keep])
                found_j.append(cj[keep])
    i = np.concatenate(found_i) if found_i else np.zeros(0, np.int64)
    j = np.concatenate(found_j) if found_j else np.zeros(0, np.int64)
    unique = pair_keys(i, j, n)
    return unique // n, unique % n, info


def scale_one(n: int, args: argparse.Namespace) -> dict[str, Any]:
    import faiss

    radius = PDQ_THRESHOLD + 1  # faiss binary range_search keeps distance < radius
    started = time.perf_counter()
    codes_set = data.synthetic_codes(n, args.seed, progress=common.log)
    gen_s = time.perf_counter() - started
    codes = codes_set.codes
    common.log(
        f"N = {n}: {codes_set.clusters} generated clusters holding "
        f"{codes_set.clustered} codes; generated in {gen_s:.1f} s"
    )
    result: dict[str, Any] = {
        "n": n,
        "generated_clusters": codes_set.clusters,
        "generated_clustered_codes": codes_set.clustered,
        "omp_threads_single_queries": 1,
        "omp_threads_all_pairs": args.jobs,
        "indexes": {},
    }
    rng = np.random.default_rng([args.seed, n, 2])
    queries = codes[rng.choice(n, args.queries, replace=False)]

    indexes: dict[str, Any] = {}
    for name, make in (
        ("flat", lambda: faiss.IndexBinaryFlat(256)),
        ("multihash-16x16-nflip1", lambda: _multihash(faiss)),
    ):
        trim_heap()
        before = vmrss_kb()
        index = make()
        started = time.perf_counter()
        index.add(codes)
        build_s = time.perf_counter() - started
        mem_mb = (vmrss_kb() - before) / 1024
        lat = []
        found = []
        # One thread per single query: with two OpenMP threads on a busy two-core machine the
        # hand-off alone costs ~20 ms per call (measured), whatever the index size.
        faiss.omp_set_num_threads(1)
        for q in queries:
            started = time.perf_counter()
            lims, _d, ids = index.range_search(q[None, :], radius)
            lat.append(time.perf_counter() - started)
            found.append(np.sort(ids[lims[0] : lims[1]]))
        ms = np.array(lat) * 1e3
        indexes[name] = (index, found)
        result["indexes"][name] = {
            "build_s": round(build_s, 3),
            "rss_delta_mb": round(mem_mb, 1),
            "bytes_per_code": round(mem_mb * 2**20 / n, 1),
            "raw_codes_mb": round(n * 32 / 2**20, 1),
            "query_p50_ms": round(float(np.percentile(ms, 50)), 3),
            "query_p95_ms": round(float(np.percentile(ms, 95)), 3),
            "query_mean_ms": round(float(ms.mean()), 3),
            "mean_results": round(float(np.mean([len(f) for f in found])), 2),
        }
        common.log(
            f"  {name}: build {build_s:.2f} s, +{mem_mb:.0f} MB RSS, query p50 "
            f"{np.percentile(ms, 50):.3f} ms p95 {np.percentile(ms, 95):.3f} ms"
        )
    flat_found, mh_found = indexes["flat"][1], indexes["multihash-16x16-nflip1"][1]
    same = sum(np.array_equal(a, b) for a, b in zip(flat_found, mh_found, strict=True))
    result["indexes"]["multihash-16x16-nflip1"]["same_results_as_flat"] = (
        f"{same}/{len(flat_found)}"
    )

    faiss.omp_set_num_threads(args.jobs)  # batched searches: one thread per core
    allpairs: dict[str, Any] = {}
    exact_keys: I64 | None = None
    sample_rows = range(0, min(n, args.allpairs_sample))
    for name in ("flat", "multihash-16x16-nflip1"):
        index = indexes[name][0]
        full = n <= args.allpairs_full_max
        rows = range(0, n) if full else sample_rows
        started = time.perf_counter()
        i, j = faiss_pairs(index, codes, radius, rows)
        secs = time.perf_counter() - started
        entry: dict[str, Any] = {"queries_run": len(rows), "range_search_s": round(secs, 2)}
        if full:
            keys = pair_keys(i, j, n)
            started = time.perf_counter()
            labels = components(n, keys // n, keys % n)
            uf_s = time.perf_counter() - started
            entry.update(
                {
                    "full": True,
                    "pairs": len(keys),
                    "union_find_s": round(uf_s, 2),
                    "total_s": round(secs + uf_s, 2),
                    **cluster_stats(labels),
                    "generated_clusters_recovered": round(
                        truth_recovered(labels, codes_set.cluster), 4
                    ),
                }
            )
            if exact_keys is None:
                exact_keys = keys
        else:
            entry.update(
                {
                    "full": False,
                    "extrapolated_total_s": round(secs * n / max(1, len(rows)), 1),
                    "pairs_in_sample_rows": len(pair_keys(i, j, n)),
                }
            )
            if name == "flat":
                entry["_sample_pairs"] = (i, j)
        allpairs[f"faiss-{name}"] = entry
        shown = {k: v for k, v in entry.items() if not k.startswith("_")}
        common.log(f"  all-pairs faiss {name}: {shown}")

    sample = allpairs["faiss-flat"].pop("_sample_pairs", None)
    reference: tuple[I64, str] | None = None
    if exact_keys is not None:
        reference = (exact_keys, "all pairs (exact all-pairs ran in full)")
    elif sample is not None:
        reference = (
            pair_keys(sample[0], sample[1], n),
            f"pairs of the first {len(sample_rows)} codes (exact flat range search on that sample)",
        )

    started = time.perf_counter()
    mi, mj, minfo = mih_pairs(codes, PDQ_THRESHOLD, args.max_bucket, args.mih_budget)
    mih_s = time.perf_counter() - started
    mih_entry: dict[str, Any] = {"search_s": round(mih_s, 2), **minfo}
    if "skipped" not in minfo:
        mih_entry.update(_clustering(n, mi, mj, mih_s, codes_set, reference))
    allpairs["numpy-mih-16x16"] = mih_entry
    common.log(f"  all-pairs numpy MIH: {mih_entry}")

    # What `dalil clusters recompute` runs: plain codes against each other and against the
    # other seven variants (here fixed bit permutations, as a rotation or flip permutes PDQ's
    # DCT coefficients), then union-find.
    from dalil.similar.allpairs import close_pairs

    bits = np.unpackbits(codes, axis=1)
    blocks = np.empty((n, 8, 32), dtype=np.uint8)
    blocks[:, 0] = codes
    for v in range(1, 8):
        blocks[:, v] = np.packbits(bits[:, np.random.default_rng(v).permutation(256)], axis=1)
    del bits
    started = time.perf_counter()
    pairs = close_pairs(blocks.reshape(n, 256), PDQ_THRESHOLD, args.max_bucket)
    product_s = time.perf_counter() - started
    del blocks
    product: dict[str, Any] = {
        "search_s": round(product_s, 2),
        "compared": pairs.compared,
        "skipped_buckets": pairs.skipped_buckets,
    }
    plain = pairs.variant == 0
    product.update(
        _clustering(n, pairs.first[plain], pairs.second[plain], product_s, codes_set, reference)
    )
    allpairs["dalil-recompute"] = product
    common.log(f"  all-pairs as dalil clusters recompute: {product}")

    if args.mih_exact and "skipped" not in minfo:
        started = time.perf_counter()
        ni, nj, ninfo = mih_neighbour_pairs(
            codes, PDQ_THRESHOLD, args.max_bucket, args.mih_exact_budget
        )
        flip_s = time.perf_counter() - started
        exact_entry: dict[str, Any] = {
            "search_s": round(mih_s + flip_s, 2),
            "neighbour_buckets_s": round(flip_s, 2),
            "candidate_pairs": minfo["candidate_pairs"] + ninfo["candidate_pairs"],
            **{k: v for k, v in ninfo.items() if k != "candidate_pairs"},
        }
        if "skipped" not in ninfo:
            both = np.union1d(mi * n + mj, ni * n + nj)
            exact_entry.update(
                _clustering(n, both // n, both % n, mih_s + flip_s, codes_set, reference)
            )
        allpairs["numpy-mih-16x16-flip1"] = exact_entry
        common.log(f"  all-pairs numpy MIH + 1-bit neighbour buckets: {exact_entry}")
    result["all_pairs"] = allpairs
    for name in list(indexes):
        del indexes[name]
    return result


def _clustering(
    n: int, i: I64, j: I64, search_s: float, truth: data.Codes, reference: tuple[I64, str] | None
) -> dict[str, Any]:
    """Union-find over the pairs (i < j, unique), cluster figures, and recall against the
    exact pairs of ``reference`` (all of them, or those of a sample of codes)."""
    started = time.perf_counter()
    labels = components(n, i, j)
    uf_s = time.perf_counter() - started
    out: dict[str, Any] = {
        "pairs": len(i),
        "union_find_s": round(uf_s, 2),
        "total_s": round(search_s + uf_s, 2),
        **cluster_stats(labels),
        "generated_clusters_recovered": round(truth_recovered(labels, truth.cluster), 4),
    }
    if reference is not None:
        exact, how = reference
        found = i * n + j
        hit = np.isin(exact, found)
        ei, ej = exact // n, exact % n
        out["pair_recall_vs_exact"] = round(float(hit.mean()) if len(hit) else 1.0, 5)
        out["exact_pairs_in_same_cluster"] = round(
            float((labels[ei] == labels[ej]).mean()) if len(ei) else 1.0, 5
        )
        out["recall_measured_on"] = how
    return out


def _multihash(faiss: Any) -> Any:
    """16 tables of 16 bits with 1-bit flips at search time: exact for radius <= 31
    (a pair within 31 bits has some 16-bit substring with at most one differing bit)."""
    index = faiss.IndexBinaryMultiHash(256, 16, 16)
    index.nflip = 1
    return index


def scale_report(results: list[dict[str, Any]]) -> str:
    out = [
        "index scale: synthetic clustered 256-bit codes, radius 31 (faiss radius 32: "
        "binary range_search keeps distance < radius)"
    ]
    rows = []
    for r in results:
        for name, x in r["indexes"].items():
            rows.append(
                [
                    f"{r['n']:,}",
                    name,
                    f"{x['build_s']:.2f}",
                    f"{x['rss_delta_mb']:.0f}",
                    f"{x['query_p50_ms']:.3f}",
                    f"{x['query_p95_ms']:.3f}",
                    str(x.get("same_results_as_flat", "")),
                ]
            )
    out.append(_grid(["N", "index", "build s", "RSS +MB", "p50 ms", "p95 ms", "= flat"], rows))
    out.append("\nwhole-set clustering (all pairs within 31 bits, union-find):")
    rows = []
    for r in results:
        for name, x in r["all_pairs"].items():
            if "skipped" in x:
                rows.append([f"{r['n']:,}", name, "skipped", "", "", "", x["skipped"]])
                continue
            if x.get("full", True):
                secs = f"{x['total_s']:.1f}"
                extra = (
                    f"recall {x['pair_recall_vs_exact']} same-cluster "
                    f"{x['exact_pairs_in_same_cluster']}"
                    if "pair_recall_vs_exact" in x
                    else "exact"
                )
                rows.append(
                    [
                        f"{r['n']:,}",
                        name,
                        secs,
                        str(x["pairs"]),
                        str(x["clusters"]),
                        str(x["generated_clusters_recovered"]),
                        extra,
                    ]
                )
            else:
                rows.append(
                    [
                        f"{r['n']:,}",
                        name,
                        f"~{x['extrapolated_total_s']:.0f} (est.)",
                        "",
                        "",
                        "",
                        f"timed on {x['queries_run']:,} queries",
                    ]
                )
    out.append(
        _grid(["N", "method", "seconds", "pairs", "clusters", "truth recovered", "vs exact"], rows)
    )
    goals_ = []
    for r in results:
        if r["n"] != 1_000_000:
            continue
        p50 = {k: x["query_p50_ms"] for k, x in r["indexes"].items()}
        goals_.append(
            "  1M query p50 (goal < 5 ms): "
            + ", ".join(f"{k} {v:.3f} ms {'MET' if v < 5 else 'not met'}" for k, v in p50.items())
        )
        for name, x in r["all_pairs"].items():
            secs = x.get("total_s", x.get("extrapolated_total_s"))
            if secs is None:
                continue
            how = (
                "exact"
                if name.startswith("faiss")
                else f"pair recall {x.get('pair_recall_vs_exact')} vs exact"
            )
            est = "" if x.get("full", True) else " (extrapolated)"
            goals_.append(
                f"  1M clustering (goal < 600 s): {name} {secs:.0f} s{est}, {how}: "
                f"{'MET' if secs < 600 else 'not met'}"
            )
    if goals_:
        out.append("\ngoals:")
        out += goals_
    return "\n".join(out)


def run_scale(args: argparse.Namespace) -> dict[str, Any]:
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if args.big and 10_000_000 not in sizes:
        sizes.append(10_000_000)
    results = []
    watch = common.CpuWatch().start()
    for n in sizes:
        results.append(scale_one(n, args))
    other = watch.other_share()
    report = scale_report(results)
    if other > common.NOISY_SHARE:
        report += f"\n  other processes took {other:.0%} of the CPUs meanwhile: timings noisy"
    return {
        "benchmark": "similar-scale",
        "machine": common.machine(),
        "sizes": sizes,
        "queries": args.queries,
        "max_bucket": args.max_bucket,
        "results": results,
        "other_cpu_share": other,
        "report": report,
    }


# ==========================================================================================


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--part", choices=("quality", "scale", "all"), default="all")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=common.DEFAULT_WORKDIR,
        help="work folder; the labelled set is cached in WORKDIR/similar-vN (default: %(default)s)",
    )
    parser.add_argument(
        "--jobs", type=int, default=2, help="processes for generating and matching; faiss threads"
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON only")
    q = parser.add_argument_group("quality")
    q.add_argument(
        "--methods", default=",".join(METHODS), help="comma-separated, of: " + ", ".join(METHODS)
    )
    q.add_argument(
        "--cards",
        type=int,
        default=20,
        help="demo cards indexed (one shot each) (default: %(default)s)",
    )
    q.add_argument(
        "--distractor-cards",
        type=int,
        default=10,
        help="further demo cards, not indexed: unrelated queries",
    )
    q.add_argument("--seed", type=int, default=7, help="demo collection and synthetic codes")
    q.add_argument(
        "--min-side",
        type=int,
        default=200,
        help="skip corpus photos smaller than this (px) (default: %(default)s)",
    )
    q.add_argument(
        "--max-originals",
        type=int,
        default=None,
        help="use only the first K corpus photos (quick runs)",
    )
    s = parser.add_argument_group("scale")
    s.add_argument("--sizes", default="100000,1000000", help="numbers of codes")
    s.add_argument("--big", action="store_true", help="also N = 10,000,000 (several GB)")
    s.add_argument("--queries", type=int, default=1000, help="single queries timed per index")
    s.add_argument(
        "--allpairs-full-max",
        type=int,
        default=200_000,
        help="faiss all-pairs runs in full up to this N, else on a sample whose time "
        "is extrapolated (default: %(default)s)",
    )
    s.add_argument(
        "--allpairs-sample",
        type=int,
        default=20_000,
        help="queries timed for the extrapolation (default: %(default)s)",
    )
    s.add_argument(
        "--max-bucket",
        type=int,
        default=256,
        help="numpy MIH skips substring buckets larger than this",
    )
    s.add_argument(
        "--mih-budget",
        type=int,
        default=2_000_000_000,
        help="numpy MIH is skipped above this many candidate pairs",
    )
    s.add_argument(
        "--no-mih-exact",
        dest="mih_exact",
        action="store_false",
        help="skip the exact numpy MIH variant (1-bit neighbour buckets too; about "
        "4 minutes of one core at 1M)",
    )
    s.add_argument(
        "--mih-exact-budget",
        type=int,
        default=4_000_000_000,
        help="the exact variant is skipped above this many neighbour candidates",
    )
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    printed = []
    if args.part in ("quality", "all"):
        quality = run_quality(args)
        path = common.write_results("similar-quality", quality)
        printed.append(quality["report"] + f"\n  results: {path}")
        if args.json:
            print(json.dumps(quality, indent=2))
        else:
            print(printed[-1], flush=True)
    if args.part in ("scale", "all"):
        scale = run_scale(args)
        path = common.write_results("similar-scale", scale)
        printed.append(scale["report"] + f"\n  results: {path}")
        if args.json:
            print(json.dumps(scale, indent=2))
        else:
            print("\n" + printed[-1], flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
