"""Capture tables: how many people were found on each combination of lists.

A table has one 0/1 column per list and a count per observed pattern; the all-zero pattern
(people on no list) is what is estimated, so it is never given. Cells are indexed in the order
R's ``dga`` package uses: list 1 is the lowest bit, so for three lists the index of pattern
``(x1, x2, x3)`` is ``x1 + 2*x2 + 4*x3`` and the eight cells run 000, 100, 010, 110, 001, 101,
011, 111 (:meth:`Table.cells`).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np
import numpy.typing as npt

from dalil.errors import UsageError
from dalil.estimate import MAX_TABLE_LISTS

COUNT = "count"
MAX_LISTS = MAX_TABLE_LISTS
"""The most lists a table may have: a table of K lists has ``2**K`` cells, and the log-linear
and dga methods work on all of them."""
MAX_COUNT = 10**9
"""The most people a table may hold (a count, and all counts together): more is not a list of
people, and the samplers' arrays are sized by it."""


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
        values = list(cells)
        k = len(lists)
        if k > MAX_LISTS:
            raise TableError(f"{k} lists; at most {MAX_LISTS} can be estimated")
        if len(values) != 2**k:
            raise TableError(f"{2**k} cells are needed for {k} lists, got {len(values)}")
        index = np.arange(1, 2**k)
        patterns = ((index[:, None] >> np.arange(k)) & 1).astype(np.int8)
        return cls.of(lists, patterns, values[1:])

    @classmethod
    def of(cls, lists: Sequence[str], patterns: npt.ArrayLike, counts: npt.ArrayLike) -> Table:
        """A checked table: 0/1 patterns, no duplicate or all-zero pattern, whole counts from
        0 to :data:`MAX_COUNT` (in all), at most :data:`MAX_LISTS` lists."""
        pat = np.asarray(patterns)
        values = _whole(counts)
        if len(lists) > MAX_LISTS:
            raise TableError(f"{len(lists)} lists; at most {MAX_LISTS} can be estimated")
        if pat.ndim != 2 or pat.shape[1] != len(lists) or pat.shape[0] != len(values):
            raise TableError("patterns and counts do not have matching shapes")
        if not np.isin(pat, (0, 1)).all():
            raise TableError("a pattern column holds something other than 0 or 1")
        if any(v < 0 for v in values):
            raise TableError("a count is negative")
        if sum(values) > MAX_COUNT:
            raise TableError(f"the counts add up to more than {MAX_COUNT:,} people")
        if (pat.sum(axis=1) == 0).any():
            raise TableError(
                "the all-zero pattern (people on no list) is what is estimated; leave it out"
            )
        if len({tuple(r) for r in pat.tolist()}) != pat.shape[0]:
            raise TableError("a capture pattern appears twice")
        if len(set(lists)) != len(lists):
            raise TableError("two lists have the same name")
        return cls(tuple(lists), pat.astype(np.int8), np.asarray(values, dtype=np.int64))


def _whole(counts: npt.ArrayLike) -> list[int]:
    """The counts as Python integers, each checked to be a whole number (of any size: a
    number too large for numpy's integers is refused by its size, not by a crash)."""
    out = []
    for value in np.asarray(counts, dtype=object).ravel().tolist():
        if isinstance(value, bool | np.bool_):
            raise TableError(f"a count is not a number: {value!r}")
        if isinstance(value, numbers.Integral):
            out.append(int(value))
        elif isinstance(value, float | np.floating | Decimal):
            if not (math.isfinite(value) and value == int(value)):
                raise TableError("a count is not a whole number")
            out.append(int(value))
        else:
            raise TableError(f"a count is not a number: {value!r}")
    return out


def read_table(path: Path, strata: str | None = None) -> dict[str, Table]:
    """A capture table from a CSV file (UTF-8, UTF-16 with a byte-order mark or Windows-1256;
    comma, semicolon or tab between cells, as :mod:`dalil.lists.reading` reads lists) or the
    first sheet of an XLSX workbook: one 0/1 column per list, a ``count`` column and, when
    ``strata`` names it, a stratum column. Returns one table per stratum (a single table under
    the key ``"all"`` without strata). Raises :class:`TableError` naming the file, the line and
    the reason."""
    from dalil.lists.reading import read_table as read_file

    try:
        found, _ = read_file(Path(path))
    except (OSError, UnicodeError) as exc:
        raise TableError(f"{path}: cannot read the table ({exc})") from None
    except UsageError as exc:
        raise TableError(f"{path}: {exc}") from None
    header = list(found.headings)
    while header and not header[-1]:  # columns with no name and nothing in them, at the end
        header.pop()
    if not header:
        raise TableError(f"{path}: the table is empty")
    _check_header(path, header, strata)
    lists = [h for h in header if h not in (COUNT, strata)]
    if len(lists) > MAX_LISTS:
        raise TableError(f"{path}: {len(lists)} list columns; at most {MAX_LISTS} can be estimated")
    by_stratum: dict[str, tuple[list[list[int]], list[int]]] = {}
    for line, raw in found.rows:
        if not any(cell.strip() for cell in raw):
            continue
        if len(raw) < len(header) or any(c.strip() for c in raw[len(header) :]):
            raise TableError(f"{path}, line {line}: {len(raw)} cells, the header has {len(header)}")
        cell = dict(zip(header, (c.strip() for c in raw[: len(header)]), strict=True))
        pattern = []
        for name in lists:
            if cell[name] not in ("0", "1"):
                raise TableError(
                    f"{path}, line {line}: list column {name!r} holds {cell[name]!r}, not 0 or 1"
                )
            pattern.append(int(cell[name]))
        value = _count(cell[COUNT], f"{path}, line {line}")
        if not any(pattern):
            hint = f" (--strata {strata}: that column is a stratum, not a list)" if strata else ""
            raise TableError(
                f"{path}, line {line}: the all-zero pattern (people on no list) is what is"
                f" estimated; leave it out{hint}"
            )
        key = cell[strata] if strata is not None else "all"
        if not key:
            raise TableError(f"{path}, line {line}: the stratum column {strata!r} is empty")
        pats, counts = by_stratum.setdefault(key, ([], []))
        if pattern in pats:
            raise TableError(
                f"{path}, line {line}: pattern {''.join(map(str, pattern))} appears twice"
                + (f" in stratum {key!r}" if strata is not None else "")
            )
        pats.append(pattern)
        counts.append(value)
    if not by_stratum:
        raise TableError(f"{path}: the table has no rows")
    try:
        return {k: Table.of(lists, p, c) for k, (p, c) in by_stratum.items()}
    except TableError as exc:
        raise TableError(f"{path}: {exc}") from None


def _check_header(path: Path, header: list[str], strata: str | None) -> None:
    """A column with no name, a name twice, no ``count`` column, or a stratum column that is
    not there (or is the count) stop the reading."""
    if "" in header:
        raise TableError(f"{path}: column {header.index('') + 1} has no name")
    twice = sorted({h for h in header if header.count(h) > 1})
    if twice:
        raise TableError(f"{path}: two columns are called {twice[0]!r}")
    if COUNT not in header:
        raise TableError(f"{path}: no {COUNT!r} column (columns: {', '.join(header)})")
    if strata == COUNT:
        raise TableError(f"{path}: the {COUNT!r} column cannot also be the stratum column")
    if strata is not None and strata not in header:
        raise TableError(f"{path}: no stratum column {strata!r} (columns: {', '.join(header)})")
    if len(header) - (strata is not None) < 2:
        raise TableError(f"{path}: no list columns")


def _count(text: str, where: str) -> int:
    """A count as written (``12``, ``12.0``, ``1e3``), exactly: a whole number from 0 to
    :data:`MAX_COUNT`."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise TableError(f"{where}: count {text!r} is not a number") from None
    if not value.is_finite() or value != value.to_integral_value():
        raise TableError(f"{where}: count {text!r} is not a whole number")
    if value < 0:
        raise TableError(f"{where}: count {text!r} is negative")
    if value > MAX_COUNT:
        raise TableError(f"{where}: count {text!r} is more than {MAX_COUNT:,} people")
    return int(value)
