"""Static SVG of metric charts, made in Python: what the saved notebook and its HTML export show.

No JavaScript, no network, no plotting library: an inline ``<svg>`` (one small chart per metric,
axes with round ticks, one polyline per series, a legend) whose text and grid use JupyterLab's
``--jp-*`` colours with fallbacks, so it reads in Light and Dark and in a plain HTML export.
Non-finite values are left out; each series is drawn from its bounded summary.
"""
from __future__ import annotations

import html
import math
from typing import Sequence

from skyexec_nb.views.chart_data import Point

#: Series colours (Tableau 10 mid-tones): readable on light and dark backgrounds alike.
PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
           "#9c755f", "#bab0ac")
TEXT = "fill:var(--jp-ui-font-color1,#616161)"
MUTED = "fill:var(--jp-ui-font-color2,#757575)"
GRID = "stroke:var(--jp-border-color2,#d0d0d0)"
W, H = 320, 190
LEFT, RIGHT, TOP, BOTTOM = 52, 10, 22, 30


def colour(index: int) -> str:
    """The palette colour of series ``index``."""
    return PALETTE[index % len(PALETTE)]


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering ``[low, high]`` (about ``count`` of them)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return []
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / max(1, count)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(low / step) * step
    ticks, value = [], start
    while value <= high + step * 0.5 and len(ticks) < 12:
        ticks.append(round(value, 12))
        value += step
    return ticks


def tick_text(value: float) -> str:
    """A short label: ``0.25``, ``1.2k``, ``3e-04``."""
    magnitude = abs(value)
    if value == 0:
        return "0"
    if magnitude >= 10_000:
        return f"{value / 1000:.3g}k"
    if magnitude < 1e-3:
        return f"{value:.0e}"
    return f"{value:.4g}"


def _bounds(series: Sequence[tuple[str, str, Sequence[Point]]]) -> tuple[float, float, float, float] | None:
    xs = [x for _, _, pts in series for x, _ in pts]
    ys = [y for _, _, pts in series for _, y in pts]
    if not xs:
        return None
    return min(xs), max(xs), min(ys), max(ys)


def panel_svg(title: str, series: Sequence[tuple[str, str, Sequence[Point]]], x_label: str,
              width: int = W, height: int = H) -> str:
    """One chart: ``series`` is ``[(label, colour, points)]`` (finite points only)."""
    series = [(label, col, [(x, y) for x, y in pts if math.isfinite(x) and math.isfinite(y)])
              for label, col, pts in series]
    bounds = _bounds(series)
    head = (f'<svg class="skx-chart-svg" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" role="img" aria-label="{html.escape(title)} by {html.escape(x_label)}" '
            f'style="max-width:100%;height:auto;font-family:var(--jp-ui-font-family,sans-serif);font-size:10px">'
            f'<text x="{LEFT}" y="13" style="{TEXT};font-weight:600;font-size:11px">{html.escape(title)}</text>')
    if bounds is None:
        return head + f'<text x="{LEFT}" y="{height / 2:.0f}" style="{MUTED}">no points yet</text></svg>'
    x0, x1, y0, y1 = bounds
    xt, yt = nice_ticks(x0, x1, 4), nice_ticks(y0, y1, 4)
    x0, x1 = min(x0, xt[0]), max(x1, xt[-1])
    y0, y1 = min(y0, yt[0]), max(y1, yt[-1])
    pw, ph = width - LEFT - RIGHT, height - TOP - BOTTOM
    sx = lambda x: LEFT + (x - x0) / ((x1 - x0) or 1) * pw  # noqa: E731
    sy = lambda y: TOP + ph - (y - y0) / ((y1 - y0) or 1) * ph  # noqa: E731
    parts = [head]
    for t in yt:
        y = sy(t)
        parts.append(f'<line x1="{LEFT}" x2="{LEFT + pw}" y1="{y:.1f}" y2="{y:.1f}" style="{GRID};stroke-width:.5"/>'
                     f'<text x="{LEFT - 4}" y="{y + 3:.1f}" text-anchor="end" style="{MUTED}">{tick_text(t)}</text>')
    for t in xt:
        x = sx(t)
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{TOP + ph}" style="{GRID};stroke-width:.5"/>'
                     f'<text x="{x:.1f}" y="{TOP + ph + 12}" text-anchor="middle" style="{MUTED}">{tick_text(t)}</text>')
    parts.append(f'<text x="{LEFT + pw}" y="{height - 3}" text-anchor="end" style="{MUTED}">{html.escape(x_label)}</text>')
    for label, col, pts in series:
        if not pts:
            continue
        coords = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in pts)
        parts.append(f'<polyline points="{coords}" fill="none" stroke="{col}" stroke-width="1.5" '
                     f'stroke-linejoin="round"><title>{html.escape(label)}</title></polyline>')
        if len(pts) == 1:
            parts.append(f'<circle cx="{sx(pts[0][0]):.1f}" cy="{sy(pts[0][1]):.1f}" r="2.5" fill="{col}"/>')
    parts.append("</svg>")
    return "".join(parts)


def legend_html(items: Sequence[tuple[str, str]], title: str = "") -> str:
    """Coloured swatches with labels, on one wrapping line."""
    if not items:
        return ""
    swatches = "".join(f'<span style="white-space:nowrap;margin-right:10px"><span style="color:{col}">&#9644;</span> '
                       f"{html.escape(label)}</span>" for label, col in items)
    head = f'<span style="opacity:.7;margin-right:6px">{html.escape(title)}</span>' if title else ""
    return f'<div class="skx-chart-legend" style="font-size:12px">{head}{swatches}</div>'


def charts_html(panels: Sequence[tuple[str, Sequence[tuple[str, str, Sequence[Point]]]]], x_label: str) -> str:
    """Several charts side by side (wrapping): ``[(title, series)]``."""
    cells = "".join(f'<div style="flex:0 1 {W}px;min-width:0">{panel_svg(t, s, x_label)}</div>' for t, s in panels)
    return f'<div class="skx-record-charts" style="display:flex;flex-wrap:wrap;gap:6px">{cells}</div>'
