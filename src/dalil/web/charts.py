"""Charts of an estimate as SVG written on the server: no script, no CDN, no inline style
(the content security policy forbids them; colours come from classes in ``app.css`` and
presentation attributes).

- :func:`histogram` — the posterior draws of N (or the bootstrap replicates) as bars, the
  interval shaded behind them, the estimate marked;
- :func:`strata` — observed and estimated people per stratum, the interval as a whisker.

Every text placed in a chart is escaped here; the result is safe markup for a template. Texts
are in the language of the page being rendered, numbers in the reader's digits
(:mod:`dalil.web.render`): call these while the page renders (from its template) for both.
"""

from __future__ import annotations

import math
from typing import Any

from markupsafe import Markup, escape

from dalil.estimate import words
from dalil.web.render import gettext, shown

WIDTH = 640
HEIGHT = 240
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 12, 40


def ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round values between ``lo`` and ``hi`` (steps of 1, 2 or 5 times a power of ten)."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo] if math.isfinite(lo) else []
    raw = (hi - lo) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step) * step
    out = []
    value = first
    while value <= hi + step * 1e-9:
        out.append(round(value, 10))
        value += step
    return out


def _number(value: float) -> str:
    """``value`` as a chart shows it, in the reader's digits."""
    return shown(f"{value:,.0f}" if abs(value) >= 10 or value == int(value) else f"{value:.2g}")


def _f(value: float) -> str:
    return f"{value:.1f}"


def _ends(interval: Any) -> tuple[float, float]:
    """An interval's ends as numbers (an end that is None, there being none, is infinite)."""
    lo, hi = interval
    return (-math.inf if lo is None else float(lo)), (math.inf if hi is None else float(hi))


def histogram(
    bins: dict[str, Any], estimate: float, interval: Any, level: float, title: str
) -> Markup:
    """Bars of ``bins`` (``edges``, ``counts``: :func:`dalil.estimate.saved.histogram`), the
    ``level`` interval (``[lo, hi]``, an end None where there is none) shaded, the estimate a
    line."""
    edges = [float(e) for e in bins["edges"]]
    counts = [int(c) for c in bins["counts"]]
    x0, x1 = edges[0], edges[-1]
    top = max(counts) or 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(v: float) -> float:
        return LEFT + (min(max(v, x0), x1) - x0) / (x1 - x0) * plot_w

    def y(c: float) -> float:
        return TOP + plot_h - c / top * plot_h

    lo, hi = _ends(interval)
    parts = [
        f'<svg class="estimate-chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}"'
        f' height="{HEIGHT}" role="img" aria-labelledby="hist-title hist-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="hist-title">{escape(title)}</title>',
        '<desc id="hist-desc">'
        + escape(
            gettext(
                "%(bars)s bars from %(low)s to %(high)s; the %(level)s interval, %(interval)s,"
                " is shaded; the estimate, %(estimate)s, is the dark line."
            )
            % {
                "bars": shown(len(counts)),
                "low": _number(x0),
                "high": _number(x1),
                "level": shown(words.percent(level)),
                "interval": shown(words.interval(*interval)),
                "estimate": _number(estimate),
            }
        )
        + "</desc>",
        f'<rect class="interval" x="{_f(x(lo))}" y="{TOP}" width="{_f(x(hi) - x(lo))}"'
        f' height="{plot_h}" fill="#fff3c4"/>',
    ]
    for i, c in enumerate(counts):
        if c:
            left, right = x(edges[i]), x(edges[i + 1])
            parts.append(
                f'<rect class="bar" x="{_f(left)}" y="{_f(y(c))}"'
                f' width="{_f(max(right - left - 1, 0.5))}" height="{_f(y(0) - y(c))}"'
                f' fill="#78909c"><title>{escape(_bar(edges[i], edges[i + 1], c))}</title></rect>'
            )
    if x0 <= estimate <= x1:
        parts.append(
            f'<line class="point" x1="{_f(x(estimate))}" x2="{_f(x(estimate))}" y1="{TOP}"'
            f' y2="{_f(y(0))}" stroke="#b71c1c" stroke-width="2"/>'
        )
    parts += _axes(
        [(x(t), _number(t)) for t in ticks(x0, x1)],
        [(y(t), _number(t)) for t in ticks(0, top, 4)],
        gettext("people in all (N)"),
        gettext("draws"),
    )
    parts.append("</svg>")
    return Markup("".join(parts))


def _bar(low: float, high: float, draws: int) -> str:
    return gettext("%(low)s to %(high)s: %(n)s draws") % {
        "low": _number(low),
        "high": _number(high),
        "n": shown(draws),
    }


def _axes(
    xs: list[tuple[float, str]], ys: list[tuple[float, str]], x_label: str, y_label: str
) -> list[str]:
    base, right = HEIGHT - BOTTOM, WIDTH - RIGHT
    out = [
        f'<line class="axis" x1="{LEFT}" x2="{right}" y1="{base}" y2="{base}" stroke="#444"/>',
        f'<line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{base}" stroke="#444"/>',
    ]
    for pos, label in xs:
        out.append(
            f'<line class="tick" x1="{_f(pos)}" x2="{_f(pos)}" y1="{base}" y2="{base + 5}"'
            ' stroke="#444"/>'
            f'<text class="tick-label" x="{_f(pos)}" y="{base + 18}" text-anchor="middle"'
            f' font-size="11">{escape(label)}</text>'
        )
    for pos, label in ys:
        out.append(
            f'<line class="tick" x1="{LEFT - 5}" x2="{LEFT}" y1="{_f(pos)}" y2="{_f(pos)}"'
            ' stroke="#444"/>'
            f'<text class="tick-label" x="{LEFT - 8}" y="{_f(pos + 4)}" text-anchor="end"'
            f' font-size="11">{escape(label)}</text>'
        )
    out.append(
        f'<text class="axis-label" x="{(LEFT + right) / 2:.0f}" y="{HEIGHT - 4}"'
        f' text-anchor="middle" font-size="12">{escape(x_label)}</text>'
        f'<text class="axis-label" x="12" y="{(TOP + base) / 2:.0f}" text-anchor="middle"'
        f' font-size="12" transform="rotate(-90 12 {(TOP + base) / 2:.0f})">'
        f"{escape(y_label)}</text>"
    )
    return out


ROW = 28
"""Height of one stratum's row."""


def strata(parts: dict[str, dict[str, Any]], level: float) -> Markup:
    """Per stratum, a bar of the people observed and one of the estimate, with the
    ``level`` interval as a whisker."""
    names = list(parts)
    label_w = 140
    height = TOP + ROW * len(names) + BOTTOM
    tops = [
        v
        for p in parts.values()
        for v in (*_ends(p["interval"]), float(p["estimate"]), float(p["observed"]))
        if math.isfinite(v)
    ]
    highest = max(tops) if tops and max(tops) > 0 else 1.0
    scale = ticks(0, highest, 5)
    end = max(scale[-1] if scale else highest, highest)
    plot_w = WIDTH - label_w - RIGHT

    def x(v: float) -> float:
        return label_w + min(max(v, 0.0), end) / end * plot_w

    out = [
        f'<svg class="estimate-chart" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}"'
        f' height="{height}" role="img" aria-labelledby="strata-title strata-desc"'
        ' xmlns="http://www.w3.org/2000/svg">',
        '<title id="strata-title">'
        + escape(gettext("Observed and estimated people per stratum"))
        + '</title><desc id="strata-desc">'
        + escape(
            gettext(
                "For each of %(n)s strata: a grey bar of the people on the lists, a bar of the"
                " estimate, and a line for its %(level)s interval."
            )
            % {"n": shown(len(names)), "level": shown(words.percent(level))}
        )
        + "</desc>",
    ]
    for i, name in enumerate(names):
        part = parts[name]
        top = TOP + i * ROW
        observed, est = float(part["observed"]), float(part["estimate"])
        lo, hi = _ends(part["interval"])
        mid = top + ROW / 2
        estimated = gettext("%(name)s: estimated %(n)s") % {"name": name, "n": _number(est)}
        seen = gettext("%(name)s: observed %(n)s") % {"name": name, "n": _number(observed)}
        out.append(
            f'<text class="stratum" x="{label_w - 8}" y="{_f(mid + 4)}" text-anchor="end"'
            f' font-size="12">{escape(name)}</text>'
            f'<rect class="estimated" x="{label_w}" y="{_f(top + 4)}"'
            f' width="{_f(x(est) - label_w)}" height="{ROW - 8}" fill="#b0bec5">'
            f"<title>{escape(estimated)}</title></rect>"
            f'<rect class="observed" x="{label_w}" y="{_f(top + 8)}"'
            f' width="{_f(x(observed) - label_w)}" height="{ROW - 16}" fill="#455a64">'
            f"<title>{escape(seen)}</title></rect>"
            f'<line class="whisker" x1="{_f(x(lo))}" x2="{_f(x(hi))}" y1="{_f(mid)}"'
            f' y2="{_f(mid)}" stroke="#b71c1c" stroke-width="2"/>'
        )
    base = TOP + ROW * len(names)
    out.append(
        f'<line class="axis" x1="{label_w}" x2="{WIDTH - RIGHT}" y1="{base}" y2="{base}"'
        ' stroke="#444"/>'
    )
    for t in scale:
        out.append(
            f'<text class="tick-label" x="{_f(x(t))}" y="{base + 16}" text-anchor="middle"'
            f' font-size="11">{escape(_number(t))}</text>'
        )
    people = escape(gettext("people"))
    out.append(
        f'<text class="axis-label" x="{(label_w + WIDTH - RIGHT) / 2:.0f}" y="{height - 4}"'
        f' text-anchor="middle" font-size="12">{people}</text></svg>'
    )
    return Markup("".join(out))
