"""Progress off a terminal: plain lines, one per tenth of the work, the same on every run."""

from __future__ import annotations

import io

from rich.console import Console

from dalil.cli.progress import counter


def _lines(total: int) -> list[str]:
    out = io.StringIO()
    console = Console(file=out, width=10_000, soft_wrap=True)
    with counter(console, "Reading photographs", terminal=False) as progress:
        progress(0, total)
        for done in range(1, total + 1):
            progress(done, total)
    return out.getvalue().splitlines()


def test_lines_every_tenth_and_at_the_end() -> None:
    lines = _lines(80)
    assert lines[0] == "Reading photographs: 0/80 (0 %)"
    assert lines[-1] == "Reading photographs: 80/80 (100 %)"
    assert len(lines) == 11
    assert "Reading photographs: 40/80 (50 %)" in lines


def test_few_steps_give_a_line_each() -> None:
    assert _lines(3) == [f"Reading photographs: {d}/3 ({d * 100 // 3} %)" for d in range(4)]


def test_no_line_for_an_empty_job() -> None:
    assert _lines(0) == []
