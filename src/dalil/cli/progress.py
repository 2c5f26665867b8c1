"""Progress of long work: a bar on a terminal, plain lines on stderr when it is read by a
program or kept in a log.

A bar redrawn in place means nothing in a log file or a pipe, and printing every step floods
it; so off a terminal a line is written each time another tenth of the work is done (and for
each step when there are fewer than ten), e.g. ``Reading photographs: 40/80 (50 %)``. The
lines depend only on the counts, never on timing, so two runs print the same lines.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from rich.console import Console

__all__ = ["Counter", "counter"]


class Counter(Protocol):
    def __call__(self, done: int, total: int) -> None: ...


@contextmanager
def counter(console: Console, what: str, *, terminal: bool | None = None) -> Iterator[Counter]:
    """A callable ``(done, total)`` that shows the progress of ``what`` ("Reading
    photographs") on ``console`` (stderr): a bar when it is a terminal (``terminal``: default,
    whether stderr is one), lines otherwise."""
    if terminal is None:
        terminal = sys.stderr.isatty()
    if terminal:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        with Progress(
            f"[bold]{what}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        ) as bar:
            task = bar.add_task(what, total=None)

            def update(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            yield update
        return

    shown = -1

    def line(done: int, total: int) -> None:
        nonlocal shown
        if total <= 0:
            return
        step = done if total < 10 else done * 10 // total  # the last step only at the end
        if step != shown:
            shown = step
            console.print(f"{what}: {done}/{total} ({done * 100 // total} %)", highlight=False)

    yield line
