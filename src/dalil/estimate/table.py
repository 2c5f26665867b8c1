"""Capture tables: how many people were found on each combination of lists.

A table has one 0/1 column per list and a count per observed pattern; the all-zero pattern
(people on no list) is what is estimated, so it is never given. Cells are indexed in the order
R's ``dga`` package uses: list 1 is the lowest bit, so for three lists the index of pattern
``(x1, x2, x3)`` is ``x1 + 2*x2 + 4*x3`` and the eight cells run 000, 100, 010, 110, 001, 101,
011, 111 (:meth:`Table.cells`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from dalil.errors import UsageError

COUNT = "count"


class TableError(UsageError):
    """A capture table that cannot be estimated from (exit 2), naming the file and the reason."""


@dataclass(frozen=True)
class Table:
    """Observed capture patterns and their counts for one population (or one stratum)."""

    lists: tuple[str, ...]
    patterns: npt.NDArray[np.int8]  # (m, K) of 0/1, unique rows, no all-zero row
    counts: npt.NDArray[np.int64]  # (m,) >= 0

    @property
    def k(self) -> int:
        return len(self.lists)

    @property
    def observed(self) -> int:
        return int(self.counts.sum())

    def cells(self) -> npt.NDArray[np.int64]:
        """Counts of all ``2**K`` patterns in dga's order (list 1 the lowest bit); cell 0,
        the unobserved, is 0."""
        out = np.zeros(2**self.k, dtype=np.int64)
        out[self.patterns.astype(np.int64) @ (1 << np.arange(self.k))] = self.counts
        return out

    def list_totals(self) -> dict[str, int]:
        """How many people each list holds."""
        return {
            name: int(self.counts[self.patterns[:, j] == 1].sum())
            for j, name in enumerate(self.lists)
        }

    @classmethod
    def from_cells(cls, lists: Sequence[str], cells: Iterable[int]) -> Table:
        """A table from the counts of all ``2**K`` patterns in dga's order (cell 0 ignored)."""
        values = np.asarray(list(cells), dtype=np.int64)
        k = len(lists)
        if values.size != 2**k:
            raise TableError(f"{2**k} cells are needed for {k} lists, got {values.size}")
        index = np.arange(1, 2**k)
        patterns = ((index[:, None] >> np.arange(k)) & 1).astype(np.int8)
        return cls.of(lists, patterns, values[1:])

    @classmethod
    def of(cls, lists: Sequence[str], patterns: npt.ArrayLike, counts: npt.ArrayLike) -> Table:
        """A checked table: 0/1 patterns, no duplicate or all-zero pattern, whole counts >= 0."""
        pat = np.asarray(patterns)
        cnt = np.asarray(counts)
        if pat.ndim != 2 or pat.shape[1] != len(lists) or pat.shape[0] != cnt.shape[0]:
            raise TableError("patterns and counts do not have matching shapes")
        if not np.isin(pat, (0, 1)).all():
            raise TableError("a pattern column holds something other than 0 or 1")
        if not np.all(np.isfinite(cnt.astype(float))) or np.any(cnt != np.round(cnt)):
            raise TableError("a count is not a whole number")
        if np.any(cnt < 0):
            raise TableError("a count is negative")
        if (pat.sum(axis=1) == 0).any():
            raise TableError(
                "the all-zero pattern (people on no list) is what is estimated; leave it out"
            )
        if len({tuple(r) for r in pat.tolist()}) != pat.shape[0]:
            raise TableError("a capture pattern appears twice")
        if len(set(lists)) != len(lists):
            raise TableError("two lists have the same name")
        return cls(tuple(lists), pat.astype(np.int8), cnt.astype(np.int64))


def read_table(path: Path, strata: str | None = None) -> dict[str, Table]:
    """A capture table from a CSV file: one 0/1 column per list, a ``count`` column and,
    when ``strata`` names it, a stratum column. Returns one table per stratum (a single table
    under the key ``"all"`` without strata). Raises :class:`TableError` naming the file, the
    line and the reason."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise TableError(f"{path}: cannot read the table ({exc})") from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise TableError(f"{path}: the table is empty")
    header = [h.strip() for h in rows[0]]
    if COUNT not in header:
        raise TableError(f"{path}: no {COUNT!r} column (columns: {', '.join(header)})")
    if strata is not None and strata not in header:
        raise TableError(f"{path}: no stratum column {strata!r} (columns: {', '.join(header)})")
    lists = [h for h in header if h not in (COUNT, strata)]
    if not lists:
        raise TableError(f"{path}: no list columns")
    by_stratum: dict[str, tuple[list[list[int]], list[int]]] = {}
    for line, raw in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in raw):
            continue
        if len(raw) != len(header):
            raise TableError(f"{path}, line {line}: {len(raw)} cells, the header has {len(header)}")
        cell = dict(zip(header, (c.strip() for c in raw), strict=True))
        pattern = []
        for name in lists:
            if cell[name] not in ("0", "1"):
                raise TableError(
                    f"{path}, line {line}: list column {name!r} holds {cell[name]!r}, not 0 or 1"
                )
            pattern.append(int(cell[name]))
        try:
            value = float(cell[COUNT])
        except ValueError:
            raise TableError(
                f"{path}, line {line}: count {cell[COUNT]!r} is not a number"
            ) from None
        if not np.isfinite(value) or value != int(value):
            raise TableError(f"{path}, line {line}: count {cell[COUNT]!r} is not a whole number")
        if value < 0:
            raise TableError(f"{path}, line {line}: count {cell[COUNT]!r} is negative")
        if not any(pattern):
            raise TableError(
                f"{path}, line {line}: the all-zero pattern (people on no list) is what is"
                " estimated; leave it out"
            )
        key = cell[strata] if strata is not None else "all"
        pats, counts = by_stratum.setdefault(key, ([], []))
        if pattern in pats:
            raise TableError(
                f"{path}, line {line}: pattern {''.join(map(str, pattern))} appears twice"
                + (f" in stratum {key!r}" if strata is not None else "")
            )
        pats.append(pattern)
        counts.append(int(value))
    if not by_stratum:
        raise TableError(f"{path}: the table has no rows")
    try:
        return {k: Table.of(lists, p, c) for k, (p, c) in by_stratum.items()}
    except TableError as exc:
        raise TableError(f"{path}: {exc}") from None
